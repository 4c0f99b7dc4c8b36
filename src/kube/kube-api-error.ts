/**
 * Failures of calls to a Kubernetes API server, classified by HTTP status and Status reason
 * (and a Status cause type where the reason alone is ambiguous), never by message text.
 * Expected failures are values the callers switch on.
 */
export const apiFailureKinds = [
  "not-found",
  "conflict",
  "already-exists",
  "gone",
  "resource-version-too-large",
  "unauthorized",
  "forbidden",
  "no-credentials",
  "invalid",
  "too-many-requests",
  "server-error",
  "timeout",
  "unreachable",
  "aborted",
] as const;
export type ApiFailureKind = (typeof apiFailureKinds)[number];

/**
 * An API call that did not succeed. `status` is the HTTP status (or the `code` of an in-stream
 * ERROR event), 0 when no response came.
 */
export class KubeApiError extends Error {
  readonly kind: ApiFailureKind;
  readonly status: number;
  readonly reason: string | undefined;
  /**
   * How long the server asked us to wait before trying again, seconds: the `Retry-After` header
   * (seconds or an HTTP date) or the Status's `details.retryAfterSeconds`. Undefined when the
   * server said nothing. Nothing retries by itself on it: one-shot callers decide.
   */
  readonly retryAfterSeconds: number | undefined;

  constructor(
    kind: ApiFailureKind,
    message: string,
    init: { status?: number; reason?: string; retryAfterSeconds?: number; cause?: unknown } = {},
  ) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "KubeApiError";
    this.kind = kind;
    this.status = init.status ?? 0;
    this.reason = init.reason;
    this.retryAfterSeconds = init.retryAfterSeconds;
  }
}

/** The Status cause type the API server sets when a resourceVersion is newer than its own. */
export const RESOURCE_VERSION_TOO_LARGE = "ResourceVersionTooLarge";

/**
 * Maps an HTTP status, the Status object's reason and its cause types to a failure kind. A
 * resourceVersion newer than the server's is a 504 Timeout whose causes say
 * `ResourceVersionTooLarge`: the caller must list again, not retry the same version.
 */
export function kindFromStatus(
  status: number,
  reason: string | undefined,
  causeTypes: readonly string[] = [],
): ApiFailureKind {
  if (status === 404) return "not-found";
  if (status === 409) return reason === "AlreadyExists" ? "already-exists" : "conflict";
  if (status === 410 || reason === "Expired" || reason === "Gone") return "gone";
  if (status === 401) return "unauthorized";
  if (status === 403) return "forbidden";
  if (status === 422 || status === 400) return "invalid";
  if (status === 429) return "too-many-requests";
  if (status === 504 || reason === "Timeout") {
    return causeTypes.includes(RESOURCE_VERSION_TOO_LARGE)
      ? "resource-version-too-large"
      : "timeout";
  }
  return "server-error";
}

/** The fields of a metav1.Status that classification reads. */
interface StatusFields {
  code?: unknown;
  reason?: unknown;
  message?: unknown;
  details?: { causes?: unknown; retryAfterSeconds?: unknown };
}

/**
 * A KubeApiError from a failed response or an in-stream ERROR event. `status` is the HTTP
 * status (for an event: 0, and the Status's own `code` is used); `body` the parsed Status object,
 * or the raw text when the body was not JSON (a proxy in between, say). `retryAfterHeader` is
 * the response's `Retry-After`, which wins over the Status's `retryAfterSeconds`.
 */
export function errorFromStatus(
  where: string,
  status: number,
  body: unknown,
  retryAfterHeader?: string,
  now: number = Date.now(),
): KubeApiError {
  const fields: StatusFields =
    typeof body === "object" && body !== null ? (body as StatusFields) : {};
  const code = status || (typeof fields.code === "number" ? fields.code : 0);
  const reason = typeof fields.reason === "string" ? fields.reason : undefined;
  const message =
    typeof fields.message === "string"
      ? fields.message
      : typeof body === "string"
        ? body.slice(0, 500)
        : (reason ?? "error");
  const causes = Array.isArray(fields.details?.causes) ? fields.details.causes : [];
  // A StatusCause's type travels as `reason` in JSON.
  const causeTypes = causes.flatMap((c: unknown) => {
    const type = (c as { reason?: unknown } | null)?.reason;
    return typeof type === "string" ? [type] : [];
  });
  const fromStatus = fields.details?.retryAfterSeconds;
  const retryAfterSeconds =
    parseRetryAfter(retryAfterHeader, now) ??
    (typeof fromStatus === "number" && fromStatus >= 0 ? fromStatus : undefined);
  return new KubeApiError(
    kindFromStatus(code, reason, causeTypes),
    `${where}: ${code} ${message}`,
    {
      status: code,
      ...(reason === undefined ? {} : { reason }),
      ...(retryAfterSeconds === undefined ? {} : { retryAfterSeconds }),
    },
  );
}

/**
 * Parses a `Retry-After` header: delay-seconds or an HTTP date (RFC 9110 §10.2.3). Undefined
 * when absent or unreadable; a date in the past is 0.
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Number(text);
  if (!/[a-z]/i.test(text)) return undefined; // every HTTP date names a day or month
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.max(0, Math.ceil((at - now) / 1000));
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
