// The local cloud itself: real clusters side by side, a real data path through kube-proxy, and
// a teardown that leaves nothing behind.
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { after, before, describe, test } from "node:test";
import { KubeApiError } from "../../src/kube/kube-api-error.ts";
import { KubeClient } from "../../src/kube/kube-client.ts";
import { kubeconfigFromText } from "../../src/kube/load-kubeconfig.ts";
import { kubeconfigYaml } from "../../src/localcloud/certs.ts";
import { LocalCloud } from "../../src/localcloud/local-cloud.ts";
import { listNamespaces } from "../../src/localcloud/network-namespaces.ts";
import { eventually } from "../support/eventually.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);

describe("local cloud", { timeout: 600_000 }, () => {
  let cloud: LocalCloud;

  before(async () => {
    cloud = await LocalCloud.start([{ name: "alpha", controllerManager: true }, { name: "beta" }], {
      log,
    });
  });

  after(async () => {
    await cloud.close();
  });

  test("two clusters run side by side and each refuses the other's client", async () => {
    const alpha = cloud.cluster("alpha");
    const beta = cloud.cluster("beta");
    const versions = await Promise.all(
      [alpha, beta].map((c) =>
        c.client.request<{ gitVersion: string }>({ method: "GET", path: "/version" }),
      ),
    );
    for (const v of versions) assert.match(v.gitVersion, /^v1\.\d+\.\d+$/);
    assert.notEqual(alpha.server, beta.server);

    // alpha's admin certificate, presented to beta (whose CA we trust so TLS itself succeeds).
    const pki = alpha.pki!;
    const crossed = kubeconfigYaml(
      "crossed",
      beta.server,
      readFileSync(beta.pki!.caCert, "utf8"),
      readFileSync(pki.adminCert, "utf8"),
      readFileSync(pki.adminKey, "utf8"),
    );
    const client = new KubeClient(kubeconfigFromText(crossed), { timeoutMs: 5_000 });
    try {
      await assert.rejects(
        client.request({ method: "GET", path: "/api/v1/namespaces" }),
        (err: unknown) => err instanceof KubeApiError && err.kind === "unauthorized",
      );
    } finally {
      client.close();
    }

    // alpha's own kubeconfig against beta's address: beta's serving cert is not trusted.
    const client2 = new KubeClient(
      kubeconfigFromText(alpha.kubeconfig.replace(alpha.server, beta.server)),
      { timeoutMs: 5_000 },
    );
    try {
      await assert.rejects(
        client2.request({ method: "GET", path: "/api/v1/namespaces" }),
        (err: unknown) => err instanceof KubeApiError && err.kind === "unauthorized",
      );
    } finally {
      client2.close();
    }
  });

  test("a Service's pods get a native EndpointSlice and kube-proxy balances to both", async () => {
    const alpha = cloud.cluster("alpha");
    const node = await cloud.addNode("alpha", "node-1");
    const labels = { app: "web" };
    await Promise.all([
      cloud.addPod("alpha", { name: "web-1", labels }),
      cloud.addPod("alpha", { name: "web-2", labels }),
    ]);
    const svc = await alpha.client.request<{ spec: { clusterIP: string } }>({
      method: "POST",
      path: "/api/v1/namespaces/default/services",
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "web" },
        spec: { selector: labels, ports: [{ name: "http", port: 80, targetPort: "http" }] },
      },
    });

    await eventually("kube-controller-manager writes a slice with both pods ready", async () => {
      const list = await alpha.client.request<{
        items: { endpoints?: { addresses: string[]; conditions?: { ready?: boolean } }[] }[];
      }>({
        method: "GET",
        path: "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
        query: { labelSelector: "kubernetes.io/service-name=web" },
      });
      const ready = list.items.flatMap((s) => s.endpoints ?? []).filter((e) => e.conditions?.ready);
      assert.equal(ready.length, 2);
    });

    await eventually("100 requests through kube-proxy reach both pods", async () => {
      const result = await cloud.httpFromNode(node, `http://${svc.spec.clusterIP}:80/`, 100);
      assert.equal(result.failed, 0, JSON.stringify(result));
      assert.deepEqual(Object.keys(result.byPod).sort(), ["alpha/web-1", "alpha/web-2"]);
      log(`served: ${JSON.stringify(result.byPod)}`);
    });
  });
});

test("teardown leaves no process, namespace, folder or mount behind", async () => {
  const cloud = await LocalCloud.start([{ name: "gamma" }], { log });
  await cloud.addNode("gamma", "node-1");
  await cloud.addPod("gamma", { name: "p-1" });
  const { pids, namespaces } = cloud.leftovers();
  assert.ok(pids.length >= 4, `expected etcd, apiserver, forwarder, kube-proxy, pod: ${pids}`);
  assert.ok(namespaces.length >= 3);
  const dir = cloud.dir;
  await cloud.close();

  for (const pid of pids) {
    assert.throws(() => process.kill(pid, 0), { code: "ESRCH" }, `process ${pid} still runs`);
  }
  const remaining = await listNamespaces();
  for (const ns of namespaces) assert.ok(!remaining.includes(ns), `namespace ${ns} left`);
  assert.equal(existsSync(dir), false, `${dir} left`);
  assert.equal(existsSync(`/dev/shm/kubeburst-${cloud.runId}`), false);
  const mounts = readFileSync("/proc/mounts", "utf8");
  assert.ok(!mounts.includes(`kb${cloud.runId}`), "a namespace mount is left");
  assert.deepEqual(cloud.leftovers(), { pids: [], namespaces: [] });
});
