import { compareText } from "./compare-text.ts";
import type { Protocol } from "./endpoints.ts";
import { parseIpAddress } from "./ip-address.ts";

/** An address in a legacy Endpoints subset; extra fields a caller keeps on it are preserved. */
export interface EndpointsAddress {
  ip: string;
}

/** A port in a legacy Endpoints subset; `name` may be absent for a single unnamed port. */
export interface EndpointsPort {
  name?: string;
  port: number;
  protocol: Protocol;
}

/** One subset of a legacy Endpoints object. */
export interface EndpointsSubset {
  addresses: EndpointsAddress[];
  notReadyAddresses: EndpointsAddress[];
  ports: EndpointsPort[];
}

/** The canonical form of an address when it parses, else the text itself. */
export function canonicalIp(ip: string): string {
  return parseIpAddress(ip)?.canonical ?? ip;
}

/** An order-insensitive key for a subset's ports: equal port sets give equal keys. */
export function endpointsPortsKey(ports: readonly EndpointsPort[]): string {
  const entries = ports
    .map((p) => JSON.stringify([p.name ?? "", p.protocol, p.port]))
    .sort(compareText);
  return `[${entries.join(",")}]`;
}

/**
 * A canonical text for what subsets mean to a reader: the set of (port set, canonical address,
 * ready or not). Subset order, address order, duplicates and the way addresses are spread over
 * subsets do not matter, just as the API server repacks subsets on write.
 */
export function subsetsContentKey(subsets: readonly EndpointsSubset[]): string {
  const tuples = new Set<string>();
  for (const subset of subsets) {
    const ports = endpointsPortsKey(subset.ports);
    for (const { ip } of subset.addresses)
      tuples.add(JSON.stringify([ports, canonicalIp(ip), true]));
    for (const { ip } of subset.notReadyAddresses) {
      tuples.add(JSON.stringify([ports, canonicalIp(ip), false]));
    }
  }
  return `[${[...tuples].sort(compareText).join(",")}]`;
}
