import { parseCidr } from "../config/cidr.ts";
import { parseIpAddress } from "../domain/ip-address.ts";
import { KubeApiError } from "../kube/kube-api-error.ts";
import type { KubeClient } from "../kube/kube-client.ts";

/** What the production cluster says about its own addresses (SPEC B1: always denied). */
export interface DiscoveredRanges {
  /** Node addresses (as /32 or /128) and node pod CIDRs. */
  nodes: string[];
  /** The cluster's ServiceCIDRs. */
  services: string[];
  /** What could not be read (e.g. RBAC does not allow it); the rest is still used. */
  problems: string[];
}

interface NodeList {
  items: { spec?: { podCIDRs?: string[] }; status?: { addresses?: { address: string }[] } }[];
}
interface ServiceCidrList {
  items: { spec?: { cidrs?: string[] } }[];
}

/**
 * Reads the production cluster's node addresses, node pod CIDRs and ServiceCIDRs, so that a peak
 * can never advertise them even when the config does not list them. Canonical, sorted, unique.
 */
export async function readProductionRanges(
  client: KubeClient,
  signal: AbortSignal,
): Promise<DiscoveredRanges> {
  const problems: string[] = [];
  const read = async <T>(path: string, what: string): Promise<T | undefined> => {
    try {
      return await client.request<T>({ method: "GET", path, signal });
    } catch (err) {
      if (signal.aborted) throw err;
      const kind = err instanceof KubeApiError ? err.kind : "error";
      problems.push(
        `cannot list ${what} of the production cluster (${kind}); only the configured ranges are denied`,
      );
      return undefined;
    }
  };
  const [nodes, cidrs] = await Promise.all([
    read<NodeList>("/api/v1/nodes", "nodes"),
    read<ServiceCidrList>("/apis/networking.k8s.io/v1/servicecidrs", "ServiceCIDRs"),
  ]);
  const nodeRanges = (nodes?.items ?? []).flatMap((n) => [
    ...(n.status?.addresses ?? []).flatMap((a) => hostRange(a.address)),
    ...(n.spec?.podCIDRs ?? []).flatMap(canonicalCidr),
  ]);
  const serviceRanges = (cidrs?.items ?? []).flatMap((c) =>
    (c.spec?.cidrs ?? []).flatMap(canonicalCidr),
  );
  return { nodes: unique(nodeRanges), services: unique(serviceRanges), problems };
}

function hostRange(address: string): string[] {
  const ip = parseIpAddress(address);
  if (!ip) return []; // a hostname entry
  return [`${ip.canonical}/${ip.family === "IPv4" ? 32 : 128}`];
}

function canonicalCidr(text: string): string[] {
  const parsed = parseCidr(text);
  return parsed.ok ? [parsed.cidr.canonical] : [];
}

function unique(values: string[]): string[] {
  return [...new Set(values)].sort();
}
