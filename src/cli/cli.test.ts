import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpsServer } from "node:https";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { runKubeburst } from "../../test/support/run-cli.ts";

const kubeburst = runKubeburst;

type Result = Awaited<ReturnType<typeof kubeburst>>;

/** Calls `call` for `run` and for `check` side by side (each start of the CLI takes a while). */
async function runAndCheck(
  call: (command: string) => Promise<Result>,
): Promise<[string, Result][]> {
  const commands = ["run", "check"];
  const results = await Promise.all(commands.map(call));
  return commands.map((command, index) => [command, results[index]!]);
}

/** Runs `body` with a fresh folder, removed afterwards. */
async function inFolder(body: (dir: string) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(path.join(tmpdir(), "kubeburst-cli-"));
  try {
    await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A config file with one production cluster whose kubeconfig is `kubeconfig`, plus `extra` lines. */
async function configFile(dir: string, kubeconfig: string, extra = ""): Promise<string> {
  const file = path.join(dir, "kubeburst.yaml");
  await writeFile(
    file,
    `clusters:\n  - name: private\n    role: production\n    kubeconfig: ${JSON.stringify(kubeconfig)}\n${extra}`,
  );
  return file;
}

/** A stack trace line, in plain text or inside a JSON log line. */
const STACK = /\n\s+at |\\n\s+at |"stack"/;

test("an invalid config file: exit code 2 and every problem with its field, for run and check", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "kubeburst-cli-"));
  try {
    const file = path.join(dir, "kubeburst.yaml");
    await writeFile(
      file,
      "clusters:\n  - name: private\n    role: production\n    kubeconfig: p\n  - name: public\n    role: peak\n    kubeconfig: q\nworkrs: 3\n",
    );
    for (const [command, r] of await runAndCheck((command) =>
      kubeburst([command, "--config", file]),
    )) {
      assert.equal(r.code, 2, command);
      assert.match(
        r.stderr,
        /config error: clusters\[1\]\.allowedCIDRs: required for a peak cluster/,
      );
      assert.match(
        r.stderr,
        /config error: workrs: unknown field "workrs"; did you mean "workers"\?/,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("usage errors exit 2; version exits 0", async () => {
  assert.equal((await kubeburst(["run"])).code, 2);
  assert.equal((await kubeburst(["no-such-command"])).code, 2);
  const family = await kubeburst(["demo", "--ip-family", "ipv5"]);
  assert.equal(family.code, 2, "checked before anything starts (no root needed)");
  assert.match(family.stderr, /--ip-family.*'ipv5'.*ipv4, ipv6, dual/);
  const v = await kubeburst(["version"]);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /Kubernetes v1\.\d+\.\d+/);
});

test("KUBEBURST_LOG_LEVEL: a wrong value is a usage error naming the variable; empty means info", async () => {
  await inFolder(async (dir) => {
    const file = await configFile(dir, "missing.kubeconfig", 'metrics:\n  address: "off"\n');
    for (const [command, r] of await runAndCheck((command) =>
      kubeburst([command, "--config", file], { KUBEBURST_LOG_LEVEL: "garbage" }),
    )) {
      assert.equal(r.code, 2, `${command}: ${r.stderr}`);
      assert.equal(
        r.stderr,
        'config error: KUBEBURST_LOG_LEVEL: "garbage" is not a log level; use one of: trace, debug, info, warn, error, fatal, silent (unset or empty: info)\n',
      );
    }
    // Empty is the default: check goes on to the clusters (exit 1: the kubeconfig is missing).
    const empty = await kubeburst(["check", "--config", file], { KUBEBURST_LOG_LEVEL: "" });
    assert.equal(empty.code, 1, empty.stderr);
    assert.match(
      empty.stdout,
      /^private\s+production\s+kubeconfig\s+FAIL\s+cannot read kubeconfig ".*missing.kubeconfig": no such file$/m,
    );
  });
});

test("a duration that would overflow a timer (api.timeout 597h) is refused by run and check", async () => {
  await inFolder(async (dir) => {
    const file = await configFile(dir, "k", "api:\n  timeout: 597h\nstaleTTL: 9999h\n");
    for (const [command, r] of await runAndCheck((command) =>
      kubeburst([command, "--config", file]),
    )) {
      assert.equal(r.code, 2, command);
      assert.equal(
        r.stderr,
        'config error: staleTTL: "9999h" is too long; it must be at most 24h\nconfig error: api.timeout: "597h" is too long; it must be at most 1h\n',
      );
    }
  });
});

test("an endless file as config or kubeconfig is refused at once, naming what it is", async () => {
  for (const [command, r] of await runAndCheck((command) =>
    kubeburst([command, "--config", "/dev/zero"]),
  )) {
    assert.equal(r.code, 2, command);
    assert.equal(
      r.stderr,
      'config error: cannot read config file "/dev/zero": it is a character device, not a regular file\n',
    );
  }
  await inFolder(async (dir) => {
    const file = await configFile(dir, "/dev/zero", 'metrics:\n  address: "off"\n');
    const check = await kubeburst(["check", "--config", file]);
    assert.equal(check.code, 1);
    assert.equal(
      check.stdout,
      [
        "CLUSTER  ROLE        CHECK       RESULT  DETAIL",
        'private  production  kubeconfig  FAIL    cannot read kubeconfig "/dev/zero": it is a character device, not a regular file',
        "",
      ].join("\n"),
    );
    // run: the production cluster cannot be watched. A handled failure: no stack anywhere.
    const run = await kubeburst(["run", "--config", file]);
    assert.equal(run.code, 1);
    assert.doesNotMatch(run.stderr, STACK);
    const lines = run.stderr
      .trim()
      .split("\n")
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.ok(
      lines.some((line) =>
        String(line.msg).includes(
          'kubeconfig: cannot read kubeconfig "/dev/zero": it is a character device',
        ),
      ),
      run.stderr,
    );
    const last = lines.at(-1) as { msg: string; err: unknown };
    assert.equal(last.msg, "kubeburst stopped on an error");
    assert.deepEqual(last.err, {
      type: "ExpectedError",
      message: 'the production cluster "private" cannot be watched; see the error above',
    });
  });
});

test('metrics.address "" is an error: only "off" turns /metrics, /healthz and /readyz off', async () => {
  await inFolder(async (dir) => {
    const file = await configFile(dir, "k", 'metrics:\n  address: ""\n');
    for (const [command, r] of await runAndCheck((command) =>
      kubeburst([command, "--config", file]),
    )) {
      assert.equal(r.code, 2, command);
      assert.equal(
        r.stderr,
        'config error: metrics.address: empty; write host:port, e.g. "127.0.0.1:9090", or "off" to turn the server off\n',
      );
    }
  });
});

test("a huge value is echoed cut, with its length; a file over 1 MiB is not read", async () => {
  await inFolder(async (dir) => {
    const file = await configFile(dir, "k", `mode: ${"x".repeat(1000 * 1000)}\n`);
    const r = await kubeburst(["check", "--config", file]);
    assert.equal(r.code, 2);
    assert.equal(
      r.stderr,
      `config error: mode: "${"x".repeat(99)}…" (1000000 characters) is not allowed; use one of: endpointslice, endpoints\n`,
    );
    const big = await configFile(dir, "k", `mode: ${"x".repeat(50 * 1024 * 1024)}\n`);
    const b = await kubeburst(["check", "--config", big]);
    assert.equal(b.code, 2);
    assert.equal(
      b.stderr,
      `config error: cannot read config file ${JSON.stringify(big)}: it is larger than 1 MiB, the limit\n`,
    );
  });
});

test("run: a metrics port already taken is one log line naming metrics.address, without a stack", async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  try {
    const address = taken.address();
    assert.ok(address !== null && typeof address === "object");
    await inFolder(async (dir) => {
      const file = await configFile(dir, "k", `metrics:\n  address: "127.0.0.1:${address.port}"\n`);
      const r = await kubeburst(["run", "--config", file]);
      assert.equal(r.code, 1, r.stderr);
      assert.doesNotMatch(r.stderr, STACK);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      const line = JSON.parse(lines[0]!) as Record<string, unknown>;
      assert.equal(line.level, 50);
      assert.equal(line.field, "metrics.address");
      assert.equal(line.address, `127.0.0.1:${address.port}`);
      assert.match(String(line.msg), /metrics\.address; change it or set it to "off"$/);
      assert.deepEqual(line.err, {
        type: "ExpectedError",
        message: `cannot listen on 127.0.0.1:${address.port}: the address is already in use (is another kubeburst or another server listening there?)`,
        code: "EADDRINUSE",
      });
    });
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  }
});

test("check passes a cluster only when every answer is complete; a cut-short answer fails", async () => {
  await inFolder(async (dir) => {
    // A scripted API server on loopback, with a self-signed certificate made for this test.
    const [certFile, keyFile] = [path.join(dir, "server.crt"), path.join(dir, "server.key")];
    execFileSync(
      "openssl",
      [
        ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
        ["-keyout", keyFile, "-out", certFile, "-subj", "/CN=127.0.0.1", "-days", "2"],
        ["-addext", "subjectAltName=IP:127.0.0.1"],
      ].flat(),
      { stdio: "ignore" },
    );
    const cert = await readFile(certFile);
    let answers: Record<string, string> = {};
    /** Verb and resource the scripted server's access reviews deny, e.g. "watch nodes". */
    let denied = new Set<string>();
    const server = createHttpsServer({ cert, key: await readFile(keyFile) }, (req, res) => {
      const url = (req.url ?? "").split("?")[0] ?? "";
      if (url === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews") {
        let body = "";
        req.on("data", (chunk: Buffer) => {
          body += chunk.toString();
        });
        req.on("end", () => {
          const attrs = (
            JSON.parse(body) as { spec: { resourceAttributes: { verb: string; resource: string } } }
          ).spec.resourceAttributes;
          const allowed = !denied.has(`${attrs.verb} ${attrs.resource}`);
          res
            .writeHead(201, { "content-type": "application/json" })
            .end(JSON.stringify({ status: { allowed } }));
        });
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end(answers[url] ?? "");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as { port: number };
      const kubeconfig = path.join(dir, "private.kubeconfig");
      await writeFile(
        kubeconfig,
        JSON.stringify({
          "current-context": "c",
          contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
          clusters: [
            {
              name: "c",
              cluster: {
                server: `https://127.0.0.1:${port}`,
                "certificate-authority-data": cert.toString("base64"),
              },
            },
          ],
          users: [{ name: "u", user: { token: "t" } }],
        }),
      );
      const file = await configFile(dir, kubeconfig);
      const list = JSON.stringify({ kind: "List", items: [] });
      const complete = {
        "/version": JSON.stringify({ gitVersion: "v1.37.2" }),
        "/api/v1/services": list,
        "/apis/discovery.k8s.io/v1/endpointslices": list,
        "/api/v1/nodes": list,
        "/apis/networking.k8s.io/v1/servicecidrs": list,
        "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices": list,
        "/api/v1/namespaces/kubeburst/secrets": list,
      };
      const row = (check: string, result: string, detail = "") =>
        new RegExp(
          `^private\\s+production\\s+${check.replace(/[.()/]/g, "\\$&")}\\s+${result}\\s*${detail}`,
          "m",
        );
      const cases: [string, Record<string, string>, string[], number, RegExp[]][] = [
        [
          "complete",
          complete,
          [],
          0,
          [
            row(`reach https://127.0.0.1:${port}`, "ok", "v1.37.2"),
            row("watch nodes (all namespaces)", "ok"),
          ],
        ],
        [
          "an empty version",
          { ...complete, "/version": "" },
          [],
          1,
          [
            row(
              `reach https://127.0.0.1:${port}`,
              "FAIL",
              "/version: the answer was empty or incomplete",
            ),
          ],
        ],
        [
          "a list without items",
          { ...complete, "/apis/discovery.k8s.io/v1/endpointslices": "{}" },
          [],
          1,
          [
            row(
              "read /apis/discovery.k8s.io/v1/endpointslices",
              "FAIL",
              "the answer was empty or incomplete",
            ),
          ],
        ],
        [
          "two permissions missing, each named with its fix",
          complete,
          ["watch nodes", "delete endpointslices"],
          1,
          [
            row(
              "watch nodes (all namespaces)",
              "FAIL",
              'needed for production\'s node addresses .*: grant verb watch on "nodes" of apiGroup ""',
            ),
            row(
              "delete endpointslices.discovery.k8s.io (all namespaces)",
              "FAIL",
              "needed for writing",
            ),
            row("list nodes (all namespaces)", "ok"),
          ],
        ],
      ];
      for (const [name, script, deny, code, want] of cases) {
        answers = script;
        denied = new Set(deny);
        const r = await kubeburst(["check", "--config", file]);
        assert.equal(r.code, code, `${name}: ${r.stdout}${r.stderr}`);
        for (const re of want) assert.match(r.stdout, re, name);
        assert.equal(
          (r.stdout.match(/ FAIL /g) ?? []).length,
          code === 0 ? 0 : Math.max(1, deny.length),
          `${name}: ${r.stdout}`,
        );
      }
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

test("status and explain: bad input exits 2 with what to give instead", async () => {
  const [noWhere, notKey, badFormat] = await Promise.all([
    kubeburst(["status"]),
    kubeburst(["explain", "web", "--address", "127.0.0.1:9"]),
    kubeburst(["explain", "shop/web", "-o", "yaml", "--address", "127.0.0.1:9"]),
  ]);
  assert.equal(noWhere.code, 2);
  assert.match(noWhere.stderr, /give --config FILE .* or --address HOST:PORT/);
  assert.equal(notKey.code, 2);
  assert.match(notKey.stderr, /"web" is not NAMESPACE\/NAME, e\.g\. shop\/web/);
  assert.equal(badFormat.code, 2);
  assert.match(badFormat.stderr, /-o "yaml": use text or json/);
});

test("link and unlink: bad flags exit 2, each named; an unreadable kubeconfig is named by its flag", async () => {
  const bad = await kubeburst(["link", "--name", "Bad_Name", "--allowed-cidrs", "198.18.0.0/33"]);
  assert.equal(bad.code, 2);
  assert.equal(bad.stdout, "");
  const lines = bad.stderr.trim().split("\n");
  assert.deepEqual(
    lines.map((l) => l.split(":")[1]?.trim()),
    ["--name", "--peak-kubeconfig", "--allowed-cidrs"],
  );
  const missing = await kubeburst([
    "unlink",
    "--name",
    "public",
    "--peak-kubeconfig",
    "/nonexistent/peak.kubeconfig",
    "--production-kubeconfig",
    "/nonexistent/prod.kubeconfig",
  ]);
  assert.equal(missing.code, 2);
  assert.match(
    missing.stderr,
    /^kubeburst: --peak-kubeconfig: cannot read kubeconfig "\/nonexistent\/peak.kubeconfig": no such file$/m,
  );
  assert.match(missing.stderr, /^kubeburst: --production-kubeconfig: cannot read kubeconfig/m);
});

test("without a production kubeconfig and outside a pod, check and run say what is missing", async () => {
  await inFolder(async (dir) => {
    const file = path.join(dir, "kubeburst.yaml");
    await writeFile(
      file,
      'clusters:\n  - { name: private, role: production }\nmetrics: { address: "off" }\n',
    );
    const outside = { KUBERNETES_SERVICE_HOST: undefined, KUBERNETES_SERVICE_PORT: undefined };
    const check = await kubeburst(["check", "--config", file], outside);
    assert.equal(check.code, 1, check.stderr);
    assert.match(
      check.stdout,
      /^private\s+production\s+kubeconfig\s+FAIL\s+KUBERNETES_SERVICE_HOST is not set; without a kubeconfig the production cluster is the one kubeburst runs in as a pod/m,
    );
    const run = await kubeburst(["run", "--config", file], outside);
    assert.equal(run.code, 1);
    assert.doesNotMatch(run.stderr, STACK);
    assert.match(run.stderr, /KUBERNETES_SERVICE_PORT is not set/);
  });
});
