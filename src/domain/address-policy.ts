import { type Cidr, cidrContains, parseCidr } from "../config/cidr.ts";
import { compareText } from "./compare-text.ts";
import type {
  AddressFamily,
  Contribution,
  Endpoint,
  EndpointConditions,
  EndpointGroup,
} from "./endpoints.ts";
import { type ParsedIpAddress, parseIpAddress } from "./ip-address.ts";

/** Which endpoints one peak cluster may contribute to production (SPEC B1, CVE-2021-25740). */
export interface AddressPolicy {
  /**
   * CIDRs (canonical text, as in the config) the peak's endpoints may use. An entry that is not a
   * CIDR allows nothing; an empty list admits nothing.
   */
  allowed: readonly string[];
  /**
   * Production's own ranges and addresses (pod, service, node CIDRs; API server addresses as /32
   * or /128), always denied, even where `allowed` overlaps. A bare address counts as /32 or /128.
   * An entry that is neither fails closed: every address is refused as "production-range".
   */
  denied: readonly string[];
  /**
   * Most endpoints imported per Service from this peak, over all groups. A negative or NaN value
   * counts as 0, a fraction is rounded down, `Infinity` means no cap.
   */
  maxEndpoints: number;
}

/**
 * Why an endpoint address was refused. Checks run in this order, except that a family mismatch
 * ("invalid" for an address that parses) is checked last. "fqdn" marks the endpoints of an FQDN
 * slice, which are never imported (a name would let the peak point production anywhere).
 */
export const REFUSAL_REASONS = [
  "fqdn",
  "invalid",
  "unspecified",
  "loopback",
  "link-local",
  "multicast",
  "broadcast",
  "production-range",
  "not-allowed",
] as const;
/** See {@link REFUSAL_REASONS}. */
export type RefusalReason = (typeof REFUSAL_REASONS)[number];

/** One refused endpoint address, as the peak cluster wrote it. */
export interface RefusedAddress {
  address: string;
  reason: RefusalReason;
}

/** The part of a contribution that may reach production, and what was left out. */
export interface AdmittedContribution {
  /**
   * The contribution with refused and capped endpoints removed. Groups keep their order, ports and
   * family, even when left empty (so ports are still known); endpoints carry canonical addresses
   * and are sorted by address.
   */
  contribution: Contribution;
  /** Sorted by address, then reason. */
  refused: RefusedAddress[];
  /** Set only when the cap dropped endpoints. */
  truncated: { kept: number; dropped: number } | undefined;
}

type BuiltInReason = Exclude<RefusalReason, "invalid" | "production-range" | "not-allowed">;

function cidrs(texts: readonly string[]): Cidr[] {
  return texts.flatMap((text) => {
    const result = parseCidr(text);
    return result.ok ? [result.cidr] : [];
  });
}

/** Always refused, whatever the policy says; first match gives the reason. */
const BUILT_IN: readonly { reason: BuiltInReason; ranges: readonly Cidr[] }[] = [
  // 0.0.0.0/8 is "this network" (RFC 1122): never a valid destination, not only 0.0.0.0 itself.
  { reason: "unspecified", ranges: cidrs(["0.0.0.0/8", "::/128"]) },
  { reason: "loopback", ranges: cidrs(["127.0.0.0/8", "::1/128"]) },
  // Includes 169.254.169.254, the cloud metadata service.
  { reason: "link-local", ranges: cidrs(["169.254.0.0/16", "fe80::/10"]) },
  { reason: "multicast", ranges: cidrs(["224.0.0.0/4", "ff00::/8"]) },
  { reason: "broadcast", ranges: cidrs(["255.255.255.255/32"]) },
];

const BITS = { IPv4: 32, IPv6: 128 } as const;

/**
 * The IPv4 address an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, also written in hex as
 * `::ffff:7f00:1`) stands for, or undefined. parseIpAddress refuses mapped addresses, so the
 * `ffff` field is swapped for `fffe` (same syntax, no longer mapped) and the result read back:
 * it is `::fffe:h:l` exactly when the original was `::ffff:h:l`.
 */
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

interface CompiledPolicy {
  allowed: Cidr[];
  denied: Cidr[];
  /** A denied entry could not be read, so no address can be shown to be outside production. */
  denyAll: boolean;
  cap: number;
}

function compile(policy: AddressPolicy): CompiledPolicy {
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

/**
 * Judges one address for a group of `family`. The address's meaning is judged first (built-in
 * list, production ranges, allowed ranges), so a loopback address in the wrong group is reported
 * as "loopback"; only an address that would otherwise pass is refused as "invalid" for its family.
 *
 * An IPv4-mapped address is judged as the IPv4 address it stands for. In an IPv4 group it is
 * admitted in its IPv4 form (what gets written is exactly what was checked). In an IPv6 group it
 * is refused as "invalid": production's kube-proxy would program the IPv6 form, whose routing we
 * cannot vouch for, and Kubernetes itself refuses mapped addresses in IPv6 slices.
 */
function judge(address: unknown, family: AddressFamily, policy: CompiledPolicy): Verdict {
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

/**
 * Lower is more available: ready first, then serving (terminating but still taking traffic), then
 * not terminating. Distinct for all eight condition sets, so sorting by it is a total order.
 */
function availability({ ready, serving, terminating }: EndpointConditions): number {
  return (ready ? 0 : 4) + (serving ? 0 : 2) + (terminating ? 1 : 0);
}

function compareEndpoints(a: Endpoint, b: Endpoint): number {
  return (
    compareText(a.address, b.address) || availability(a.conditions) - availability(b.conditions)
  );
}

interface Candidate {
  group: number;
  endpoint: Endpoint;
}

/**
 * Removes every endpoint a peak cluster may not contribute to production, then keeps at most
 * `policy.maxEndpoints` of the rest: ready endpoints before not-ready ones, then by address, so a
 * cap never drops a ready endpoint for a not-ready one. The result does not depend on the order of
 * endpoints within a group. Pure; never throws for well-typed input.
 */
export function admitContribution(
  contribution: Contribution,
  policy: AddressPolicy,
): AdmittedContribution {
  const compiled = compile(policy);
  const refused: RefusedAddress[] = [];
  const candidates: Candidate[] = [];
  for (const [group, { addressType, endpoints }] of contribution.groups.entries()) {
    for (const { address, conditions } of endpoints) {
      const verdict = judge(address, addressType, compiled);
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
