import type { ClusterSpec } from "../config/cluster-spec.ts";
import type { AddressPolicy } from "../domain/address-policy.ts";
import { parseIpAddress } from "../domain/ip-address.ts";

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
  const apiAddress = parseIpAddress(host) ? [host] : [];
  return [...podCIDRs, ...serviceCIDRs, ...nodeCIDRs, ...apiAddress, ...discovered];
}

/** What a peak may contribute (SPEC B1): its allowed CIDRs minus `denied`, capped per Service. */
export function peakPolicy(
  peak: Pick<ClusterSpec, "allowedCIDRs" | "maxEndpointsPerService">,
  denied: readonly string[],
): AddressPolicy {
  return { allowed: peak.allowedCIDRs, denied, maxEndpoints: peak.maxEndpointsPerService };
}
