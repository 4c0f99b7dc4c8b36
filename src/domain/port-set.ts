import { compareText } from "./compare-text.ts";
import type { EndpointPort } from "./endpoints.ts";

/**
 * A canonical text for a set of ports (name, protocol, number, appProtocol), independent of their
 * order: equal sets give equal keys. Used to group endpoints and to name slices.
 */
export function portSetKey(ports: readonly EndpointPort[]): string {
  const entries = ports
    .map((p) => JSON.stringify([p.name, p.protocol, p.port, p.appProtocol ?? null]))
    .sort(compareText);
  return `[${entries.join(",")}]`;
}
