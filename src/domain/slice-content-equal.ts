import type { AddressFamily, Endpoint, EndpointConditions, EndpointPort } from "./endpoints.ts";
import { TRIGGER_TIME_ANNOTATION } from "./labels.ts";
import type { DesiredSlice } from "./source-slices.ts";

/** A slice of ours as read from the production cluster's cache, already normalised. */
export interface WrittenSlice {
  name: string;
  uid: string;
  /** Opaque; passed back as is, never compared or parsed. */
  resourceVersion: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  addressType: AddressFamily;
  ports: EndpointPort[];
  endpoints: Endpoint[];
  /** UID in the slice's ownerReference to the Service, when the reader extracts it. */
  ownerUid?: string;
}

function portKey(p: EndpointPort): string {
  return `${p.name}\u0000${p.protocol}\u0000${p.port}\u0000${p.appProtocol ?? ""}`;
}

/** Same ports, in any order (a Service has few). */
function samePorts(a: readonly EndpointPort[], b: readonly EndpointPort[]): boolean {
  if (a.length !== b.length) return false;
  const keys = new Set(b.map(portKey));
  return keys.size === b.length && a.every((p) => keys.has(portKey(p)));
}

function sameConditions(a: EndpointConditions, b: EndpointConditions): boolean {
  return a.ready === b.ready && a.serving === b.serving && a.terminating === b.terminating;
}

/** Same endpoints with the same conditions, in any order; linear in their number. */
function sameEndpoints(a: readonly Endpoint[], b: readonly Endpoint[]): boolean {
  if (a.length !== b.length) return false;
  const byAddress = new Map<string, EndpointConditions>();
  for (const e of b) byAddress.set(e.address, e.conditions);
  if (byAddress.size !== b.length) return false;
  return a.every((e) => {
    const other = byAddress.get(e.address);
    return other !== undefined && sameConditions(e.conditions, other);
  });
}

function contains(
  written: Readonly<Record<string, string>>,
  desired: Readonly<Record<string, string>>,
  ignore: string | undefined,
): boolean {
  return Object.entries(desired).every(([key, value]) => key === ignore || written[key] === value);
}

/**
 * True when writing `desired` over `written` would change nothing that matters, so no write is
 * made (SPEC M8). Ports and endpoints compare as sets, ignoring order, in linear time (our
 * slices hold each address once; a written slice with duplicates counts as different). Labels and
 * annotations compare only on the keys we set: server-side apply leaves other managers' keys in
 * place, so demanding exact equality would write forever. The trigger-time annotation is
 * ignored, so a new trigger time alone never causes a write. The owner UID is compared when
 * `written` carries one.
 */
export function sliceContentEqual(desired: DesiredSlice, written: WrittenSlice): boolean {
  return (
    desired.name === written.name &&
    desired.addressType === written.addressType &&
    (written.ownerUid === undefined || written.ownerUid === desired.ownerUid) &&
    contains(written.labels, desired.labels, undefined) &&
    contains(written.annotations, desired.annotations, TRIGGER_TIME_ANNOTATION) &&
    samePorts(desired.ports, written.ports) &&
    sameEndpoints(desired.endpoints, written.endpoints)
  );
}
