import type { ClusterSpec } from "../config/cluster-spec.ts";
import type { AddressPolicy } from "../domain/address-policy.ts";
import { parseHostAddress } from "../domain/ip-address.ts";

/**
 * Production's own ranges, which no peak may ever contribute (SPEC B1): as configured, the API
 * server's address from kubeburst's kubeconfig, and what production itself says (node addresses,
 * pod CIDRs, ServiceCIDRs, the API server's real addresses). Pure.
 */
export function productionDenyList(
  production: Pick<ClusterSpec, "ranges">,
  productionServer: string | undefined,
  discovered: readonly string[],
): string[] {
  const { podCIDRs, serviceCIDRs, nodeCIDRs } = production.ranges;
  const host = productionServer ? new URL(productionServer).hostname.replace(/^\[|\]$/g, "") : "";
  // Canonical; a mapped address (`[::ffff:a.b.c.d]`) is denied as the IPv4 address it stands for.
  const apiAddress = [parseHostAddress(host)?.canonical ?? []].flat();
  return [...podCIDRs, ...serviceCIDRs, ...nodeCIDRs, ...apiAddress, ...discovered];
}

/** What a peak may contribute (SPEC B1): its allowed CIDRs minus `denied`, capped per Service. */
export function peakPolicy(
  peak: Pick<ClusterSpec, "allowedCIDRs" | "maxEndpointsPerService">,
  denied: readonly string[],
): AddressPolicy {
  return { allowed: peak.allowedCIDRs, denied, maxEndpoints: peak.maxEndpointsPerService };
}

/** Production's deny list as last read, with a version that changes whenever it does. */
export interface DenyList {
  version: number;
  ranges: readonly string[];
}

/**
 * Keeps production's deny list: unknown until production's own ranges have been read once, then
 * the last list read, with a new version only when its content changed (SPEC B15).
 */
export class DenyListKeeper {
  #current: DenyList | undefined;

  /** The list now; undefined while it is not known (admit nothing). */
  get current(): DenyList | undefined {
    return this.#current;
  }

  /** Takes a freshly read list; true when it differs from the one before (or is the first). */
  update(ranges: readonly string[]): boolean {
    const before = this.#current?.ranges;
    if (before && before.length === ranges.length && before.every((r, i) => r === ranges[i])) {
      return false;
    }
    this.#current = { version: (this.#current?.version ?? 0) + 1, ranges: [...ranges] };
    return true;
  }
}
