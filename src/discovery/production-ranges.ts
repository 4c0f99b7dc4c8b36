import type { V1EndpointSlice } from "@kubernetes/client-node";
import { parseCidr } from "../config/cidr.ts";
import { parseHostAddress } from "../domain/ip-address.ts";
import type { CachedNode, CachedServiceCidr } from "../kube/cache-shapes.ts";

// What the production cluster says about its own addresses (SPEC B1: always denied to peaks).
// Read from production's caches of Nodes, ServiceCIDRs and the `default/kubernetes` Service's
// slices, so they stay current and a failed read keeps the last known ranges (SPEC B15).

/** A node's addresses (as /32 or /128) and its pod CIDRs, canonical. */
export function nodeRanges(node: CachedNode): string[] {
  const podCidrs = node.spec?.podCIDRs ?? (node.spec?.podCIDR ? [node.spec.podCIDR] : []);
  return [
    ...(node.status?.addresses ?? []).flatMap((a) => hostRange(a.address)),
    ...podCidrs.flatMap(canonicalCidr),
  ];
}

/** A ServiceCIDR's ranges, canonical. */
export function serviceCidrRanges(obj: CachedServiceCidr): string[] {
  return (obj.spec?.cidrs ?? []).flatMap(canonicalCidr);
}

/**
 * The API server's own addresses, from a slice of the `default/kubernetes` Service: behind a
 * load balancer or a DNS name they differ from the address in kubeburst's kubeconfig.
 */
export function apiServerRanges(slice: V1EndpointSlice): string[] {
  return (slice.endpoints ?? []).flatMap((e) => e.addresses.flatMap(hostRange));
}

/** An address as a /32 or /128; an IPv4-mapped one as the IPv4 address it stands for. */
function hostRange(address: string): string[] {
  const ip = parseHostAddress(address);
  if (!ip) return []; // a hostname entry
  return [`${ip.canonical}/${ip.family === "IPv4" ? 32 : 128}`];
}

function canonicalCidr(text: string): string[] {
  const parsed = parseCidr(text);
  return parsed.ok ? [parsed.cidr.canonical] : [];
}

/**
 * Ranges per object, and their union. Setting an object's ranges says whether the union may
 * have changed, so a node's status update that moves no address costs no recompute.
 */
export class RangeIndex {
  readonly #byObject = new Map<string, string[]>();
  #union: string[] | undefined = [];

  /** Sets the ranges of object `key`; true when they differ from before. */
  set(key: string, ranges: readonly string[]): boolean {
    const before = this.#byObject.get(key);
    if (before && before.length === ranges.length && before.every((r, i) => r === ranges[i])) {
      return false;
    }
    if (ranges.length === 0 && before === undefined) return false;
    if (ranges.length === 0) this.#byObject.delete(key);
    else this.#byObject.set(key, [...ranges]);
    this.#union = undefined;
    return true;
  }

  /** Removes object `key`; true when it had ranges. */
  delete(key: string): boolean {
    return this.set(key, []);
  }

  /** Every range, sorted, once. */
  union(): readonly string[] {
    this.#union ??= [...new Set([...this.#byObject.values()].flat())].sort();
    return this.#union;
  }
}
