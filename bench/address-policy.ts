// The address policy's cost per peak snapshot as production grows: each production node adds a
// denied /32 (its address) and a denied /24 (its pod CIDR). The baseline is the linear policy
// the compiled one replaced (test/support/linear-address-policy.ts); the new path is what a worker does once the policy is
// compiled (admitGroup per group, then capEndpoints), and, for comparison, admitContribution,
// which compiles on every call. Figures, never assertions.
//
// Run with `npx node bench/address-policy.ts`. The baseline's largest case takes about a minute.

import { performance } from "node:perf_hooks";
import {
  type AddressPolicy,
  admitContribution,
  admitGroup,
  capEndpoints,
  compileAddressPolicy,
} from "../src/domain/address-policy.ts";
import type { Contribution } from "../src/domain/endpoints.ts";
import { referenceAdmitContribution } from "../test/support/linear-address-policy.ts";
import { measure } from "./measure.ts";

// ---------------------------------------------------------------------------------------------
// The workload

/** Production with `nodes` nodes: node i has address 172.16.a.b and pod CIDR 10.c.d.0/24. */
function policyFor(nodes: number): AddressPolicy {
  const denied = ["10.96.0.0/12", "192.168.0.1"];
  for (let i = 0; i < nodes; i++) {
    denied.push(`172.16.${i >> 8}.${i & 255}`);
    denied.push(`10.${128 + (i >> 8)}.${i & 255}.0/24`);
  }
  return { allowed: ["198.18.0.0/15"], denied, maxEndpoints: 1000 };
}

/** One peak slice of `count` endpoints, one in ten not ready, all admissible. */
function contributionOf(count: number): Contribution {
  const endpoints = Array.from({ length: count }, (_, i) => ({
    address: `198.18.${i >> 8}.${i & 255}`,
    conditions: { ready: i % 10 !== 0, serving: true, terminating: false },
  }));
  return {
    cluster: "peak",
    groups: [
      { addressType: "IPv4", ports: [{ name: "http", port: 8080, protocol: "TCP" }], endpoints },
    ],
  };
}

/**
 * Median ms per call. Slow calls (the baseline's big cases) are timed fewer times: at least
 * once, and again only while the budget lasts.
 */
async function timeMs(f: () => unknown, budgetMs = 1500): Promise<number> {
  const t0 = performance.now();
  f();
  const first = performance.now() - t0;
  if (first > 50) {
    const times = [first];
    while (times.reduce((a, b) => a + b, 0) + first < budgetMs) {
      const t = performance.now();
      f();
      times.push(performance.now() - t);
    }
    times.sort((a, b) => a - b);
    return times[Math.floor(times.length / 2)]!;
  }
  return (await measure(f)).medianUs / 1000;
}

const ms = (value: number) =>
  (value >= 100 ? value.toFixed(0) : value >= 1 ? value.toFixed(2) : value.toFixed(4)).padStart(10);
const ratio = (value: number) =>
  `×${value >= 100 ? value.toFixed(0) : value.toFixed(1)}`.padStart(9);

export async function run(): Promise<void> {
  const out = (line: string) => process.stdout.write(`${line}\n`);
  out("address policy: ms per snapshot of one peak Service (one IPv4 slice, all admitted);");
  out("each production node denies a /32 (its address) and a /24 (its pod CIDR)");
  out(
    `${"nodes".padStart(6)} ${"endpoints".padStart(9)} ${"old linear".padStart(10)} ${"compiled".padStart(10)} ${"old/new".padStart(9)} ${"admitContribution".padStart(18)} ${"old/that".padStart(9)}`,
  );
  for (const nodes of [0, 100, 1000, 10000]) {
    const policy = policyFor(nodes);
    const compiled = compileAddressPolicy(policy);
    for (const endpoints of [10, 1000]) {
      const contribution = contributionOf(endpoints);
      const old = await timeMs(() => referenceAdmitContribution(contribution, policy));
      const now = await timeMs(() => {
        const groups = contribution.groups.map((group) => admitGroup(compiled, group).group);
        return capEndpoints(groups, compiled.maxEndpoints);
      });
      const uncached = await timeMs(() => admitContribution(contribution, policy));
      out(
        `${String(nodes).padStart(6)} ${String(endpoints).padStart(9)} ${ms(old)} ${ms(now)} ${ratio(old / now)} ${ms(uncached).padStart(18)} ${ratio(old / uncached)}`,
      );
    }
  }
  out("compileAddressPolicy, ms (once per change of production's ranges or the peak's CIDRs)");
  for (const nodes of [1000, 10000]) {
    const policy = policyFor(nodes);
    out(
      `${String(nodes).padStart(6)} nodes (${policy.denied.length} denied entries) ${ms(await timeMs(() => compileAddressPolicy(policy)))}`,
    );
  }
}
if (import.meta.main) await run();
