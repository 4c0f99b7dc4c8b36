/**
 * Failures of calls to a Kubernetes API server, classified by HTTP status and Status reason,
 * never by message text. Expected failures are values the callers switch on.
 */
export const apiFailureKinds = [
  "not-found",
  "conflict",
  "already-exists",
  "gone",
  "unauthorized",
  "forbidden",
  "invalid",
  "too-many-requests",
  "server-error",
  "timeout",
  "unreachable",
  "aborted",
] as const;
export type ApiFailureKind = (typeof apiFailureKinds)[number];

/** An API call that did not succeed. `status` is the HTTP status, 0 when no response came. */
export class KubeApiError extends Error {
  readonly kind: ApiFailureKind;
  readonly status: number;
  readonly reason: string | undefined;

  constructor(
    kind: ApiFailureKind,
    message: string,
    init: { status?: number; reason?: string; cause?: unknown } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "KubeApiError";
    this.kind = kind;
    this.status = init.status ?? 0;
    this.reason = init.reason;
  }
}

/** Maps an HTTP status and the Status object's reason to a failure kind. */
export function kindFromStatus(status: number, reason: string | undefined): ApiFailureKind {
  if (status === 404) return "not-found";
  if (status === 409) return reason === "AlreadyExists" ? "already-exists" : "conflict";
  if (status === 410) return "gone";
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 422 || status === 400) return "invalid";
  if (status === 429) return "too-many-requests";
  if (status === 504 || reason === "Timeout") return "timeout";
  return "server-error";
}

/** Network-level error codes from node:net/tls that mean "the server could not be reached". */
const unreachableCodes = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EPIPE",
  "ETIMEDOUT",
  "UND_ERR_SOCKET",
]);

/** TLS verification failures: the server is there but is not the one the kubeconfig trusts. */
const tlsCodes = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
]);

/** Classifies an error thrown below the HTTP layer (socket, TLS, abort). */
export function kindFromTransportError(err: unknown): ApiFailureKind {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === "string") {
    if (tlsCodes.has(code)) return "unauthorized";
    if (code === "ABORT_ERR") return "aborted";
    if (unreachableCodes.has(code)) return "unreachable";
  }
  const name = (err as { name?: unknown } | null)?.name;
  if (name === "AbortError") return "aborted";
  if (name === "TimeoutError") return "timeout";
  // A client certificate the server does not accept ends the TLS handshake with an alert.
  if (typeof code === "string" && code.startsWith("ERR_SSL_")) return "unauthorized";
  return "unreachable";
}
