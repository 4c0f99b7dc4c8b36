import { compareText } from "./compare-text.ts";
import type { EndpointPort } from "./endpoints.ts";
import type { ServicePort } from "./production-service.ts";

/** Why a peak port (or a whole group) was left out. */
export const PORT_CONFLICT_KINDS = [
  "protocol-mismatch",
  "invalid-port",
  "duplicate-port",
  "no-matching-ports",
] as const;
/** See {@link PORT_CONFLICT_KINDS}. */
export type PortConflictKind = (typeof PORT_CONFLICT_KINDS)[number];

/** A port left out, for a status condition (SPEC B8). `port` is the port name (`""` if unnamed or if the whole group is meant). */
export interface PortConflict {
  kind: PortConflictKind;
  port: string;
  reason: string;
}

/** The outcome of matching one peak group's ports to the production Service's. */
export interface PortMatch {
  /** The kept ports, sorted by name: production names, peak numbers. */
  ports: EndpointPort[];
  conflicts: PortConflict[];
  /** False when the Service has ports but none are left: the group then contributes nothing. */
  contributes: boolean;
}

function isValidPortNumber(port: number): boolean {
  return Number.isInteger(port) && port >= 1 && port <= 65535;
}

function comparePorts(a: EndpointPort, b: EndpointPort): number {
  return compareText(a.name, b.name) || compareText(a.protocol, b.protocol) || a.port - b.port;
}

/**
 * Matches a peak group's ports to the production Service's ports by name (SPEC B8), keeping the
 * peak's number (the target port in the peak cluster) and appProtocol. A peak port whose name the
 * Service lacks is dropped silently. Same name with another protocol, a number outside 1–65535,
 * or a name seen twice (the lowest number is kept) is left out and reported. Never throws.
 */
export function matchPorts(
  servicePorts: readonly ServicePort[],
  peakPorts: readonly EndpointPort[],
): PortMatch {
  const ports: EndpointPort[] = [];
  const conflicts: PortConflict[] = [];
  const kept = new Map<string, EndpointPort>();
  for (const peak of [...peakPorts].sort(comparePorts)) {
    const named = servicePorts.filter((service) => service.name === peak.name);
    if (named.length === 0) continue;
    const label = peak.name === "" ? "the unnamed port" : `port ${JSON.stringify(peak.name)}`;
    if (!named.some((service) => service.protocol === peak.protocol)) {
      const expected = named.map((service) => service.protocol).join(" or ");
      conflicts.push({
        kind: "protocol-mismatch",
        port: peak.name,
        reason: `${label} is ${expected} in the production Service but ${peak.protocol} in the peak slice`,
      });
      continue;
    }
    if (!isValidPortNumber(peak.port)) {
      conflicts.push({
        kind: "invalid-port",
        port: peak.name,
        reason: `${label} has number ${peak.port} in the peak slice; it must be an integer from 1 to 65535`,
      });
      continue;
    }
    const first = kept.get(peak.name);
    if (first !== undefined) {
      conflicts.push({
        kind: "duplicate-port",
        port: peak.name,
        reason: `${label} appears more than once in one peak slice; kept ${first.protocol} ${first.port}, left out ${peak.protocol} ${peak.port}`,
      });
      continue;
    }
    const port: EndpointPort = { name: peak.name, port: peak.port, protocol: peak.protocol };
    if (peak.appProtocol !== undefined) port.appProtocol = peak.appProtocol;
    kept.set(peak.name, port);
    ports.push(port);
  }
  const contributes = servicePorts.length === 0 || ports.length > 0;
  if (!contributes) {
    const names = (list: readonly { name: string }[]) =>
      list.length === 0
        ? "none"
        : [...new Set(list.map((p) => JSON.stringify(p.name)))].sort(compareText).join(", ");
    conflicts.push({
      kind: "no-matching-ports",
      port: "",
      reason: `no port of the peak slice (${names(peakPorts)}) matches a port of the production Service (${names(servicePorts)}); its endpoints are not imported`,
    });
  }
  return { ports, conflicts, contributes };
}
