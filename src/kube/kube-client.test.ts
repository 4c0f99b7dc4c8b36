// The client against a scripted plain-HTTP server on 127.0.0.1: gzip, Retry-After, body limits
// and credential failures, which a real API server cannot be made to produce on demand.
import assert from "node:assert/strict";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, beforeEach, describe, test } from "node:test";
import type { TLSSocket } from "node:tls";
import { createGzip, gzipSync, constants as zlibConstants } from "node:zlib";
import {
  FakeApiServer,
  listOf,
  object,
  sendJson,
  status,
} from "../../test/support/fake-api-server.ts";
import { selfSigned } from "../../test/support/self-signed.ts";
import { KubeApiError } from "./kube-api-error.ts";
import { KubeClient, type WatchEvent } from "./kube-client.ts";
import { kubeconfigFromText } from "./load-kubeconfig.ts";

describe("KubeClient", () => {
  let fake: FakeApiServer;
  let client: KubeClient;

  before(async () => {
    fake = await FakeApiServer.start();
  });
  after(async () => {
    client?.close();
    await fake.close();
  });
  beforeEach(() => {
    client?.close();
    client = new KubeClient(fake.kubeConfig(), { timeoutMs: 5_000 });
    fake.seen.length = 0;
  });

  test("speaks plain HTTP to an http:// server and sends the token", async () => {
    fake.handler = (_req, res) => sendJson(res, 200, { gitVersion: "v0.0.0-fake" });
    const version = await client.request<{ gitVersion: string }>({
      method: "GET",
      path: "/version",
    });
    assert.equal(version.gitVersion, "v0.0.0-fake");
    assert.equal(fake.seen[0]?.headers.authorization, "Bearer fake-token");
  });

  test("asks for gzip and decompresses a gzip list", async () => {
    const items = Array.from({ length: 300 }, (_, i) =>
      object(`cm-${i}`, String(i), { data: { v: "x".repeat(1000) } }),
    );
    const body = gzipSync(JSON.stringify(listOf(items, "301")));
    fake.handler = (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": "gzip" });
      res.end(body);
    };
    const list = await client.request<{ items: unknown[]; metadata: { resourceVersion: string } }>({
      method: "GET",
      path: "/api/v1/configmaps",
    });
    assert.equal(fake.seen[0]?.headers["accept-encoding"], "gzip");
    assert.equal(list.items.length, 300);
    assert.equal(list.metadata.resourceVersion, "301");
    assert.ok(body.length < 20_000, "the fixture really is compressed");
  });

  test("limits a body by its decompressed size", async () => {
    const small = new KubeClient(fake.kubeConfig(), { timeoutMs: 5_000, maxBodyBytes: 50_000 });
    const body = gzipSync(JSON.stringify({ pad: "x".repeat(200_000) }));
    fake.handler = (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": "gzip" });
      res.end(body);
    };
    try {
      await assert.rejects(
        small.request({ method: "GET", path: "/api/v1/configmaps" }),
        (err: unknown) =>
          err instanceof KubeApiError &&
          err.kind === "server-error" &&
          /maxBodyBytes/.test(err.message),
      );
      assert.ok(body.length < 50_000, "the compressed body alone is within the limit");
    } finally {
      small.close();
    }
  });

  test("decompresses a gzip watch event by event, as the server flushes", async () => {
    let gzip: ReturnType<typeof createGzip> | undefined;
    fake.handler = (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json", "Content-Encoding": "gzip" });
      gzip = createGzip();
      gzip.pipe(res);
      gzip.write(`${JSON.stringify({ type: "ADDED", object: object("a", "1") })}\n`);
      gzip.flush(zlibConstants.Z_SYNC_FLUSH);
    };
    const events: WatchEvent<{ metadata: { name: string } }>[] = [];
    const stop = new AbortController();
    const watching = client.watch<{ metadata: { name: string } }>(
      "/api/v1/configmaps",
      {},
      stop.signal,
      (e) => {
        events.push(e);
        // Only the flushed first event can have arrived: the stream is still open.
        if (events.length === 1) {
          gzip!.write(`${JSON.stringify({ type: "DELETED", object: object("a", "2") })}\n`);
          gzip!.end();
        }
      },
    );
    await watching;
    assert.deepEqual(
      events.map((e) => `${e.type} ${e.object.metadata.name}`),
      ["ADDED a", "DELETED a"],
    );
    assert.equal(fake.seen[0]?.headers["accept-encoding"], "gzip");
  });

  test("exposes Retry-After on 429 and 503, and never retries by itself", async () => {
    const cases = [
      {
        code: 429,
        reason: "TooManyRequests",
        header: "7",
        details: undefined,
        kind: "too-many-requests",
        want: 7,
      },
      {
        code: 503,
        reason: "ServiceUnavailable",
        header: undefined,
        details: { retryAfterSeconds: 4 },
        kind: "server-error",
        want: 4,
      },
      {
        code: 429,
        reason: "TooManyRequests",
        header: undefined,
        details: undefined,
        kind: "too-many-requests",
        want: undefined,
      },
    ];
    for (const c of cases) {
      fake.seen.length = 0;
      fake.handler = (_req, res) =>
        sendJson(
          res,
          c.code,
          status(c.code, c.reason, c.details),
          c.header ? { "Retry-After": c.header } : {},
        );
      await assert.rejects(
        client.request({ method: "POST", path: "/api/v1/namespaces/ns/configmaps", body: {} }),
        (err: unknown) => {
          assert.ok(err instanceof KubeApiError);
          assert.equal(err.kind, c.kind);
          assert.equal(err.retryAfterSeconds, c.want);
          return true;
        },
      );
      assert.equal(fake.seen.length, 1, `${c.code}: sent once`);
    }
  });
});

describe("KubeClient credentials from an exec plugin", () => {
  let fake: FakeApiServer;
  let dir: string;

  before(async () => {
    fake = await FakeApiServer.start();
    fake.handler = (req, res) =>
      req.headers.authorization === "Bearer from-plugin"
        ? sendJson(res, 200, { gitVersion: "v0.0.0-fake" })
        : sendJson(res, 401, status(401, "Unauthorized"));
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-exec-"));
  });
  after(async () => {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A kubeconfig whose user runs a shell script printing `output`. */
  async function pluginClient(name: string, output: string): Promise<KubeClient> {
    const plugin = path.join(dir, `${name}.sh`);
    await writeFile(plugin, `#!/bin/sh\ncat <<'JSON'\n${output}\nJSON\n`);
    await chmod(plugin, 0o755);
    return new KubeClient(
      fake.kubeConfig({
        exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin, args: [] },
      }),
      { timeoutMs: 5_000 },
    );
  }

  test("a plugin's unusable output is a classified, readable error", async () => {
    const cases = [
      { name: "empty-object", output: "{}", says: /not an ExecCredential with a status/ },
      { name: "not-json", output: "token please", says: /output is not JSON/ },
      {
        name: "empty-status",
        output: JSON.stringify({
          apiVersion: "client.authentication.k8s.io/v1",
          kind: "ExecCredential",
          status: {},
        }),
        says: /neither a token nor a client certificate/,
      },
    ];
    for (const c of cases) {
      const client = await pluginClient(c.name, c.output);
      try {
        await assert.rejects(
          client.request({ method: "GET", path: "/version" }),
          (err: unknown) => {
            assert.ok(err instanceof KubeApiError, c.name);
            assert.equal(err.kind, "no-credentials", c.name);
            assert.match(
              err.message,
              /kubeconfig user "fake-user" gave no usable credentials/,
              c.name,
            );
            assert.match(err.message, c.says, c.name);
            assert.doesNotMatch(err.message, /\n\s+at /, "no stack in the message");
            return true;
          },
        );
      } finally {
        client.close();
      }
    }
  });

  test("a missing plugin command is named as such", async () => {
    const client = new KubeClient(
      fake.kubeConfig({
        exec: { apiVersion: "client.authentication.k8s.io/v1", command: path.join(dir, "absent") },
      }),
    );
    await assert.rejects(
      client.request({ method: "GET", path: "/version" }),
      (err: unknown) =>
        err instanceof KubeApiError &&
        err.kind === "no-credentials" &&
        /command was not found/.test(err.message),
    );
    client.close();
  });

  test("a plugin fixed after printing {} is run again", async () => {
    const client = await pluginClient("fixed-later", "{}");
    try {
      await assert.rejects(client.request({ method: "GET", path: "/version" }), {
        kind: "no-credentials",
      });
      await writeFile(
        path.join(dir, "fixed-later.sh"),
        `#!/bin/sh\necho '${JSON.stringify({ apiVersion: "client.authentication.k8s.io/v1", kind: "ExecCredential", status: { token: "from-plugin" } })}'\n`,
      );
      const version = await client.request<{ gitVersion: string }>({
        method: "GET",
        path: "/version",
      });
      assert.equal(version.gitVersion, "v0.0.0-fake");
    } finally {
      client.close();
    }
  });
});

describe("KubeClient and an exec plugin's credential over time", () => {
  let dir: string;

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-exec-tls-"));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** A plugin that prints certificate/key pair n (1-based, the last repeated) at its n-th run. */
  async function rotatingPlugin(pairs: { certFile: string; keyFile: string }[]): Promise<string> {
    const runs = path.join(dir, "runs");
    const choose = pairs
      .map(
        (p, i) => `${i + 1 === pairs.length ? "*" : i + 1}) c='${p.certFile}'; k='${p.keyFile}';;`,
      )
      .join(" ");
    const file = path.join(dir, "rotating.sh");
    await writeFile(
      file,
      [
        "#!/bin/sh",
        `echo x >> '${runs}'`,
        `n=$(wc -l < '${runs}' | tr -d ' ')`,
        `case $n in ${choose} esac`,
        `json() { awk 'BEGIN{ORS=""} {printf "%s\\\\n", $0}' "$1"; }`,
        `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"clientCertificateData":"%s","clientKeyData":"%s"}}' "$(json "$c")" "$(json "$k")"`,
      ].join("\n"),
    );
    await chmod(file, 0o755);
    return file;
  }

  test("a 401 runs the plugin again, and its new client certificate gets new connections", async () => {
    const serving = selfSigned(dir, "server", "127.0.0.1");
    const [a, b] = [selfSigned(dir, "client-a"), selfSigned(dir, "client-b")];
    const seen: string[] = [];
    // Trusts both client certificates; accepts only client-b, as if client-a had been revoked.
    const server = createHttpsServer(
      {
        cert: serving.cert,
        key: serving.key,
        ca: [a.cert, b.cert],
        requestCert: true,
        rejectUnauthorized: true,
      },
      (req, res) => {
        const cn = String((req.socket as TLSSocket).getPeerCertificate().subject?.CN);
        seen.push(cn);
        if (cn === "client-b") sendJson(res, 200, { gitVersion: "v0.0.0-fake" });
        else sendJson(res, 401, status(401, "Unauthorized"));
      },
    );
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const { port } = server.address() as AddressInfo;
    const kubeconfig = kubeconfigFromText(
      JSON.stringify({
        "current-context": "c",
        contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
        clusters: [
          {
            name: "c",
            cluster: {
              server: `https://127.0.0.1:${port}`,
              "certificate-authority-data": Buffer.from(serving.cert).toString("base64"),
            },
          },
        ],
        users: [
          {
            name: "u",
            user: {
              exec: {
                apiVersion: "client.authentication.k8s.io/v1",
                command: await rotatingPlugin([a, b]),
              },
            },
          },
        ],
      }),
      { allowInsecure: true },
    );
    const client = new KubeClient(kubeconfig, { timeoutMs: 5_000 });
    try {
      await assert.rejects(client.request({ method: "GET", path: "/version" }), {
        kind: "unauthorized",
      });
      const version = await client.request<{ gitVersion: string }>({
        method: "GET",
        path: "/version",
      });
      assert.equal(version.gitVersion, "v0.0.0-fake");
      assert.deepEqual(seen, ["client-a", "client-b"]);
    } finally {
      client.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });

  test("a request aborted while the plugin runs ends at once as aborted; forks share the run", async () => {
    const fake = await FakeApiServer.start();
    fake.handler = (_req, res) => sendJson(res, 200, { gitVersion: "v0.0.0-fake" });
    const runs = path.join(dir, "slow-runs");
    const gate = path.join(dir, "gate");
    const plugin = path.join(dir, "slow.sh");
    // Waits until the test creates the gate file, then prints a token.
    await writeFile(
      plugin,
      [
        "#!/bin/sh",
        `echo x >> '${runs}'`,
        `while [ ! -e '${gate}' ]; do sleep 0.05; done`,
        `echo '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin"}}'`,
      ].join("\n"),
    );
    await chmod(plugin, 0o755);
    const client = new KubeClient(
      fake.kubeConfig({ exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin } }),
      { timeoutMs: 5_000, execTimeoutMs: 20_000 },
    );
    const fork = client.fork();
    try {
      const stop = new AbortController();
      const aborted = client.request({ method: "GET", path: "/version", signal: stop.signal });
      const waiting = fork.request<{ gitVersion: string }>({ method: "GET", path: "/version" });
      stop.abort();
      await assert.rejects(aborted, { kind: "aborted" });
      await writeFile(gate, "");
      assert.equal((await waiting).gitVersion, "v0.0.0-fake");
      assert.equal((await readFile(runs, "utf8")).split("\n").length - 1, 1, "one run for both");
      assert.equal(fake.seen.length, 1, "the aborted request was never sent");
      assert.equal(fake.seen[0]?.headers.authorization, "Bearer from-plugin");
    } finally {
      client.close();
      fork.close();
      await fake.close();
    }
  });
});
