// The linear address policy that the compiled one replaced (one cidrContains per range per
// address), kept as the reference the property tests compare against and as the benchmark's
// baseline. Verbatim apart from the built-in list, which gained the "reserved" ranges.
import { type Cidr, cidrContains, parseCidr } from "../../src/config/cidr.ts";
import type {
  AddressPolicy,
  AdmittedContribution,
  RefusalReason,
  RefusedAddress,
  Verdict,
} from "../../src/domain/address-policy.ts";
import { compareText } from "../../src/domain/compare-text.ts";
import type {
  AddressFamily,
  Contribution,
  Endpoint,
  EndpointConditions,
  EndpointGroup,
} from "../../src/domain/endpoints.ts";
import { type ParsedIpAddress, parseIpAddress } from "../../src/domain/ip-address.ts";

export const BITS = { IPv4: 32, IPv6: 128 } as const;

function cidrs(texts: readonly string[]): Cidr[] {
  return texts.flatMap((text) => {
    const result = parseCidr(text);
    return result.ok ? [result.cidr] : [];
  });
}

export const REFERENCE_BUILT_IN: readonly { reason: RefusalReason; ranges: readonly Cidr[] }[] = [
  { reason: "unspecified", ranges: cidrs(["0.0.0.0/8", "::/128"]) },
  { reason: "loopback", ranges: cidrs(["127.0.0.0/8", "::1/128"]) },
  { reason: "link-local", ranges: cidrs(["169.254.0.0/16", "fe80::/10"]) },
  { reason: "multicast", ranges: cidrs(["224.0.0.0/4", "ff00::/8"]) },
  { reason: "broadcast", ranges: cidrs(["255.255.255.255/32"]) },
  {
    reason: "reserved",
    ranges: cidrs(["240.0.0.0/4", "::/96", "64:ff9b::/96", "64:ff9b:1::/48", "100::/64"]),
  },
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

interface ReferencePolicy {
  allowed: Cidr[];
  denied: Cidr[];
  denyAll: boolean;
  cap: number;
}

export function referenceCompile(policy: AddressPolicy): ReferencePolicy {
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

export function referenceJudge(
  address: unknown,
  family: AddressFamily,
  policy: ReferencePolicy,
): Verdict {
  if (typeof address !== "string") return { ok: false, reason: "invalid" };
  const parsed = parseIpAddress(address) ?? unmapIpv4(address);
  if (parsed === undefined) return { ok: false, reason: "invalid" };
  for (const { reason, ranges } of REFERENCE_BUILT_IN) {
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

export function referenceAdmitContribution(
  contribution: Contribution,
  policy: AddressPolicy,
): AdmittedContribution {
  const compiled = referenceCompile(policy);
  const refused: RefusedAddress[] = [];
  const candidates: { group: number; endpoint: Endpoint }[] = [];
  for (const [group, { addressType, endpoints }] of contribution.groups.entries()) {
    for (const { address, conditions } of endpoints) {
      const verdict = referenceJudge(address, addressType, compiled);
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
