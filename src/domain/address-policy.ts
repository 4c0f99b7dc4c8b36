import {
  type AddressRange,
  type AddressRangeSet,
  addressKey,
  addressRangeSet,
  rangeSetHas,
  readRange,
} from "./address-range-set.ts";
import { compareText } from "./compare-text.ts";
import type {
  AddressFamily,
  Contribution,
  Endpoint,
  EndpointConditions,
  EndpointGroup,
} from "./endpoints.ts";
import { parseHostAddress } from "./ip-address.ts";
import { mergeEndpoints } from "./merge-endpoints.ts";

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
 * ("invalid" for an address that parses) is checked last. "reserved" covers special-purpose
 * ranges that are never a host's own address (see BUILT_IN below). "fqdn" marks the endpoints of an FQDN
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
  "reserved",
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

type BuiltInReason = Exclude<
  RefusalReason,
  "fqdn" | "invalid" | "production-range" | "not-allowed"
>;

type ByFamily<T> = Readonly<Record<AddressFamily, T>>;

function byFamily(ranges: readonly AddressRange[]): ByFamily<AddressRangeSet> {
  return Object.freeze({
    IPv4: addressRangeSet(ranges.filter((range) => range.family === "IPv4")),
    IPv6: addressRangeSet(ranges.filter((range) => range.family === "IPv6")),
  });
}

function rangesOf(texts: readonly string[]): ByFamily<AddressRangeSet> {
  return byFamily(texts.flatMap((text) => readRange(text, false) ?? []));
}

/**
 * Always refused, whatever the policy says; checked in this order, the first match giving the
 * reason. Only ranges that can never be a pod's address on a routed pod network belong here:
 * documentation ranges (192.0.2.0/24, 2001:db8::/32) and benchmarking ranges (198.18.0.0/15,
 * 2001:2::/48) do not, as labs and tests number real pods from them (kubeadm's dual-stack example
 * uses 2001:db8:42::/56 for pods). Nor do 6to4 (2002::/16) and Teredo (2001::/32): hosts hold
 * such addresses, even if pods should not.
 */
const BUILT_IN_CIDRS: readonly { reason: BuiltInReason; cidrs: readonly string[] }[] = [
  // 0.0.0.0/8 is "this network" (RFC 1122): never a valid destination, not only 0.0.0.0 itself.
  { reason: "unspecified", cidrs: ["0.0.0.0/8", "::/128"] },
  { reason: "loopback", cidrs: ["127.0.0.0/8", "::1/128"] },
  // Includes 169.254.169.254, the cloud metadata service.
  { reason: "link-local", cidrs: ["169.254.0.0/16", "fe80::/10"] },
  { reason: "multicast", cidrs: ["224.0.0.0/4", "ff00::/8"] },
  // Inside 240.0.0.0/4 below, and checked first: the more specific reason wins.
  { reason: "broadcast", cidrs: ["255.255.255.255/32"] },
  {
    reason: "reserved",
    cidrs: [
      // "Class E" (RFC 1112, RFC 6890): reserved, never assigned. The API server accepts it in
      // slices, so the peak could publish it; production traffic must never go there.
      "240.0.0.0/4",
      // IPv4-compatible (RFC 4291 §2.5.5.1, deprecated): stands for an IPv4 address, and Linux's
      // sit driver tunnels it to that address, past the IPv4 checks. :: and ::1 match above.
      "::/96",
      // NAT64 prefixes (RFC 6052, RFC 8215): stand for an IPv4 address behind a translator, which
      // may reach production's own IPv4 ranges; never a pod's own address.
      "64:ff9b::/96",
      "64:ff9b:1::/48",
      // Discard-only (RFC 6666): routed to nowhere by design.
      "100::/64",
    ],
  },
];

const BUILT_IN = BUILT_IN_CIDRS.map(({ reason, cidrs }) => ({ reason, ranges: rangesOf(cidrs) }));
/** Every built-in range in one set per family: one search clears an address of all of them. */
const ANY_BUILT_IN = rangesOf(BUILT_IN_CIDRS.flatMap(({ cidrs }) => cidrs));

/**
 * An address policy ready for judging: ranges parsed once, merged and sorted per family. Immutable
 * (frozen) and safe to share; compile again only when the policy's inputs change. Its fields are
 * for this module: read it through {@link judgeAddress}, {@link admitGroup} and `maxEndpoints`.
 */
export interface CompiledAddressPolicy {
  /** A denied entry could not be read, so no address can be shown to be outside production. */
  readonly denyAll: boolean;
  readonly denied: ByFamily<AddressRangeSet>;
  readonly allowed: ByFamily<AddressRangeSet>;
  /** {@link AddressPolicy.maxEndpoints} normalised: a whole number ≥ 0, or `Infinity`. */
  readonly maxEndpoints: number;
}

function capOf(maxEndpoints: number): number {
  return Number.isNaN(maxEndpoints) || maxEndpoints < 0 ? 0 : Math.floor(maxEndpoints);
}

/**
 * Compiles a policy: O(r log r) in its r entries. Entries that cannot be read keep their meaning
 * (see {@link AddressPolicy}): an unreadable denied entry refuses everything, an unreadable
 * allowed entry allows nothing. Pure; never throws for well-typed input.
 */
export function compileAddressPolicy(policy: AddressPolicy): CompiledAddressPolicy {
  const denied: AddressRange[] = [];
  let denyAll = false;
  for (const text of policy.denied) {
    const range = readRange(text, true);
    if (range === undefined) denyAll = true;
    else denied.push(range);
  }
  return Object.freeze({
    denyAll,
    denied: byFamily(denied),
    allowed: rangesOf(policy.allowed),
    maxEndpoints: capOf(policy.maxEndpoints),
  });
}

/** An address admitted in canonical form, or the reason it was refused. */
export type Verdict = { ok: true; canonical: string } | { ok: false; reason: RefusalReason };

/**
 * Judges one address for a group of `family`, in O(log r) for r ranges. The address's meaning is
 * judged first (built-in list, production ranges, allowed ranges), so a loopback address in the
 * wrong group is reported as "loopback"; only an address that would otherwise pass is refused as
 * "invalid" for its family. Anything but a string is "invalid".
 *
 * An IPv4-mapped address is judged as the IPv4 address it stands for. In an IPv4 group it is
 * admitted in its IPv4 form (what gets written is exactly what was checked). In an IPv6 group it
 * is refused as "invalid": production's kube-proxy would program the IPv6 form, whose routing we
 * cannot vouch for, and Kubernetes itself refuses mapped addresses in IPv6 slices.
 */
export function judgeAddress(
  compiled: CompiledAddressPolicy,
  address: unknown,
  family: AddressFamily,
): Verdict {
  if (typeof address !== "string") return { ok: false, reason: "invalid" };
  const parsed = parseHostAddress(address);
  if (parsed === undefined) return { ok: false, reason: "invalid" };
  const key = addressKey(parsed);
  if (rangeSetHas(ANY_BUILT_IN[parsed.family], key)) {
    for (const { reason, ranges } of BUILT_IN) {
      if (rangeSetHas(ranges[parsed.family], key)) return { ok: false, reason };
    }
  }
  if (compiled.denyAll || rangeSetHas(compiled.denied[parsed.family], key)) {
    return { ok: false, reason: "production-range" };
  }
  if (!rangeSetHas(compiled.allowed[parsed.family], key)) {
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

function compareRefused(a: RefusedAddress, b: RefusedAddress): number {
  return compareText(a.address, b.address) || compareText(a.reason, b.reason);
}

/** A group's endpoints judged: admitted ones canonical with explicit conditions, in input order. */
function judgeEndpoints(
  compiled: CompiledAddressPolicy,
  { addressType, endpoints }: EndpointGroup,
): { admitted: Endpoint[]; refused: RefusedAddress[] } {
  const admitted: Endpoint[] = [];
  const refused: RefusedAddress[] = [];
  for (const { address, conditions } of endpoints) {
    const verdict = judgeAddress(compiled, address, addressType);
    if (verdict.ok) {
      const { ready, serving, terminating } = conditions;
      admitted.push({ address: verdict.canonical, conditions: { ready, serving, terminating } });
    } else {
      refused.push({ address, reason: verdict.reason });
    }
  }
  return { admitted, refused };
}

/**
 * Judges one source slice's endpoints. The group keeps its family and ports (also when left
 * empty); its endpoints are the admitted ones, with canonical addresses and explicit conditions,
 * one per address (copies merged as {@link mergeEndpoints} does, so `198.18.0.1` and
 * `::ffff:198.18.0.1` become one), sorted by address. `refused` is sorted by address, then reason.
 * No cap: see {@link capEndpoints}. O(n log n) in the group's n endpoints (times log r for r
 * ranges). Returns new objects; the input is not changed.
 */
export function admitGroup(
  compiled: CompiledAddressPolicy,
  group: EndpointGroup,
): { group: EndpointGroup; refused: RefusedAddress[] } {
  const { admitted, refused } = judgeEndpoints(compiled, group);
  return {
    group: { ...group, endpoints: mergeEndpoints(admitted) },
    refused: refused.sort(compareRefused),
  };
}

interface Candidate {
  group: number;
  endpoint: Endpoint;
}

/**
 * Keeps at most `maxEndpoints` endpoints over all `groups` (one Service's admitted groups from one
 * peak): ready endpoints before not-ready ones, then serving before not serving, then by address,
 * then by group order, so a cap never drops a ready endpoint for a not-ready one. `maxEndpoints`
 * is normalised as {@link AddressPolicy.maxEndpoints} says.
 *
 * Within the cap it returns the same group objects (a new array), in O(number of groups), so
 * "nothing changed" shows as identity. Over the cap every group is a new object, its endpoints
 * sorted by address whatever their order in the input; O(n log n) in all n endpoints.
 */
export function capEndpoints(
  groups: readonly EndpointGroup[],
  maxEndpoints: number,
): { groups: EndpointGroup[]; truncated: { kept: number; dropped: number } | undefined } {
  const cap = capOf(maxEndpoints);
  let total = 0;
  for (const group of groups) total += group.endpoints.length;
  if (total <= cap) return { groups: [...groups], truncated: undefined };
  const candidates: Candidate[] = [];
  for (const [index, group] of groups.entries()) {
    for (const endpoint of group.endpoints) candidates.push({ group: index, endpoint });
  }
  candidates.sort(
    (a, b) =>
      availability(a.endpoint.conditions) - availability(b.endpoint.conditions) ||
      compareEndpoints(a.endpoint, b.endpoint) ||
      a.group - b.group,
  );
  const kept = groups.map((): Endpoint[] => []);
  for (const { group, endpoint } of candidates.slice(0, cap)) kept[group]?.push(endpoint);
  return {
    groups: groups.map((group, index) => ({
      ...group,
      endpoints: (kept[index] ?? []).sort(compareEndpoints),
    })),
    truncated: { kept: cap, dropped: total - cap },
  };
}

/**
 * Removes every endpoint a peak cluster may not contribute to production, then keeps at most
 * `policy.maxEndpoints` of the rest: ready endpoints before not-ready ones, then by address, so a
 * cap never drops a ready endpoint for a not-ready one. The result does not depend on the order of
 * endpoints within a group. Unlike {@link admitGroup}, copies of one address within a group stay
 * apart (the union merges them). Compiles the policy on every call: a caller that judges many
 * snapshots should compile once and use {@link admitGroup} and {@link capEndpoints}. Pure; never
 * throws for well-typed input.
 */
export function admitContribution(
  contribution: Contribution,
  policy: AddressPolicy,
): AdmittedContribution {
  const compiled = compileAddressPolicy(policy);
  const refused: RefusedAddress[] = [];
  const groups = contribution.groups.map((group): EndpointGroup => {
    const judged = judgeEndpoints(compiled, group);
    for (const one of judged.refused) refused.push(one);
    return { ...group, endpoints: judged.admitted.sort(compareEndpoints) };
  });
  const capped = capEndpoints(groups, compiled.maxEndpoints);
  return {
    contribution: { ...contribution, groups: capped.groups },
    refused: refused.sort(compareRefused),
    truncated: capped.truncated,
  };
}
