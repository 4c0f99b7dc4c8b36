import { compareText } from "./compare-text.ts";
import type { DesiredSlice } from "./desired-slices.ts";
import type { AddressFamily, Endpoint, EndpointPort } from "./endpoints.ts";
import { TRIGGER_TIME_ANNOTATION } from "./labels.ts";

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

function portsKey(ports: readonly EndpointPort[]): string[] {
  return ports
    .map((p) => JSON.stringify([p.name, p.protocol, p.port, p.appProtocol ?? null]))
    .sort(compareText);
}

function endpointsKey(endpoints: readonly Endpoint[]): string[] {
  return endpoints
    .map(({ address, conditions: c }) =>
      JSON.stringify([address, c.ready, c.serving, c.terminating]),
    )
    .sort(compareText);
}

function sameList(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && a.every((item, i) => item === b[i]);
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
 * made (SPEC M8). Ports and endpoints compare as multisets, ignoring order. Labels and
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
    sameList(portsKey(desired.ports), portsKey(written.ports)) &&
    sameList(endpointsKey(desired.endpoints), endpointsKey(written.endpoints))
  );
}
