// Fail closed (SPEC B1, B15): what kubeburst does not know about production's own addresses is
// never treated as "nothing to deny". kubeburst runs with an identity that has exactly
// deploy/rbac-production.yaml in production, so the test can take rights away.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import { LocalCloud } from "../../src/localcloud/local-cloud.ts";
import { applyRbacManifest } from "../../src/localcloud/rbac-manifest.ts";
import { eventually, holdsFor } from "../support/eventually.ts";
import {
  createService,
  createSlice,
  eventsAbout,
  OURS,
  readiness,
  slicesOf,
} from "../support/kube-fixtures.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const repoRoot = path.resolve(import.meta.dirname, "../..");
/** Production's API server says it is here (as behind a load balancer), not at 127.0.0.1. */
const ADVERTISED = "198.18.31.250";
/** A production Node whose address lies inside the peak's allowed range. */
const NODE_ADDRESS = "198.18.31.251";
/** Peak endpoints that are fine. */
const [A, B] = ["198.18.17.10", "198.18.17.11"];

describe("fail closed on production's own ranges", { timeout: 600_000 }, () => {
  let cloud: LocalCloud;
  let dir: string;
  let kb: KubeburstProcess | undefined;
  const api = (cluster: string) => cloud.cluster(cluster).client;
  const ours = async () => readiness(await slicesOf(api("private"), "shop", "web", OURS));
  const refused = (reason: string) =>
    kb!.metric("kubeburst_refused_endpoints", { cluster: "public", reason });

  /** deploy/rbac-production.yaml in production, without the rule for `resource` when asked. */
  const productionRbac = (without?: string) =>
    applyRbacManifest(
      cloud,
      "private",
      path.join(repoRoot, "deploy", "rbac-production.yaml"),
      without,
    );

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-fail-closed-"));
    cloud = await LocalCloud.start(
      [
        {
          name: "private",
          // The local cloud turns the reconciler of default/kubernetes off (its usual address,
          // 127.0.0.1, is no valid endpoint); with a real address it runs as in any cluster.
          apiserverArgs: [`--advertise-address=${ADVERTISED}`, "--endpoint-reconciler-type=lease"],
        },
        { name: "public" },
      ],
      { log },
    );
    for (const name of cloud.clusterNames()) await cloud.ensureNamespace(name, "shop");
    await api("private").request({
      method: "POST",
      path: "/api/v1/nodes",
      body: { apiVersion: "v1", kind: "Node", metadata: { name: "edge-1" } },
    });
    await api("private").request({
      method: "PATCH",
      path: "/api/v1/nodes/edge-1/status",
      contentType: "application/merge-patch+json",
      body: { status: { addresses: [{ type: "InternalIP", address: NODE_ADDRESS }] } },
    });
    // Nodes are not readable yet: production's ranges cannot be known.
    await productionRbac("nodes");
    await writeFile(
      path.join(dir, "private.kubeconfig"),
      await cloud.cluster("private").serviceAccountKubeconfig("kubeburst", "kubeburst"),
      { mode: 0o600 },
    );
    await writeFile(
      path.join(dir, "kubeburst.yaml"),
      stringify({
        clusters: [
          { name: "private", role: "production", kubeconfig: "private.kubeconfig" },
          {
            name: "public",
            role: "peak",
            kubeconfig: cloud.cluster("public").kubeconfigPath,
            allowedCIDRs: [cloud.podRange("public")],
          },
        ],
        syncTimeout: "3s",
        api: { probeInterval: "1s" },
        metrics: { address: "127.0.0.1:0" },
      }),
    );
    await createService(api("private"), {
      namespace: "shop",
      name: "web",
      labels: { "kubeburst.io/role": "production" },
    });
    await createService(api("public"), {
      namespace: "shop",
      name: "web",
      labels: { "kubeburst.io/role": "peak" },
    });
    await createSlice(api("public"), "shop", "web", "web-1", [A, ADVERTISED, NODE_ADDRESS]);
    kb = await KubeburstProcess.start(path.join(dir, "kubeburst.yaml"), dir);
  });

  after(async () => {
    await kb?.stop();
    await cloud?.close();
    if (dir && !process.env.KUBEBURST_KEEP_LOGS) await rm(dir, { recursive: true, force: true });
  });

  test("until production's Nodes have been listed, no peak endpoint is admitted, and it says why", async () => {
    await eventually("the peak has synced", async () => {
      assert.equal(
        await kb!.metric("kubeburst_cluster_state", { cluster: "public", state: "synced" }),
        1,
      );
    });
    const ready = await kb!.get("/readyz");
    assert.equal(ready.status, 503);
    assert.match(ready.text, /\/api\/v1\/nodes \(forbidden/);
    assert.match(
      ready.text,
      /no peak endpoint is admitted until production's own ranges are known/,
    );
    assert.equal(await kb!.metric("kubeburst_production_ranges_known"), 0);
    // Nothing may be written meanwhile, however long it lasts: sample for a while.
    await holdsFor("nothing written while production's ranges are unknown", 3_000, async () =>
      assert.deepEqual(await ours(), {}),
    );
  });

  test("once they are readable, the allowed endpoint is written and production's own are refused", async () => {
    await productionRbac();
    await eventually(
      "the allowed endpoint is written",
      async () => assert.deepEqual(await ours(), { [A]: true }),
      { timeoutMs: 90_000 },
    );
    assert.equal(await kb!.metric("kubeburst_production_ranges_known"), 1);
    assert.equal(await refused("production-range"), 2, "the node's and the advertised address");
    const events = await eventsAbout(api("private"), "shop", "web");
    const event = events.find((e) => e.reason === "PeakEndpointsRefused");
    assert.match(
      event?.message ?? "",
      new RegExp(`${ADVERTISED.replaceAll(".", "\\.")} \\(production-range\\)`),
    );
  });

  test("a failed list of Nodes keeps the last known ranges", async () => {
    await productionRbac("nodes");
    // Restarting the API server makes every production informer list again (the probe sees
    // the outage); the Nodes list now fails.
    await cloud.cluster("private").restartApiserver();
    await eventually(
      "production's Nodes cannot be listed",
      async () => {
        const lines = await kb!.logLines();
        assert.ok(
          lines.some(
            (l) =>
              l.msg === "informer failed; retrying" && String(l.reason).includes("/api/v1/nodes"),
          ),
        );
      },
      { timeoutMs: 90_000 },
    );
    // A peak change is judged against the last known ranges, not against none.
    await api("public").request({
      method: "DELETE",
      path: "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/web-1",
    });
    await createSlice(api("public"), "shop", "web", "web-1", [A, B, ADVERTISED, NODE_ADDRESS]);
    await eventually("the new allowed endpoint is written", async () => {
      assert.deepEqual(await ours(), { [A]: true, [B]: true });
    });
    assert.equal(await refused("production-range"), 2);
  });
});
