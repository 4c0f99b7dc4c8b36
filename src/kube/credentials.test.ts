// Credentials with real exec plugins: small shell scripts written for each case.
import assert from "node:assert/strict";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { selfSigned } from "../../test/support/self-signed.ts";
import { Credentials, type CredentialsOptions } from "./credentials.ts";
import { KubeApiError } from "./kube-api-error.ts";
import type { ExecPlugin, Kubeconfig, KubeconfigCluster, KubeconfigUser } from "./kubeconfig.ts";

const dir = mkdtempSync(path.join(tmpdir(), "kubeburst-credentials-"));
after(() => rmSync(dir, { recursive: true, force: true }));
const CA = selfSigned(dir, "ca");
const CERT_A = selfSigned(dir, "client-a");
const CERT_B = selfSigned(dir, "client-b");

const V1 = "client.authentication.k8s.io/v1";

const cluster: KubeconfigCluster = {
  name: "peak",
  server: "https://198.18.32.1:6443",
  certificateAuthority: Buffer.from(CA.cert),
  tlsServerName: undefined,
  insecureSkipTlsVerify: false,
  execConfig: undefined,
};

const noUser: KubeconfigUser = {
  name: "peak-user",
  token: undefined,
  basicAuth: undefined,
  clientCertificate: undefined,
  clientKey: undefined,
  exec: undefined,
  impersonate: undefined,
};

function kubeconfig(
  user: Partial<KubeconfigUser>,
  clusterFields: Partial<KubeconfigCluster> = {},
): Kubeconfig {
  return {
    context: "peak",
    cluster: { ...cluster, ...clusterFields },
    user: { ...noUser, ...user },
  };
}

/** An executable shell script `name` in the test folder, with `body` after the shebang. */
function script(name: string, body: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
  return file;
}

function plugin(command: string, fields: Partial<ExecPlugin> = {}): ExecPlugin {
  return {
    apiVersion: V1,
    command,
    args: [],
    env: [],
    provideClusterInfo: false,
    installHint: undefined,
    ...fields,
  };
}

/**
 * A plugin script that counts its runs in `<name>.runs` and prints token `run-<n>` at run n,
 * with `more` (JSON fields, no `'` or `%`) added to the status.
 */
function countingPlugin(name: string, more = ""): { command: string; runs: () => number } {
  const runs = path.join(dir, `${name}.runs`);
  const command = script(
    name,
    [
      `echo x >> '${runs}'`,
      `n=$(wc -l < '${runs}' | tr -d ' ')`,
      `printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"run-%s"${more}}}' "$n"`,
    ].join("\n"),
  );
  return {
    command,
    runs: () => (existsSync(runs) ? readFileSync(runs, "utf8").split("\n").length - 1 : 0),
  };
}

test("static credentials: headers and TLS settings from the kubeconfig as they are", async () => {
  const cases: {
    name: string;
    kc: Kubeconfig;
    headers: Record<string, string>;
    tls?: Partial<Awaited<ReturnType<Credentials["current"]>>["tls"]>;
  }[] = [
    { name: "anonymous", kc: kubeconfig({}), headers: {} },
    {
      name: "token",
      kc: kubeconfig({ token: "abc" }),
      headers: { Authorization: "Bearer abc" },
    },
    {
      name: "basic auth",
      kc: kubeconfig({ basicAuth: { username: "ann", password: "pw:1" } }),
      headers: { Authorization: `Basic ${Buffer.from("ann:pw:1").toString("base64")}` },
    },
    {
      name: "client certificate",
      kc: kubeconfig({
        clientCertificate: Buffer.from(CERT_A.cert),
        clientKey: Buffer.from(CERT_A.key),
      }),
      headers: {},
      tls: { cert: Buffer.from(CERT_A.cert), key: Buffer.from(CERT_A.key) },
    },
    {
      name: "impersonation",
      kc: kubeconfig({ token: "abc", impersonate: "system:serviceaccount:kb:reader" }),
      headers: {
        Authorization: "Bearer abc",
        "Impersonate-User": "system:serviceaccount:kb:reader",
      },
    },
    {
      name: "tls-server-name and insecure-skip-tls-verify",
      kc: kubeconfig({}, { tlsServerName: "api.peak", insecureSkipTlsVerify: true }),
      headers: {},
      tls: { servername: "api.peak", rejectUnauthorized: false },
    },
    {
      name: "a static token wins over an exec plugin, which is not run (client-go's rule)",
      kc: kubeconfig({ token: "static", exec: plugin(path.join(dir, "never-run")) }),
      headers: { Authorization: "Bearer static" },
    },
  ];
  for (const c of cases) {
    const material = await new Credentials(c.kc).current();
    assert.deepEqual(material.headers, c.headers, c.name);
    const want = {
      ca: Buffer.from(CA.cert),
      cert: undefined,
      key: undefined,
      servername: undefined,
      rejectUnauthorized: true,
      ...c.tls,
    };
    assert.deepEqual(material.tls, want, c.name);
  }
});

test("an exec plugin gets its args, env and KUBERNETES_EXEC_INFO; its token is sent", async () => {
  const seen = path.join(dir, "exec-info.json");
  const command = script(
    "echo-env",
    [
      `printf '%s' "$KUBERNETES_EXEC_INFO" > '${seen}'`,
      `echo "{\\"apiVersion\\":\\"${V1}\\",\\"kind\\":\\"ExecCredential\\",\\"status\\":{\\"token\\":\\"$1-$PROFILE\\"}}"`,
    ].join("\n"),
  );
  const kc = kubeconfig({
    exec: plugin(command, {
      args: ["arg"],
      env: [{ name: "PROFILE", value: "prod" }],
      provideClusterInfo: true,
    }),
    impersonate: "someone",
  });
  const material = await new Credentials(kc).current();
  assert.deepEqual(material.headers, {
    Authorization: "Bearer arg-prod",
    "Impersonate-User": "someone",
  });
  assert.deepEqual(JSON.parse(readFileSync(seen, "utf8")), {
    apiVersion: V1,
    kind: "ExecCredential",
    spec: {
      interactive: false,
      cluster: {
        server: cluster.server,
        "certificate-authority-data": Buffer.from(CA.cert).toString("base64"),
      },
    },
  });
});

test("an exec credential is kept until it expires, then the plugin runs again", async () => {
  const { command, runs } = countingPlugin(
    "expiring",
    ',"expirationTimestamp":"2030-01-01T00:00:00Z"',
  );
  let now = Date.UTC(2029, 11, 31, 23, 0, 0);
  const credentials = new Credentials(kubeconfig({ exec: plugin(command) }), { now: () => now });
  const first = await credentials.current();
  assert.equal(first.headers.Authorization, "Bearer run-1");
  now += 59 * 60 * 1000; // one minute before the expiry
  assert.equal(await credentials.current(), first, "kept: the same material");
  assert.equal(runs(), 1);
  now += 60 * 1000; // the expiry itself
  const second = await credentials.current();
  assert.equal(second.headers.Authorization, "Bearer run-2");
  assert.equal(runs(), 2);
  assert.equal(second.tls, first.tls, "a new token keeps the TLS settings (and connections)");
});

test("without an expiry a credential is kept until the server refuses it (401)", async () => {
  const { command, runs } = countingPlugin("no-expiry");
  const credentials = new Credentials(kubeconfig({ exec: plugin(command) }));
  const first = await credentials.current();
  assert.equal(await credentials.current(), first);
  assert.equal(runs(), 1);
  credentials.refused(first);
  const second = await credentials.current();
  assert.equal(second.headers.Authorization, "Bearer run-2");
  // A late 401 to the old credential does not run the plugin once more.
  credentials.refused(first);
  assert.equal(await credentials.current(), second);
  assert.equal(runs(), 2);
});

test("callers arriving during a run share it", async () => {
  const { command, runs } = countingPlugin("shared");
  const credentials = new Credentials(kubeconfig({ exec: plugin(command) }));
  const all = await Promise.all(Array.from({ length: 5 }, () => credentials.current()));
  assert.equal(runs(), 1);
  for (const material of all) assert.equal(material, all[0]);
});

test("a plugin's new client certificate gives new TLS settings; the same one keeps them", async () => {
  const files = [CERT_A, CERT_A, CERT_B].map(({ certFile, keyFile }) => ({ certFile, keyFile }));
  const runs = path.join(dir, "rotating.runs");
  // Run n prints certificate n (as JSON strings: the PEM's newlines escaped by awk).
  const command = script(
    "rotating",
    [
      `echo x >> '${runs}'`,
      `n=$(wc -l < '${runs}' | tr -d ' ')`,
      `case $n in 1) c='${files[0]!.certFile}'; k='${files[0]!.keyFile}';; 2) c='${files[1]!.certFile}'; k='${files[1]!.keyFile}';; *) c='${files[2]!.certFile}'; k='${files[2]!.keyFile}';; esac`,
      `json() { awk 'BEGIN{ORS=""} {printf "%s\\\\n", $0}' "$1"; }`,
      `printf '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"clientCertificateData":"%s","clientKeyData":"%s"}}' "$(json "$c")" "$(json "$k")"`,
    ].join("\n"),
  );
  const credentials = new Credentials(kubeconfig({ exec: plugin(command) }));
  const first = await credentials.current();
  assert.deepEqual(first.tls.cert, Buffer.from(CERT_A.cert));
  assert.deepEqual(first.headers, {});
  credentials.refused(first);
  const same = await credentials.current();
  assert.notEqual(same, first, "the plugin ran again");
  assert.equal(same.tls, first.tls, "the same certificate: the same TLS settings");
  credentials.refused(same);
  const rotated = await credentials.current();
  assert.notEqual(rotated.tls, first.tls);
  assert.deepEqual(rotated.tls.cert, Buffer.from(CERT_B.cert));
  assert.deepEqual(rotated.tls.key, Buffer.from(CERT_B.key));
});

test("plugin failures are no-credentials errors naming the user and what went wrong", async () => {
  const notExecutable = path.join(dir, "not-executable");
  writeFileSync(notExecutable, "#!/bin/sh\n");
  const cases: {
    name: string;
    exec: ExecPlugin;
    options?: CredentialsOptions;
    says: RegExp;
  }[] = [
    {
      name: "command missing, with the install hint",
      exec: plugin(path.join(dir, "absent"), { installHint: "Install it:\n  brew install x" }),
      says: /the exec plugin's command was not found \(".*\/absent"\); Install it:/,
    },
    {
      name: "not executable",
      exec: plugin(notExecutable),
      says: /the exec plugin's command is not executable \(".*\/not-executable"\)/,
    },
    {
      name: "a non-zero exit, with the first line it printed on stderr",
      exec: plugin(
        script(
          "exits-3",
          "echo >&2\necho 'token expired, log in again' >&2\necho more >&2\nexit 3",
        ),
      ),
      says: /the exec plugin exited with code 3: token expired, log in again;/,
    },
    {
      name: "killed by a signal",
      exec: plugin(script("killed", "kill -9 $$")),
      says: /the exec plugin was killed by SIGKILL/,
    },
    {
      name: "too slow",
      exec: plugin(script("slow", "exec sleep 30")),
      options: { execTimeoutMs: 200 },
      says: /the exec plugin did not finish within 200 ms and was stopped/,
    },
    {
      name: "too much output",
      exec: plugin(script("chatty", "exec yes")),
      options: { execMaxOutputBytes: 64 * 1024 },
      says: /the exec plugin printed more than 65536 bytes and was stopped/,
    },
    {
      name: "output not JSON",
      exec: plugin(script("prose", "echo 'here is your token: s3cr3t'")),
      says: /the exec plugin's output is not JSON/,
    },
  ];
  for (const c of cases) {
    const credentials = new Credentials(kubeconfig({ exec: c.exec }), c.options ?? {});
    await assert.rejects(credentials.current(), (err: unknown) => {
      assert.ok(err instanceof KubeApiError, c.name);
      assert.equal(err.kind, "no-credentials", c.name);
      assert.match(
        err.message,
        /^kubeconfig user "peak-user" gave no usable credentials: /,
        c.name,
      );
      assert.match(err.message, c.says, c.name);
      assert.match(err.message, /; fix the user entry or its exec plugin$/, c.name);
      assert.doesNotMatch(err.message, /s3cr3t/, `${c.name}: the output is never quoted`);
      return true;
    });
  }
});

test("a failed run is not kept: a plugin fixed later is run again", async () => {
  const command = script("fixed-later", "exit 1");
  const credentials = new Credentials(kubeconfig({ exec: plugin(command) }));
  await assert.rejects(credentials.current(), { kind: "no-credentials" });
  script(
    "fixed-later",
    `echo '{"apiVersion":"${V1}","kind":"ExecCredential","status":{"token":"ok"}}'`,
  );
  assert.equal((await credentials.current()).headers.Authorization, "Bearer ok");
});

test("an in-cluster token file is read again when it changes, keeping the TLS settings", async () => {
  const file = path.join(dir, "sa-token");
  writeFileSync(file, "token-1\n");
  let now = 1_000_000;
  const creds = new Credentials(kubeconfig({ token: "token-1", tokenFile: file }), {
    now: () => now,
    tokenRecheckMs: 10_000,
  });
  const first = await creds.current();
  assert.equal(first.headers.Authorization, "Bearer token-1");
  // The kubelet swaps the file; until the recheck interval passes, the old token is sent.
  writeFileSync(file, "token-2-longer\n");
  now += 1_000;
  assert.equal((await creds.current()).headers.Authorization, "Bearer token-1");
  now += 10_000;
  const second = await creds.current();
  assert.equal(second.headers.Authorization, "Bearer token-2-longer");
  assert.equal(second.tls, first.tls, "the same TLS settings: open watches stay open");
  // A 401 looks at once; an unreadable or empty file keeps the token in use.
  writeFileSync(file, "token-3-even-longer");
  creds.refused(second);
  assert.equal((await creds.current()).headers.Authorization, "Bearer token-3-even-longer");
  writeFileSync(file, "");
  now += 60_000;
  assert.equal((await creds.current()).headers.Authorization, "Bearer token-3-even-longer");
  rmSync(file);
  now += 60_000;
  assert.equal((await creds.current()).headers.Authorization, "Bearer token-3-even-longer");
});
