import type { ClusterSpec } from "../config/cluster-spec.ts";
import type { DiscoveredRanges } from "../discovery/production-ranges.ts";
import type { AddressPolicy } from "../domain/address-policy.ts";
import { parseIpAddress } from "../domain/ip-address.ts";

/**
 * What a peak may contribute (SPEC B1): its allowed CIDRs, minus production's own ranges (as
 * configured and as discovered) and its API server's address, capped per Service. Pure.
 */
export function peakPolicy(
  peak: Pick<ClusterSpec, "allowedCIDRs" | "maxEndpointsPerService">,
  production: Pick<ClusterSpec, "ranges">,
  productionServer: string | undefined,
  discovered: Pick<DiscoveredRanges, "nodes" | "services">,
): AddressPolicy {
  const { podCIDRs, serviceCIDRs, nodeCIDRs } = production.ranges;
  const host = productionServer ? new URL(productionServer).hostname.replace(/^\[|\]$/g, "") : "";
  const apiAddress = parseIpAddress(host) ? [host] : [];
  return {
    allowed: peak.allowedCIDRs,
    denied: [
      ...podCIDRs,
      ...serviceCIDRs,
      ...nodeCIDRs,
      ...apiAddress,
      ...discovered.nodes,
      ...discovered.services,
    ],
    maxEndpoints: peak.maxEndpointsPerService,
  };
}
