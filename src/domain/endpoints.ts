/** The address families kubeburst imports (never FQDN). */
export const ADDRESS_FAMILIES = ["IPv4", "IPv6"] as const;
/** An EndpointSlice address type that kubeburst handles. */
export type AddressFamily = (typeof ADDRESS_FAMILIES)[number];

/** Transport protocols of Service and endpoint ports. */
export const PROTOCOLS = ["TCP", "UDP", "SCTP"] as const;
/** A Service or endpoint port's protocol. */
export type Protocol = (typeof PROTOCOLS)[number];

/** Endpoint conditions, always explicit (SPEC B2). */
export interface EndpointConditions {
  ready: boolean;
  serving: boolean;
  terminating: boolean;
}

/**
 * One endpoint: an address and its conditions, nothing else. nodeName, zone, hints, hostname and
 * targetRef name the other cluster and are deliberately not representable (SPEC B2).
 */
export interface Endpoint {
  address: string;
  conditions: EndpointConditions;
}

/** One port of an endpoint group; `name` is `""` for a Service's single unnamed port. */
export interface EndpointPort {
  name: string;
  /** The target port number, 1–65535. */
  port: number;
  protocol: Protocol;
  appProtocol?: string;
}

/** One source slice, normalised: the ports and endpoints it carries (what kube-proxy treats as a unit). */
export interface EndpointGroup {
  addressType: AddressFamily;
  ports: EndpointPort[];
  endpoints: Endpoint[];
}

/** What one cluster contributes to one Service. */
export interface Contribution {
  cluster: string;
  groups: EndpointGroup[];
  /** RFC 3339 time of the last change, from the source slices' trigger-time annotation. */
  triggerTime?: string;
}

/** Endpoint conditions as the API may send them: each may be missing or null. */
export interface RawConditions {
  ready?: boolean | null | undefined;
  serving?: boolean | null | undefined;
  terminating?: boolean | null | undefined;
}

/**
 * Makes conditions explicit with Kubernetes semantics: a missing `ready` is true (kube-proxy
 * treats nil as ready), a missing `serving` equals `ready`, a missing `terminating` is false.
 * Anything that is not a boolean counts as missing.
 */
export function normaliseConditions(raw: RawConditions | null | undefined): EndpointConditions {
  const ready = typeof raw?.ready === "boolean" ? raw.ready : true;
  const serving = typeof raw?.serving === "boolean" ? raw.serving : ready;
  const terminating = typeof raw?.terminating === "boolean" ? raw.terminating : false;
  return { ready, serving, terminating };
}
