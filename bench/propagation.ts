// Section 1: propagation latency, side by side in one run. The peak runs
// kube-controller-manager; each change flips one peak Pod's Ready condition (a status
// subresource patch, as a kubelet sends it). Watches on both clusters time each change:
//
//   patch sent ──(in-cluster baseline: kcm)──► peak slice seen ──(hop)──► production slice seen
//
// Both hops run at once on the same changes, so that they share every condition of this
// machine: kubeburst, and the bare relay (bench/bare-relay.ts) as the physical limit. Each is
// measured idle (one change at a time) and under a churn of N changes a second spread over every
// Service; CPU time of each hop's process over each phase comes from /proc.
import { performance } from "node:perf_hooks";
import type { LocalPod } from "../src/localcloud/local-cloud.ts";
import { runConcurrently } from "../src/localcloud/run-concurrently.ts";
import { PEAK, PRODUCTION } from "./bench-cloud.ts";
import {
  KCM_MANAGER,
  KUBEBURST_MANAGER,
  MANAGED_BY_LABEL,
  peakService,
  productionService,
  RELAY_MANAGER,
  RELAYED_SERVICE_LABEL,
  serviceName,
} from "./bench-objects.ts";
import type { LatencyPhase, PropagationResult } from "./bench-results.ts";
import { type BenchContext, until } from "./cold-start.ts";
import { KubeburstUnderTest } from "./kubeburst-under-test.ts";
import { readProcessUsage } from "./process-usage.ts";
import { RelayProcess } from "./relay-process.ts";
import { SliceView } from "./slice-view.ts";
import { summarize } from "./summarize.ts";

const NAMESPACE = "bench-prop";
/** A change not seen by both hops within this long is counted lost by the one that missed it. */
const CHANGE_TIMEOUT_MS = 30_000;
const WARM_UP_CHANGES = 20;
/** Pause between idle changes, so that each starts from a quiet system. */
const IDLE_GAP_MS = 20;

export interface PropagationOptions {
  services: number;
  changes: number;
  churnPerSecond: number;
}

const hops = ["kubeburst", "relay"] as const;
type Hop = (typeof hops)[number];

/** Whether a slice's view of an endpoint shows `ready`; not ready may also show as absent. */
function shows(observed: boolean | undefined, ready: boolean): boolean {
  return ready ? observed === true : observed !== true;
}

interface Timing {
  sentAt: number;
  peakAt?: number;
  seenAt: Partial<Record<Hop, number>>;
}

/** Reads the peak's and production's watches and times each change from its patch. */
class ChangeTimer {
  readonly #pending = new Map<
    string,
    { ip: string; ready: boolean; timing: Timing; done: () => void }
  >();
  readonly #peak: SliceView;
  readonly #production: Record<Hop, SliceView>;
  readonly #unsubscribe: (() => void)[];

  constructor(peak: SliceView, production: Record<Hop, SliceView>) {
    this.#peak = peak;
    this.#production = production;
    this.#unsubscribe = [
      peak.subscribe((key, at) => this.#seen(key, at, "peak")),
      ...hops.map((hop) => production[hop].subscribe((key, at) => this.#seen(key, at, hop))),
    ];
  }

  /** Flips `pod` to `ready` through `patch`; resolves with its timing (incomplete if lost). */
  async time(
    key: string,
    pod: LocalPod,
    ready: boolean,
    patch: () => Promise<void>,
  ): Promise<Timing> {
    const timing: Timing = { sentAt: performance.now(), seenAt: {} };
    const { promise, resolve } = Promise.withResolvers<void>();
    this.#pending.set(key, { ip: pod.ip, ready, timing, done: resolve });
    const timer = setTimeout(resolve, CHANGE_TIMEOUT_MS);
    try {
      await patch();
      await promise;
    } finally {
      clearTimeout(timer);
      this.#pending.delete(key);
    }
    return timing;
  }

  close(): void {
    for (const u of this.#unsubscribe) u();
  }

  #seen(key: string, at: number, side: "peak" | Hop): void {
    const p = this.#pending.get(key);
    if (!p) return;
    const view = side === "peak" ? this.#peak : this.#production[side];
    if (!shows(view.readyOf(key, p.ip), p.ready)) return;
    if (side === "peak") p.timing.peakAt ??= at;
    else p.timing.seenAt[side] ??= at;
    if (p.timing.peakAt !== undefined && hops.every((h) => p.timing.seenAt[h] !== undefined)) {
      p.done();
    }
  }
}

function phaseOf(
  timings: readonly Timing[],
  hop: Hop,
  seconds: number,
  cpuSeconds: number,
): LatencyPhase {
  const complete = timings.filter((t) => t.peakAt !== undefined && t.seenAt[hop] !== undefined);
  const inCluster = summarize(
    timings.filter((t) => t.peakAt !== undefined).map((t) => t.peakAt! - t.sentAt),
  );
  const hopMs = summarize(complete.map((t) => t.seenAt[hop]! - t.peakAt!));
  const endToEnd = summarize(complete.map((t) => t.seenAt[hop]! - t.sentAt));
  return {
    changes: timings.length,
    completed: complete.length,
    rate: seconds > 0 ? timings.length / seconds : 0,
    ...(inCluster ? { inCluster } : {}),
    ...(hopMs ? { hop: hopMs } : {}),
    ...(endToEnd ? { endToEnd } : {}),
    cpuSeconds,
    ...(complete.length > 0 ? { cpuPerChangeMs: (cpuSeconds * 1000) / complete.length } : {}),
  };
}

export async function runPropagationSection(
  ctx: BenchContext,
  opts: PropagationOptions,
): Promise<PropagationResult> {
  const { bc, cleanup, log } = ctx;
  if (!bc.peakControllerManager) throw new Error("the propagation section needs kcm in the peak");
  const keys = Array.from({ length: opts.services }, (_, i) => `${NAMESPACE}/${serviceName(i)}`);
  const names = keys.map((k) => k.split("/")[1]!);
  await bc.ensureNamespace(NAMESPACE);
  await bc.cloud.addNode(PEAK, "node-1", { dataPath: false });
  const started = Date.now();
  const services = (body: (n: string) => object) =>
    names.map((n) => ({ collection: `/api/v1/namespaces/${NAMESPACE}/services`, body: body(n) }));
  await bc.createAll(
    bc.production,
    services((n) => productionService(NAMESPACE, n)),
  );
  await bc.createAll(
    bc.peak,
    services((n) => peakService(NAMESPACE, n, true)),
  );
  const pods = new Map<string, LocalPod>();
  await runConcurrently(names, 16, async (name, i) => {
    const pod = await bc.cloud.addPod(PEAK, {
      name: `${name}-0`,
      namespace: NAMESPACE,
      labels: { app: name },
      serve: false,
      ready: true,
    });
    pods.set(keys[i]!, pod);
  });
  const ready = new Map(keys.map((k) => [k, true]));
  log(
    `propagation: ${opts.services} Services with one peak Pod each (${((Date.now() - started) / 1000).toFixed(1)} s)`,
  );

  const peakView = new SliceView(bc.peak, `${MANAGED_BY_LABEL}=${KCM_MANAGER}`, NAMESPACE);
  const views: Record<Hop, SliceView> = {
    kubeburst: new SliceView(bc.production, `${MANAGED_BY_LABEL}=${KUBEBURST_MANAGER}`, NAMESPACE),
    relay: new SliceView(
      bc.production,
      `${MANAGED_BY_LABEL}=${RELAY_MANAGER}`,
      NAMESPACE,
      RELAYED_SERVICE_LABEL,
    ),
  };
  const allViews = [peakView, views.kubeburst, views.relay];
  const unregisterViews = cleanup.add("propagation watches", async () => {
    for (const v of allViews) await v.close();
  });
  let kb: KubeburstUnderTest | undefined;
  let relay: RelayProcess | undefined;
  const stopHops = async () => {
    await kb?.stop();
    await relay?.stop();
  };
  const unregisterHops = cleanup.add("kubeburst and the bare relay", stopHops);
  try {
    for (const v of allViews) await v.start();
    await until(
      "kube-controller-manager wrote every peak slice",
      () => keys.every((k) => peakView.readyOf(k, pods.get(k)!.ip) === true),
      300_000,
    );
    kb = await KubeburstUnderTest.start(
      await bc.writeConfig("kubeburst-propagation"),
      bc.dir,
      "kubeburst-propagation",
      { probe: false },
    );
    relay = await RelayProcess.start(
      bc.cloud.cluster(PEAK).kubeconfigPath,
      bc.cloud.cluster(PRODUCTION).kubeconfigPath,
      `${MANAGED_BY_LABEL}=${KCM_MANAGER}`,
      bc.dir,
    );
    const pids: Record<Hop, number> = { kubeburst: kb.pid, relay: relay.pid };
    await until(
      "kubeburst and the relay brought every peak endpoint into production",
      () => keys.every((k) => hops.every((h) => views[h].readyOf(k, pods.get(k)!.ip) === true)),
      300_000,
    );
    const timer = new ChangeTimer(peakView, views);
    const change = (key: string) => {
      const want = !ready.get(key);
      ready.set(key, want);
      const pod = pods.get(key)!;
      return timer.time(key, pod, want, () => bc.cloud.setPodReady(pod, want));
    };
    const cpu = async () => {
      const [k, r] = await Promise.all(hops.map((h) => readProcessUsage(pids[h])));
      return { kubeburst: k!.cpuSeconds, relay: r!.cpuSeconds };
    };
    const phases = (timings: Timing[], seconds: number, before: Record<Hop, number>) =>
      cpu().then((after) => ({
        kubeburst: phaseOf(timings, "kubeburst", seconds, after.kubeburst - before.kubeburst),
        relay: phaseOf(timings, "relay", seconds, after.relay - before.relay),
      }));
    const report = (phase: string, p: Record<Hop, LatencyPhase>) => {
      const ms = (n: number | undefined) => n?.toFixed(1) ?? "?";
      log(
        `propagation ${phase} (${p.kubeburst.rate.toFixed(1)} changes/s): in-cluster p99 ${ms(p.kubeburst.inCluster?.p99)} ms; ` +
          hops
            .map(
              (h) =>
                `${h} p50 ${ms(p[h].hop?.p50)} p99 ${ms(p[h].hop?.p99)} ms, ${p[h].cpuPerChangeMs?.toFixed(2) ?? "?"} CPU ms/change (${p[h].completed}/${p[h].changes})`,
            )
            .join("; "),
      );
    };
    try {
      for (let i = 0; i < WARM_UP_CHANGES; i++) await change(keys[i % keys.length]!);

      const idleTimings: Timing[] = [];
      let before = await cpu();
      let t0 = performance.now();
      for (let i = 0; i < opts.changes; i++) {
        idleTimings.push(await change(keys[i % keys.length]!));
        await new Promise((r) => setTimeout(r, IDLE_GAP_MS));
      }
      const idle = await phases(idleTimings, (performance.now() - t0) / 1000, before);
      report("idle", idle);

      // Churn: one change every 1/rate s, each on a random Service with no change in flight.
      const busy = new Set<string>();
      const churnTimings: Promise<Timing>[] = [];
      const gapMs = 1000 / opts.churnPerSecond;
      before = await cpu();
      t0 = performance.now();
      for (let i = 0; i < opts.changes; i++) {
        const wait = t0 + i * gapMs - performance.now();
        if (wait > 0) await new Promise((r) => setTimeout(r, wait));
        let key = keys[Math.floor(Math.random() * keys.length)]!;
        for (let tries = 0; busy.has(key) && tries < keys.length; tries++) {
          key = keys[Math.floor(Math.random() * keys.length)]!;
        }
        busy.add(key);
        churnTimings.push(change(key).finally(() => busy.delete(key)));
      }
      const issued = (performance.now() - t0) / 1000;
      const churn = await phases(await Promise.all(churnTimings), issued, before);
      report("churn", churn);

      const rss = await Promise.all(hops.map((h) => readProcessUsage(pids[h])));
      const MiB = 1024 * 1024;
      return {
        services: opts.services,
        changesPerPhase: opts.changes,
        churnPerSecond: opts.churnPerSecond,
        kubeburst: {
          idle: idle.kubeburst,
          churn: churn.kubeburst,
          peakRssMiB: rss[0]!.peakRssBytes / MiB,
        },
        relay: { idle: idle.relay, churn: churn.relay, peakRssMiB: rss[1]!.peakRssBytes / MiB },
      };
    } finally {
      timer.close();
    }
  } finally {
    await stopHops();
    unregisterHops();
    for (const v of allViews) await v.close();
    unregisterViews();
    await bc.deleteServices(bc.production, keys);
    await bc.deleteServices(bc.peak, keys);
    for (const manager of [KUBEBURST_MANAGER, RELAY_MANAGER]) {
      await bc.deleteSlices(bc.production, [NAMESPACE], `${MANAGED_BY_LABEL}=${manager}`);
    }
    await bc.deleteSlices(bc.peak, [NAMESPACE], `${MANAGED_BY_LABEL}=${KCM_MANAGER}`);
  }
}
