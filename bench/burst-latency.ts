// End-to-end latency of bursting: from a peak pod turning Ready in the public cluster to the
// first request it serves through the production ClusterIP in the private cluster. Everything
// real: the API servers, kube-controller-manager, kubeburst (as a process) and kube-proxy.
import { BurstScenario } from "../src/demo/burst-scenario.ts";
import type { IpFamilyOption } from "../src/localcloud/address-plan.ts";
import type { BurstResult } from "./bench-results.ts";

const RPS = 200;

/**
 * Runs `trials` trials (default: BURST_TRIALS or 20) on clusters and Services of `ipFamily`
 * (dual: the probe's requests go to both ClusterIPs); undefined when not root.
 */
export async function run(
  trials = Number(process.env.BURST_TRIALS ?? 20),
  ipFamily: IpFamilyOption = "ipv4",
): Promise<BurstResult | undefined> {
  if (process.getuid?.() !== 0) {
    process.stdout.write("burst latency: skipped (needs root for network namespaces)\n");
    return undefined;
  }
  const scenario = await BurstScenario.start({ log: () => {}, peakPods: 1, ipFamily });
  const seen: { at: number; who: string | null }[] = [];
  const traffic = scenario.stream(RPS, (at, who) => seen.push({ at, who }));
  const pod = scenario.peakPods[0]!;
  const target = `public/${pod.name}`;
  const latencies: number[] = [];
  try {
    await scenario.setBurst(true);
    await until(() => seen.some((s) => s.who === target), 30_000);
    for (let i = 0; i < trials; i++) {
      await scenario.cloud.setPodReady(pod, false);
      // Withdrawn: a full second of responses without it.
      await until(() => {
        const recent = seen.filter((s) => s.at > Date.now() - 1000);
        return recent.length > RPS / 2 && !recent.some((s) => s.who === target);
      }, 30_000);
      const t0 = Date.now();
      await scenario.cloud.setPodReady(pod, true);
      await until(() => seen.some((s) => s.at >= t0 && s.who === target), 30_000);
      latencies.push(seen.find((s) => s.at >= t0 && s.who === target)!.at - t0);
      seen.length = 0;
    }
  } finally {
    await traffic.stop();
    await scenario.close();
  }
  latencies.sort((a, b) => a - b);
  const p50 = latencies[Math.floor((latencies.length - 1) / 2)]!;
  const max = latencies.at(-1)!;
  process.stdout.write(
    `burst latency (${ipFamily}), peak pod Ready → first request it serves via the production ClusterIP (${latencies.length} trials, probe ${RPS} req/s):\n` +
      `  p50 ${p50} ms   max ${max} ms   (all: ${latencies.join(" ")})\n`,
  );
  return { trials: latencies.length, p50Ms: p50, maxMs: max, allMs: latencies };
}

async function until(check: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
if (import.meta.main) await run();
