import type { ClusterState } from "./metrics.ts";

/**
 * The status API's documents (SPEC B9, B12): JSON, read-only, versioned by `apiVersion`; each
 * names its `kind`, so a client can tell kubeburst's answer from any other server's. Fields are
 * only ever added within one version. Times are RFC 3339 strings, durations seconds.
 */
export const STATUS_API_VERSION = "kubeburst.io/status/v1";

/** Where the status API is served, beside `/metrics`. */
export const STATUS_PATH = "/status/v1";

/** `/status/v1/services/<namespace>/<name>` */
export function serviceStatusPath(namespace: string, name: string): string {
  return `${STATUS_PATH}/services/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`;
}

/** Informer (list and watch) health of one collection of one cluster. */
export interface InformerStatus {
  /** The collection path, e.g. `/api/v1/services`. */
  path: string;
  state: ClusterState;
  /** Whether its first list completed. */
  synced: boolean;
  /** The failure behind a failing state. */
  reason?: string;
}

/** One declared cluster: every one has a state, the ones whose kubeconfig was refused included. */
export interface ClusterStatus {
  name: string;
  role: "production" | "peak";
  /** Where it is declared: the config file or a discovery Secret. */
  source: "file" | "secret";
  state: ClusterState;
  /** Why, when the state is not `synced` (a refused kubeconfig, an API failure). */
  reason?: string;
  /** Peak only: its endpoints are withdrawn (it failed for longer than staleTTL). */
  withdrawn: boolean;
  /** The last moment its caches were known in sync; null before the first sync. */
  lastSuccessfulSync: string | null;
  /** Each watched collection's health; empty when no controller runs (a refused kubeconfig). */
  informers: InformerStatus[];
  /** Production Services it reports a part in. */
  services: number;
  /** Peak only: endpoints admitted now (after the address policy and the cap). */
  endpointsSeen: number;
  /** Peak only: endpoints refused now (address policy and cap). */
  endpointsRefused: number;
  /** Peak only: the refused endpoints by reason (`multicast`, `not-allowed`, `cap`, …). */
  refusedByReason: Record<string, number>;
  /** Peak only: endpoints admitted but not imported, of a family production's Service lacks (B7). */
  endpointsLeftOut: number;
}

/**
 * The burst policy's view of one Service (SPEC B5), filled in by the policy engine once it is
 * wired; null until then, and for a Service the policy does not cover. `mode` is the policy's
 * name (`always`, `manual`, `threshold`, …), `bursting` whether peak endpoints are admitted by it
 * now, `reason` why, in words. `details` carries policy-specific figures.
 */
export interface PolicyStatus {
  mode: string;
  bursting: boolean;
  reason: string;
  details?: Record<string, unknown>;
}

/** The last write for a Service. */
export interface LastWrite {
  at: string;
  result: "ok" | "error";
  error?: string;
}

/** The last change that reached production, and how long it took. */
export interface LastChange {
  /** The cluster whose watch event carried it. */
  cluster: string;
  /** When that event arrived at kubeburst. */
  observedAt: string;
  /** When the write that made production hold it was acknowledged. */
  writtenAt: string;
  /** From the event's arrival to the write's acknowledgement. */
  propagationSeconds: number;
}

/** One line per Service in the overview. */
export interface ServiceSummary {
  /** `namespace/name` */
  service: string;
  /** Whether it is a production Service labelled to take part. */
  production: boolean;
  /** Per peak that pairs with it: endpoints admitted, ready among them, refused. */
  peaks: { cluster: string; endpoints: number; ready: number; refused: number }[];
  /** Slices of ours in production for it, and the endpoints they hold. */
  written: { slices: number; endpoints: number };
  lastWrite: LastWrite | null;
  lastChange: LastChange | null;
  /** Label conflicts (the Service then takes no part). */
  conflicts: number;
  policy: PolicyStatus | null;
}

/** `GET /status/v1`: the whole installation. */
export interface StatusDocument {
  apiVersion: typeof STATUS_API_VERSION;
  kind: "Status";
  generatedAt: string;
  kubeburst: { version: string };
  /** The same answer as `/readyz`. */
  ready: boolean;
  reason: string;
  leader: boolean;
  productionRangesKnown: boolean;
  clusters: ClusterStatus[];
  services: ServiceSummary[];
  writes: { ok: number; failed: number; noop: number };
}

/** One endpoint as kubeburst sees it in a peak slice, with the slice it came from. */
export interface EndpointStatus {
  address: string;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** The EndpointSlice it is in (in its own cluster). */
  slice: string;
}

/** One peak's part of a Service. */
export interface PeakPart {
  cluster: string;
  state: ClusterState;
  withdrawn: boolean;
  /** Whether its endpoints count now (its first list is aggregated, it pairs with production). */
  counted: boolean;
  /** Why not, when they do not. */
  reason?: string;
  endpoints: EndpointStatus[];
  refused: { address: string; reason: string; slice: string }[];
  /** Set when the per-Service cap left endpoints out. */
  truncated?: { kept: number; dropped: number };
}

/** One slice of ours in production. */
export interface WrittenSlice {
  name: string;
  /** The peak it mirrors. */
  cluster: string;
  addressType: string;
  endpoints: number;
  ready: number;
}

/** `GET /status/v1/services/<namespace>/<name>`: everything about one Service. */
export interface ServiceStatusDocument {
  apiVersion: typeof STATUS_API_VERSION;
  kind: "ServiceStatus";
  generatedAt: string;
  /** `namespace/name` */
  service: string;
  /** Whether production holds a Service labelled to take part. */
  takesPart: boolean;
  /** Why not, when it does not. */
  reason?: string;
  production: {
    cluster: string;
    /**
     * Production's own endpoints, read from its API when this document was made (kubeburst does
     * not keep them); null when the read failed (see `readError`).
     */
    endpoints: EndpointStatus[] | null;
    readError?: string;
  };
  peaks: PeakPart[];
  conflicts: { cluster: string; reason: string }[];
  written: WrittenSlice[];
  lastWrite: LastWrite | null;
  lastChange: LastChange | null;
  policy: PolicyStatus | null;
}

/** An answer that is not a document: an unknown Service, a path that does not exist. */
export interface StatusError {
  apiVersion: typeof STATUS_API_VERSION;
  kind: "Error";
  code: number;
  message: string;
}
