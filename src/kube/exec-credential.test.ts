import assert from "node:assert/strict";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { selfSigned } from "../../test/support/self-signed.ts";
import { type ExecCredential, execInfo, parseExecCredential } from "./exec-credential.ts";
import type { ExecPlugin, KubeconfigCluster } from "./kubeconfig.ts";

const dir = mkdtempSync(path.join(tmpdir(), "kubeburst-exec-credential-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const CLIENT = selfSigned(dir, "client");
const OTHER_KEY = generateKeyPairSync("ec", { namedCurve: "P-256" })
  .privateKey.export({ format: "pem", type: "pkcs8" })
  .toString();

const V1 = "client.authentication.k8s.io/v1";
const plugin: ExecPlugin = {
  apiVersion: V1,
  command: "plugin",
  args: [],
  env: [],
  provideClusterInfo: false,
  installHint: undefined,
};

const output = (status: unknown, extra: Record<string, unknown> = {}) =>
  JSON.stringify({ apiVersion: V1, kind: "ExecCredential", status, ...extra });

test("a plugin's ExecCredential is read into a credential", () => {
  const cases: { name: string; stdout: string; want: ExecCredential }[] = [
    {
      name: "a token",
      stdout: output({ token: "t0k3n" }),
      want: {
        token: "t0k3n",
        clientCertificate: undefined,
        clientKey: undefined,
        expiresAt: undefined,
      },
    },
    {
      name: "a token with an expiry (UTC)",
      stdout: output({ token: "t", expirationTimestamp: "2026-11-28T10:00:00Z" }),
      want: {
        token: "t",
        clientCertificate: undefined,
        clientKey: undefined,
        expiresAt: Date.UTC(2026, 10, 28, 10, 0, 0),
      },
    },
    {
      name: "an expiry with fractions and an offset",
      stdout: output({ token: "t", expirationTimestamp: "2026-11-28T12:00:00.5+02:00" }),
      want: {
        token: "t",
        clientCertificate: undefined,
        clientKey: undefined,
        expiresAt: Date.UTC(2026, 10, 28, 10, 0, 0, 500),
      },
    },
    {
      name: "a client certificate and key (PEM text, not base64)",
      stdout: output({ clientCertificateData: CLIENT.cert, clientKeyData: CLIENT.key }),
      want: {
        token: undefined,
        clientCertificate: Buffer.from(CLIENT.cert),
        clientKey: Buffer.from(CLIENT.key),
        expiresAt: undefined,
      },
    },
    {
      name: "both, and empty strings count as unset",
      stdout: output({
        token: "t",
        clientCertificateData: CLIENT.cert,
        clientKeyData: CLIENT.key,
        expirationTimestamp: "",
      }),
      want: {
        token: "t",
        clientCertificate: Buffer.from(CLIENT.cert),
        clientKey: Buffer.from(CLIENT.key),
        expiresAt: undefined,
      },
    },
  ];
  for (const { name, stdout, want } of cases) {
    assert.deepEqual(parseExecCredential(stdout, plugin), { ok: true, credential: want }, name);
  }
  const beta = { ...plugin, apiVersion: "client.authentication.k8s.io/v1beta1" } as const;
  const betaOut = output({ token: "b" }, { apiVersion: beta.apiVersion });
  assert.ok(parseExecCredential(betaOut, beta).ok, "v1beta1 when the kubeconfig asks for it");
});

test("unusable plugin output is a problem in words that never quotes the output", () => {
  const cases: { name: string; stdout: string; want: string }[] = [
    { name: "not JSON", stdout: "token please", want: "the exec plugin's output is not JSON" },
    {
      name: "empty object",
      stdout: "{}",
      want: "the exec plugin's output is not an ExecCredential with a status (token or client certificate)",
    },
    {
      name: "another kind",
      stdout: JSON.stringify({ apiVersion: V1, kind: "Secret", status: { token: "secret" } }),
      want: "the exec plugin's output is not an ExecCredential with a status (token or client certificate)",
    },
    {
      name: "a list",
      stdout: "[1]",
      want: "the exec plugin's output is not an ExecCredential with a status (token or client certificate)",
    },
    {
      name: "another apiVersion",
      stdout: output({ token: "secret" }, { apiVersion: "client.authentication.k8s.io/v1beta1" }),
      want: 'the exec plugin printed apiVersion "client.authentication.k8s.io/v1beta1", but the kubeconfig asks for "client.authentication.k8s.io/v1"',
    },
    {
      name: "no apiVersion",
      stdout: JSON.stringify({ kind: "ExecCredential", status: { token: "secret" } }),
      want: 'the exec plugin printed apiVersion none, but the kubeconfig asks for "client.authentication.k8s.io/v1"',
    },
    {
      name: "empty status",
      stdout: output({}),
      want: "the exec plugin's ExecCredential status has neither a token nor a client certificate",
    },
    {
      name: "token a number",
      stdout: output({ token: 42 }),
      want: "the exec plugin's status.token is not a string",
    },
    {
      name: "certificate without key",
      stdout: output({ clientCertificateData: CLIENT.cert }),
      want: "the exec plugin returned a client certificate without its key",
    },
    {
      name: "key without certificate",
      stdout: output({ token: "secret", clientKeyData: CLIENT.key }),
      want: "the exec plugin returned a client key without its certificate",
    },
    {
      name: "certificate base64-encoded",
      stdout: output({
        clientCertificateData: Buffer.from(CLIENT.cert).toString("base64"),
        clientKeyData: CLIENT.key,
      }),
      want: "the exec plugin's status.clientCertificateData is not a PEM certificate (the PEM text itself, not base64)",
    },
    {
      name: "key not a key",
      stdout: output({ clientCertificateData: CLIENT.cert, clientKeyData: "secret" }),
      want: "the exec plugin's status.clientKeyData is not an unencrypted PEM private key (the PEM text itself, not base64)",
    },
    {
      name: "key of another certificate",
      stdout: output({ clientCertificateData: CLIENT.cert, clientKeyData: OTHER_KEY }),
      want: "the exec plugin's status.clientKeyData does not belong to its clientCertificateData",
    },
    {
      name: "expiry not RFC 3339",
      stdout: output({ token: "secret", expirationTimestamp: "tomorrow" }),
      want: "the exec plugin's status.expirationTimestamp is not an RFC 3339 time (e.g. 2026-11-28T10:00:00Z)",
    },
    {
      name: "expiry without a zone",
      stdout: output({ token: "secret", expirationTimestamp: "2026-11-28T10:00:00" }),
      want: "the exec plugin's status.expirationTimestamp is not an RFC 3339 time (e.g. 2026-11-28T10:00:00Z)",
    },
  ];
  for (const { name, stdout, want } of cases) {
    assert.deepEqual(parseExecCredential(stdout, plugin), { ok: false, problem: want }, name);
  }
});

test("KUBERNETES_EXEC_INFO says non-interactive, and the cluster only with provideClusterInfo", () => {
  const cluster: KubeconfigCluster = {
    name: "peak",
    server: "https://198.18.32.1:6443",
    certificateAuthority: Buffer.from("CA PEM"),
    tlsServerName: "api.peak",
    insecureSkipTlsVerify: false,
    execConfig: { audience: "peak" },
  };
  const cases: { name: string; plugin: ExecPlugin; cluster: KubeconfigCluster; want: unknown }[] = [
    {
      name: "without cluster info",
      plugin,
      cluster,
      want: { apiVersion: V1, kind: "ExecCredential", spec: { interactive: false } },
    },
    {
      name: "with cluster info",
      plugin: { ...plugin, provideClusterInfo: true },
      cluster,
      want: {
        apiVersion: V1,
        kind: "ExecCredential",
        spec: {
          interactive: false,
          cluster: {
            server: "https://198.18.32.1:6443",
            "tls-server-name": "api.peak",
            "certificate-authority-data": Buffer.from("CA PEM").toString("base64"),
            config: { audience: "peak" },
          },
        },
      },
    },
    {
      name: "with cluster info, a bare cluster",
      plugin: {
        ...plugin,
        apiVersion: "client.authentication.k8s.io/v1beta1",
        provideClusterInfo: true,
      },
      cluster: {
        ...cluster,
        certificateAuthority: undefined,
        tlsServerName: undefined,
        insecureSkipTlsVerify: true,
        execConfig: undefined,
      },
      want: {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        kind: "ExecCredential",
        spec: {
          interactive: false,
          cluster: { server: "https://198.18.32.1:6443", "insecure-skip-tls-verify": true },
        },
      },
    },
  ];
  for (const c of cases) {
    assert.deepEqual(JSON.parse(execInfo(c.plugin, c.cluster)), c.want, c.name);
  }
});
