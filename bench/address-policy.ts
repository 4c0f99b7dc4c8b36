// The address policy's cost per peak snapshot as production grows: each production node adds a
// denied /32 (its address) and a denied /24 (its pod CIDR). The baseline is the linear policy
// the compiled one replaced, copied below; the new path is what a worker does once the policy is
// compiled (admitGroup per group, then capEndpoints), and, for comparison, admitContribution,
// which compiles on every call. Figures, never assertions.
//
// Run with `npx node bench/address-policy.ts`. The baseline's largest case takes about a minute.

import { performance } from "node:perf_hooks";
import { type Cidr, cidrContains, parseCidr } from "../src/config/cidr.ts";
import {
  type AddressPolicy,
  admitContribution,
  admitGroup,
  capEndpoints,
  compileAddressPolicy,
  type RefusalReason,
} from "../src/domain/address-policy.ts";
import { compareText } from "../src/domain/compare-text.ts";
import type {
  AddressFamily,
  Contribution,
  Endpoint,
  EndpointConditions,
  EndpointGroup,
} from "../src/domain/endpoints.ts";
import { type ParsedIpAddress, parseIpAddress } from "../src/domain/ip-address.ts";
import { measure } from "./measure.ts";

// ---------------------------------------------------------------------------------------------
// The baseline: the policy as it was before compilation (src/domain/address-policy.ts, 5280c71).

const BITS = { IPv4: 32, IPv6: 128 } as const;

function cidrs(texts: readonly string[]): Cidr[] {
  return texts.flatMap((text) => {
    const result = parseCidr(text);
    return result.ok ? [result.cidr] : [];
  });
}

const BUILT_IN: readonly { reason: RefusalReason; ranges: readonly Cidr[] }[] = [
  { reason: "unspecified", ranges: cidrs(["0.0.0.0/8", "::/128"]) },
  { reason: "loopback", ranges: cidrs(["127.0.0.0/8", "::1/128"]) },
  { reason: "link-local", ranges: cidrs(["169.254.0.0/16", "fe80::/10"]) },
  { reason: "multicast", ranges: cidrs(["224.0.0.0/4", "ff00::/8"]) },
  { reason: "broadcast", ranges: cidrs(["255.255.255.255/32"]) },
];

function unmapIpv4(text: string): ParsedIpAddress | undefined {
  const fields = text.split(":");
  for (const [index, field] of fields.entries()) {
    if (field.toLowerCase() !== "ffff") continue;
    const probe = parseIpAddress(fields.with(index, "fffe").join(":"));
    const match = /^::fffe:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(probe?.canonical ?? "");
    if (match === null) continue;
    const [high, low] = [
      Number.parseInt(match[1] ?? "0", 16),
      Number.parseInt(match[2] ?? "0", 16),
    ];
    const octets = [high >> 8, high & 0xff, low >> 8, low & 0xff];
    return { family: "IPv4", canonical: octets.join(".") };
  }
  return undefined;
}

interface LinearPolicy {
  allowed: Cidr[];
  denied: Cidr[];
  denyAll: boolean;
  cap: number;
}

function compileLinear(policy: AddressPolicy): LinearPolicy {
  const denied: Cidr[] = [];
  let denyAll = false;
  for (const text of policy.denied) {
    const result = parseCidr(text);
    const single = result.ok ? undefined : parseIpAddress(text);
    if (result.ok) denied.push(result.cidr);
    else if (single !== undefined) {
      const prefixLength = BITS[single.family];
      denied.push({ ...single, prefixLength, canonical: `${single.canonical}/${prefixLength}` });
    } else denyAll = true;
  }
  const max = policy.maxEndpoints;
  const cap = Number.isNaN(max) || max < 0 ? 0 : Math.floor(max);
  return { allowed: cidrs(policy.allowed), denied, denyAll, cap };
}

type Verdict = { ok: true; canonical: string } | { ok: false; reason: RefusalReason };

function judgeLinear(address: unknown, family: AddressFamily, policy: LinearPolicy): Verdict {
  if (typeof address !== "string") return { ok: false, reason: "invalid" };
  const parsed = parseIpAddress(address) ?? unmapIpv4(address);
  if (parsed === undefined) return { ok: false, reason: "invalid" };
  for (const { reason, ranges } of BUILT_IN) {
    if (ranges.some((range) => cidrContains(range, parsed))) return { ok: false, reason };
  }
  if (policy.denyAll || policy.denied.some((range) => cidrContains(range, parsed))) {
    return { ok: false, reason: "production-range" };
  }
  if (!policy.allowed.some((range) => cidrContains(range, parsed))) {
    return { ok: false, reason: "not-allowed" };
  }
  if (parsed.family !== family) return { ok: false, reason: "invalid" };
  return { ok: true, canonical: parsed.canonical };
}

function availability({ ready, serving, terminating }: EndpointConditions): number {
  return (ready ? 0 : 4) + (serving ? 0 : 2) + (terminating ? 1 : 0);
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return (
    compareText(a.address, b.address) || availability(a.conditions) - availability(b.conditions)
  );
}

function admitLinear(contribution: Contribution, policy: AddressPolicy) {
  const compiled = compileLinear(policy);
  const refused: { address: string; reason: RefusalReason }[] = [];
  const candidates: { group: number; endpoint: Endpoint }[] = [];
  for (const [group, { addressType, endpoints }] of contribution.groups.entries()) {
    for (const { address, conditions } of endpoints) {
      const verdict = judgeLinear(address, addressType, compiled);
      if (!verdict.ok) {
        refused.push({ address, reason: verdict.reason });
        continue;
      }
      const { ready, serving, terminating } = conditions;
      candidates.push({
        group,
        endpoint: { address: verdict.canonical, conditions: { ready, serving, terminating } },
      });
    }
  }
  candidates.sort(
    (a, b) =>
      availability(a.endpoint.conditions) - availability(b.endpoint.conditions) ||
      compareEndpoints(a.endpoint, b.endpoint) ||
      a.group - b.group,
  );
  const kept = candidates.slice(0, compiled.cap);
  const dropped = candidates.length - kept.length;
  const groups = contribution.groups.map(
    (group, index): EndpointGroup => ({
      ...group,
      endpoints: kept
        .filter((candidate) => candidate.group === index)
        .map((candidate) => candidate.endpoint)
        .sort(compareEndpoints),
    }),
  );
  refused.sort((a, b) => compareText(a.address, b.address) || compareText(a.reason, b.reason));
  return {
    contribution: { ...contribution, groups },
    refused,
    truncated: dropped > 0 ? { kept: kept.length, dropped } : undefined,
  };
}

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
      const old = await timeMs(() => admitLinear(contribution, policy));
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
