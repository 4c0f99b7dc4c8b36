// The client.authentication.k8s.io ExecCredential protocol, both ways, as pure functions: what
// an exec plugin is told (KUBERNETES_EXEC_INFO) and what its stdout must say.
import { createPrivateKey, X509Certificate } from "node:crypto";
import type { ExecPlugin, KubeconfigCluster } from "./kubeconfig.ts";

/** The credential an exec plugin printed, checked. */
export interface ExecCredential {
  token: string | undefined;
  /** PEM client certificate and key: both or neither. */
  clientCertificate: Buffer | undefined;
  clientKey: Buffer | undefined;
  /** When to run the plugin again, ms since the epoch; undefined: when the server refuses it. */
  expiresAt: number | undefined;
}

export type ExecCredentialResult =
  | { ok: true; credential: ExecCredential }
  | { ok: false; problem: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** RFC 3339, as metav1.Time writes it (`2026-11-28T10:00:00Z`, fractions and offsets allowed). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

const fail = (problem: string): ExecCredentialResult => ({ ok: false, problem });

/**
 * The value of KUBERNETES_EXEC_INFO for `plugin`: an ExecCredential of the plugin's version with
 * `spec.interactive: false` (kubeburst has no terminal) and, with provideClusterInfo, the
 * cluster (`certificate-authority-data` base64, as the API's []byte fields are in JSON).
 */
export function execInfo(plugin: ExecPlugin, cluster: KubeconfigCluster): string {
  const spec: Record<string, unknown> = { interactive: false };
  if (plugin.provideClusterInfo) {
    spec.cluster = {
      server: cluster.server,
      ...(cluster.tlsServerName === undefined ? {} : { "tls-server-name": cluster.tlsServerName }),
      ...(cluster.insecureSkipTlsVerify ? { "insecure-skip-tls-verify": true } : {}),
      ...(cluster.certificateAuthority === undefined
        ? {}
        : { "certificate-authority-data": cluster.certificateAuthority.toString("base64") }),
      ...(cluster.execConfig === undefined ? {} : { config: cluster.execConfig }),
    };
  }
  return JSON.stringify({ apiVersion: plugin.apiVersion, kind: "ExecCredential", spec });
}

/**
 * Reads what an exec plugin printed: one JSON ExecCredential of the plugin's configured
 * `apiVersion`, whose status holds a token, a PEM client certificate and key, or both, and
 * optionally an RFC 3339 `expirationTimestamp`. The certificate and key are parsed here, so that
 * a bad one is named now rather than failing a TLS handshake later. Messages never quote the
 * output: it may hold a credential.
 */
export function parseExecCredential(stdout: string, plugin: ExecPlugin): ExecCredentialResult {
  let data: unknown;
  try {
    data = JSON.parse(stdout);
  } catch {
    return fail("the exec plugin's output is not JSON");
  }
  if (!isRecord(data) || data.kind !== "ExecCredential" || !isRecord(data.status)) {
    return fail(
      "the exec plugin's output is not an ExecCredential with a status (token or client certificate)",
    );
  }
  if (data.apiVersion !== plugin.apiVersion) {
    const got = typeof data.apiVersion === "string" ? JSON.stringify(data.apiVersion) : "none";
    return fail(
      `the exec plugin printed apiVersion ${got.slice(0, 80)}, but the kubeconfig asks for ${JSON.stringify(plugin.apiVersion)}`,
    );
  }
  const status = data.status;
  const field = (key: string): string | undefined | false => {
    const value = status[key];
    if (value === undefined || value === null || value === "") return undefined;
    return typeof value === "string" ? value : false;
  };
  const token = field("token");
  const cert = field("clientCertificateData");
  const key = field("clientKeyData");
  const expiry = field("expirationTimestamp");
  for (const [name, value] of [
    ["token", token],
    ["clientCertificateData", cert],
    ["clientKeyData", key],
    ["expirationTimestamp", expiry],
  ] as const) {
    if (value === false) return fail(`the exec plugin's status.${name} is not a string`);
  }
  if (token === undefined && cert === undefined && key === undefined) {
    return fail(
      "the exec plugin's ExecCredential status has neither a token nor a client certificate",
    );
  }
  if ((cert === undefined) !== (key === undefined)) {
    return fail(
      `the exec plugin returned a client ${cert === undefined ? "key without its certificate" : "certificate without its key"}`,
    );
  }
  let expiresAt: number | undefined;
  if (typeof expiry === "string") {
    expiresAt = RFC3339.test(expiry) ? Date.parse(expiry) : Number.NaN;
    if (Number.isNaN(expiresAt)) {
      return fail(
        "the exec plugin's status.expirationTimestamp is not an RFC 3339 time (e.g. 2026-11-28T10:00:00Z)",
      );
    }
  }
  let clientCertificate: Buffer | undefined;
  let clientKey: Buffer | undefined;
  if (typeof cert === "string" && typeof key === "string") {
    clientCertificate = Buffer.from(cert, "utf8");
    clientKey = Buffer.from(key, "utf8");
    let leaf: X509Certificate;
    try {
      leaf = new X509Certificate(clientCertificate);
    } catch {
      return fail(
        "the exec plugin's status.clientCertificateData is not a PEM certificate (the PEM text itself, not base64)",
      );
    }
    try {
      if (!leaf.checkPrivateKey(createPrivateKey({ key: clientKey, format: "pem" }))) {
        return fail(
          "the exec plugin's status.clientKeyData does not belong to its clientCertificateData",
        );
      }
    } catch {
      return fail(
        "the exec plugin's status.clientKeyData is not an unencrypted PEM private key (the PEM text itself, not base64)",
      );
    }
  }
  return {
    ok: true,
    credential: {
      token: typeof token === "string" ? token : undefined,
      clientCertificate,
      clientKey,
      expiresAt,
    },
  };
}
