import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import type { IpFamilyOption } from "../localcloud/address-plan.ts";
import { findK8sBinaries } from "../localcloud/k8s-binaries.ts";
import { BurstScenario } from "./burst-scenario.ts";
import { type PhaseSummary, TrafficTally } from "./traffic-tally.ts";

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

export interface DemoOptions {
  json: boolean;
  /** How long each phase counts traffic once the change has taken effect. */
  phaseSeconds: number;
  /** Families of both clusters and Services (default "ipv4"). */
  ipFamily: IpFamilyOption;
}

/** One step of the story: what changes, and which cluster should serve afterwards. */
interface Phase {
  name: string;
  change: string;
  apply: (s: BurstScenario) => Promise<void>;
  /** Whether public pods serve once the change has taken effect. */
  peakServes: boolean;
}

const PHASES: Phase[] = [
  {
    name: "production only",
    change: "the peak Service in public is not labelled: kubeburst imports nothing",
    apply: async () => {},
    peakServes: false,
  },
  {
    name: "burst",
    change: "labelled public's shop/web kubeburst.io/role=peak",
    apply: (s) => s.setBurst(true),
    peakServes: true,
  },
  {
    name: "peak not ready",
    change: "public's pods report Ready=False",
    apply: (s) => s.setPeakReady(false),
    peakServes: false,
  },
  {
    name: "peak ready again",
    change: "public's pods report Ready=True",
    apply: (s) => s.setPeakReady(true),
    peakServes: true,
  },
  {
    name: "peak scaled to zero",
    change: "public's pods deleted",
    apply: (s) => s.scalePeak(0),
    peakServes: false,
  },
  {
    name: "peak back to three",
    change: "three new pods in public",
    apply: (s) => s.scalePeak(3),
    peakServes: true,
  },
  {
    name: "burst off",
    change: "removed the peak label from public's shop/web",
    apply: (s) => s.setBurst(false),
    peakServes: false,
  },
];

/**
 * `kubeburst demo`: two local clusters, kubeburst between them, and a steady stream of requests
 * from the private cluster's node to the production Service, counted per pod and per cluster,
 * phase by phase. With `json`, prints only a summary and exits 0 when traffic crossed as expected.
 */
export async function demoCommand(opts: DemoOptions): Promise<number> {
  if (process.getuid?.() !== 0) {
    process.stderr.write(
      "kubeburst demo needs root: it creates network namespaces and runs kube-proxy inside them.\nRun it as root (for example `sudo make demo`) on a Linux machine or VM you can change.\n",
    );
    return 1;
  }
  const say = (line: string) => {
    if (!opts.json) process.stdout.write(`${line}\n`);
    else process.stderr.write(`${line}\n`);
  };
  if (!(await ensureBinaries(say))) return 1;

  const stop = new AbortController();
  const onInterrupt = () => {
    say("\ninterrupted: tearing everything down…");
    stop.abort();
  };
  process.once("SIGINT", onInterrupt);
  process.once("SIGTERM", onInterrupt);

  say(
    `starting two local ${opts.ipFamily} clusters (private: production, public: peak) and kubeburst…`,
  );
  let scenario: BurstScenario | undefined;
  const summaries: PhaseSummary[] = [];
  try {
    scenario = await BurstScenario.start({
      log: (line) => say(`  ${line}`),
      ipFamily: opts.ipFamily,
    });
    if (stop.signal.aborted) return 130;
    const tally = new TrafficTally();
    // Over both ClusterIPs when dual-stack, so both families visibly cross.
    const traffic = scenario.stream(40, (at, who) => tally.record(at, who));
    const live = !opts.json && process.stdout.isTTY;
    try {
      for (const phase of PHASES) {
        if (stop.signal.aborted) break;
        await phase.apply(scenario);
        const changedAt = Date.now();
        const settled = await tally.waitFor(
          (recent) => recent.peak > 0 === phase.peakServes && recent.total > 0,
          30_000,
          stop.signal,
        );
        const settleMs = Date.now() - changedAt;
        tally.startPhase(phase.name);
        await tally.countFor(opts.phaseSeconds * 1000, stop.signal, () => {
          if (live) render(phase, settleMs, tally.current());
        });
        if (stop.signal.aborted) break;
        const summary = {
          ...tally.current(),
          change: phase.change,
          settledInMs: settled ? settleMs : null,
        };
        summaries.push(summary);
        if (!opts.json) {
          if (live) render(phase, settleMs, tally.current());
          else say(formatPhase(phase, summary));
        }
      }
    } finally {
      await traffic.stop();
    }
  } finally {
    process.off("SIGINT", onInterrupt);
    process.off("SIGTERM", onInterrupt);
    say("stopping kubeburst and both clusters…");
    await scenario?.close();
  }
  if (stop.signal.aborted) return 130;

  const ok = PHASES.every((phase, i) => {
    const s = summaries[i];
    if (!s) return false;
    const peak = s.byCluster.public ?? 0;
    const prod = s.byCluster.private ?? 0;
    return prod > 0 && (phase.peakServes ? peak > 0 : peak === 0);
  });
  if (opts.json) {
    process.stdout.write(`${JSON.stringify({ ok, phases: summaries }, null, 2)}\n`);
  } else {
    if (process.stdout.isTTY) {
      say("\nphase by phase:");
      PHASES.forEach((phase, i) => {
        const s = summaries[i];
        if (s) say(formatPhase(phase, s));
      });
    }
    say(
      ok
        ? "\ntraffic crossed clusters as expected."
        : "\ntraffic did NOT follow the expected pattern.",
    );
  }
  return ok ? 0 : 1;
}

async function ensureBinaries(say: (line: string) => void): Promise<boolean> {
  try {
    await findK8sBinaries();
    return true;
  } catch {
    say(
      "building the Kubernetes binaries once (about 10–15 minutes on two cores; needs Go ≥ 1.24)…",
    );
  }
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn("bash", [path.join(repoRoot, "scripts/k8s-bin.sh")], { stdio: "inherit" });
    child.once("exit", (c) => resolve(c));
    child.once("error", () => resolve(127));
  });
  if (code !== 0) {
    process.stderr.write("kubeburst demo: building the Kubernetes binaries failed (see above)\n");
    return false;
  }
  return true;
}

function formatPhase(phase: Phase, s: PhaseSummary): string {
  const pods = Object.entries(s.byPod)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([pod, n]) => `${pod}=${n}`)
    .join(" ");
  const clusters = `private=${s.byCluster.private ?? 0} public=${s.byCluster.public ?? 0}`;
  return `[${phase.name}] ${phase.change}\n  ${clusters} failed=${s.failed}  (${pods})`;
}

function render(phase: Phase, settleMs: number, s: PhaseSummary): void {
  const lines = [
    "\x1b[2J\x1b[H kubeburst demo — requests from the private node to shop/web's ClusterIP",
    "",
    ` phase: ${phase.name}`,
    ` what changed: ${phase.change} (took effect in ${(settleMs / 1000).toFixed(1)} s)`,
    "",
  ];
  const max = Math.max(1, ...Object.values(s.byPod));
  for (const [pod, n] of Object.entries(s.byPod).sort(([a], [b]) => (a < b ? -1 : 1))) {
    lines.push(
      ` ${pod.padEnd(16)} ${String(n).padStart(5)} ${"█".repeat(Math.round((n / max) * 40))}`,
    );
  }
  lines.push(
    "",
    ` private: ${s.byCluster.private ?? 0}   public: ${s.byCluster.public ?? 0}   failed: ${s.failed}`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
}
