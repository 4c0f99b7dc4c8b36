// `kubeburst run` must not load @kubernetes/client-node: loading it costs about 80 MiB of memory
// (its config module imports the whole generated API). kubeburst uses its model types only, with
// `import type`, which Node's type stripping (and tsc for the published build) erases. This runs
// the real CLI against a scripted API server, with an exec plugin for credentials, and lists
// every module the process loaded.
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { chmod, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { eventually } from "../../test/support/eventually.ts";
import { FakeApiServer, sendJson } from "../../test/support/fake-api-server.ts";

const root = path.resolve(import.meta.dirname, "../..");
const bin = path.join(root, "bin/kubeburst.js");
const recorder = path.join(root, "test/support/record-modules.ts");

test("kubeburst run never loads @kubernetes/client-node", async (t) => {
  const dir = await mkdtemp(path.join(tmpdir(), "kubeburst-modules-"));
  const fake = await FakeApiServer.start();
  fake.handler = (_req, res) =>
    sendJson(res, 200, {
      kind: "List",
      apiVersion: "v1",
      metadata: { resourceVersion: "1" },
      items: [],
    });
  try {
    const plugin = path.join(dir, "plugin.sh");
    await writeFile(
      plugin,
      `#!/bin/sh\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"from-plugin"}}'\n`,
    );
    await chmod(plugin, 0o755);
    const kubeconfig = path.join(dir, "production.kubeconfig");
    await writeFile(
      kubeconfig,
      JSON.stringify({
        "current-context": "c",
        contexts: [{ name: "c", context: { cluster: "c", user: "u" } }],
        clusters: [{ name: "c", cluster: { server: fake.url } }],
        users: [
          {
            name: "u",
            user: { exec: { apiVersion: "client.authentication.k8s.io/v1", command: plugin } },
          },
        ],
      }),
    );
    const config = path.join(dir, "kubeburst.yaml");
    await writeFile(
      config,
      [
        "clusters:",
        "  - name: private",
        "    role: production",
        `    kubeconfig: ${JSON.stringify(kubeconfig)}`,
        "    allowInsecureKubeconfig: true",
        "metrics:",
        '  address: "off"',
      ].join("\n"),
    );
    const log = path.join(dir, "modules");
    const child = spawn(process.execPath, ["--import", recorder, bin, "run", "--config", config], {
      env: { ...process.env, KUBEBURST_TEST_MODULE_LOG: log, KUBEBURST_LOG_LEVEL: "warn" },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on("close", resolve));
    try {
      // Running for real: the exec plugin's token has reached the API server.
      await eventually("kubeburst sends authenticated requests", () => {
        assert.equal(child.exitCode, null, `kubeburst exited early: ${stderr}`);
        assert.ok(
          fake.seen.some((r) => r.headers.authorization === "Bearer from-plugin"),
          "no request with the plugin's token yet",
        );
      });
    } finally {
      if (child.exitCode === null) child.kill("SIGTERM");
      await exited;
    }
    const loaded = (await readFile(log, "utf8")).trim().split("\n");
    const files = loaded.filter((url) => url.startsWith("file:"));
    t.diagnostic(`${files.length} modules loaded from files`);
    for (const own of ["bin/kubeburst.js", "src/cli/run-command.ts", "src/kube/credentials.ts"]) {
      assert.ok(files.includes(new URL(own, `file://${root}/`).href), `${own} is recorded`);
    }
    const clientNode = files.filter((url) => url.includes("/@kubernetes/client-node/"));
    assert.equal(
      clientNode.length,
      0,
      `${clientNode.length} modules of @kubernetes/client-node loaded, the first ${clientNode[0]}`,
    );
  } finally {
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  }
});
