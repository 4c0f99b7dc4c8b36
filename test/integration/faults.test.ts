// Failures on real clusters (SPEC B3, B6, section 5): peak API servers that die, flap or revoke
// kubeburst's credentials, a production API server that restarts, kubeburst killed mid-write,
// and a peak with 5,000 endpoints for one Service.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import { LocalCloud } from "../../src/localcloud/local-cloud.ts";
import { applyRbacManifest } from "../../src/localcloud/rbac-manifest.ts";
import { cleanUp } from "../support/cleanup.ts";
import { eventually, holdsFor } from "../support/eventually.ts";
import {
  createService,
  createSlices,
  deleteObject,
  eventsAbout,
  OURS,
  readiness,
  slicesOf,
} from "../support/kube-fixtures.ts";
import { waitSettled } from "../support/kubeburst-settled.ts";
import { assertHoldsExactly, editFirstSliceMidWrite } from "../support/mid-write-edit.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const PRODUCTION = { "kubeburst.io/role": "production" };
const PEAK = { "kubeburst.io/role": "peak" };
/**
 * Longer than one API server restart plus kubeburst's reconnect back-off (a quarter of staleTTL at
 * most): 5–8 s here idle, up to 11 s seen on a busy two-core machine.
 */
const STALE_TTL_MS = 15_000;
const repoRoot = path.resolve(import.meta.dirname, "../..");

describe("failures", { timeout: 1_200_000 }, () => {
  let cloud: LocalCloud;
  let dir: string;
  let configPath: string;
  let kb: KubeburstProcess;
  let restarts = 0;
  const api = (cluster: string) => cloud.cluster(cluster).client;

  const ourSlices = (name: string) => slicesOf(api("private"), "shop", name, OURS);
  const fromCluster = async (name: string, cluster: string) =>
    readiness(
      (await ourSlices(name)).filter(
        (s) => s.metadata?.labels?.["kubeburst.io/source-cluster"] === cluster,
      ),
    );

  /** Applies every object of a manifest in deploy/ (the same files operators apply). */
  /** Hand-written peak slices of 100 endpoints each. */
  const peakSlices = (cluster: string, service: string, addresses: string[]) =>
    createSlices(api(cluster), "shop", service, addresses);

  /** `count` addresses in public-2's range (198.18.40.1 onwards). */
  const bulkAddresses = (count: number) =>
    Array.from({ length: count }, (_, i) => `198.18.${40 + Math.floor(i / 250)}.${(i % 250) + 1}`);

  /** A production Service and its selector-less peak twins (their slices are hand-written). */
  const pair = async (name: string, peaks: string[]) => {
    await createService(api("private"), { namespace: "shop", name, labels: PRODUCTION });
    for (const p of peaks) await createService(api(p), { namespace: "shop", name, labels: PEAK });
  };

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-faults-"));
    cloud = await LocalCloud.start(
      [
        { name: "private", controllerManager: true },
        { name: "public", controllerManager: true },
        { name: "public-2", controllerManager: true },
      ],
      { log },
    );
    for (const name of cloud.clusterNames()) {
      await cloud.addNode(name, "node-1", { dataPath: false });
      await cloud.ensureNamespace(name, "shop");
    }
    // In "public", kubeburst has its own identity with only the rights deploy/ grants.
    await applyRbacManifest(cloud, "public", path.join(repoRoot, "deploy", "rbac-peak.yaml"));
    const kubeconfigs = {
      private: cloud.cluster("private").kubeconfig,
      public: await cloud.cluster("public").serviceAccountKubeconfig("kubeburst", "kubeburst"),
      "public-2": cloud.cluster("public-2").kubeconfig,
    };
    for (const [name, text] of Object.entries(kubeconfigs)) {
      await writeFile(path.join(dir, `${name}.kubeconfig`), text, { mode: 0o600 });
    }
    configPath = path.join(dir, "kubeburst.yaml");
    await writeFile(
      configPath,
      stringify({
        clusters: [
          // No ranges configured: kubeburst reads production's node and Service ranges itself.
          { name: "private", role: "production", kubeconfig: "private.kubeconfig" },
          {
            name: "public",
            role: "peak",
            kubeconfig: "public.kubeconfig",
            allowedCIDRs: [cloud.podRange("public")],
          },
          {
            name: "public-2",
            role: "peak",
            kubeconfig: "public-2.kubeconfig",
            allowedCIDRs: ["198.18.32.0/19"],
            maxEndpointsPerService: 3000,
          },
        ],
        staleTTL: `${STALE_TTL_MS}ms`,
        // As the README advises for a short staleTTL: at most a quarter of it.
        api: { probeInterval: "3s" },
        discoveryInterval: "1s",
        syncTimeout: "30s",
        metrics: { address: "127.0.0.1:0" },
      }),
    );
    kb = await KubeburstProcess.start(configPath, dir);
    await kb.waitReady();
  });

  after(async () => {
    await cleanUp([
      () => kb?.stop(),
      () => cloud?.close(),
      () => {
        if (dir && !process.env.KUBEBURST_KEEP_LOGS)
          return rm(dir, { recursive: true, force: true });
      },
    ]);
  });

  test("production's own node and Service addresses are refused from a peak even when not configured", async () => {
    await pair("inside", ["public-2"]);
    const node = cloud.nodes("private")[0]!.address;
    const serviceIp = "198.19.0.50"; // inside private's ServiceCIDR
    await peakSlices("public-2", "inside", [node, serviceIp, "198.18.40.7"]);
    await eventually("only the peak's own address is written", async () => {
      assert.deepEqual(await fromCluster("inside", "public-2"), { "198.18.40.7": true });
    });
    await eventually("both refusals are counted", async () => {
      assert.equal(
        await kb.metric("kubeburst_refused_endpoints", {
          cluster: "public-2",
          reason: "production-range",
        }),
        2,
      );
    });
  });

  test("a dead peak API server: endpoints kept for staleTTL, then withdrawn, then restored; the other peak keeps working", async () => {
    await createService(api("private"), { namespace: "shop", name: "web", labels: PRODUCTION });
    for (const peak of ["public", "public-2"]) {
      await createService(api(peak), {
        namespace: "shop",
        name: "web",
        labels: PEAK,
        selector: { app: "web" },
      });
    }
    const pod = (cluster: string, name: string) =>
      cloud.addPod(cluster, { name, namespace: "shop", labels: { app: "web" }, serve: false });
    const [a, b, c] = [
      await pod("public", "a"),
      await pod("public", "b"),
      await pod("public-2", "c"),
    ];
    await eventually("both peaks contribute", async () => {
      assert.deepEqual(await fromCluster("web", "public"), { [a.ip]: true, [b.ip]: true });
      assert.deepEqual(await fromCluster("web", "public-2"), { [c.ip]: true });
    });

    // From the moment it starts to go: kubeburst may notice before the stop has finished, and
    // must not withdraw before staleTTL even then.
    const down = Date.now();
    await cloud.cluster("public").stopApiserver();
    // The point: for the first half of staleTTL, nothing of public's may go.
    await holdsFor("public's endpoints kept within staleTTL", STALE_TTL_MS / 2, async () =>
      assert.deepEqual(await fromCluster("web", "public"), { [a.ip]: true, [b.ip]: true }),
    );
    const d = await pod("public-2", "d");
    await eventually("the healthy peak's change goes through meanwhile", async () => {
      assert.deepEqual(await fromCluster("web", "public-2"), { [c.ip]: true, [d.ip]: true });
    });
    await eventually(
      "withdrawn after staleTTL",
      async () => assert.deepEqual(await fromCluster("web", "public"), {}),
      { timeoutMs: STALE_TTL_MS + 20_000 },
    );
    const withdrawnAfter = Date.now() - down;
    log(
      `public's endpoints withdrawn ${withdrawnAfter} ms after its API server died (staleTTL ${STALE_TTL_MS} ms)`,
    );
    assert.ok(withdrawnAfter >= STALE_TTL_MS, "never withdrawn before staleTTL");
    await eventually("the metrics say withdrawn and unreachable", async () => {
      assert.equal(await kb.metric("kubeburst_cluster_withdrawn", { cluster: "public" }), 1);
      assert.equal(
        await kb.metric("kubeburst_cluster_state", { cluster: "public", state: "unreachable" }),
        1,
      );
    });

    await cloud.cluster("public").restartApiserver();
    const up = Date.now();
    await eventually(
      "restored once it syncs again",
      async () =>
        assert.deepEqual(await fromCluster("web", "public"), { [a.ip]: true, [b.ip]: true }),
      { timeoutMs: 60_000 },
    );
    log(`restored ${Date.now() - up} ms after the API server came back`);
    await eventually("the metric says restored", async () =>
      assert.equal(await kb.metric("kubeburst_cluster_withdrawn", { cluster: "public" }), 0),
    );
    await eventually("the production Service's owners were told, step by step", async () => {
      const reasons = new Set(
        (await eventsAbout(api("private"), "shop", "web")).map((e) => e.reason),
      );
      for (const reason of ["PeakStale", "PeakWithdrawn", "PeakRestored"]) {
        assert.ok(reasons.has(reason), `${reason} in ${[...reasons].join(", ")}`);
      }
    });
  });

  test("a flapping peer causes no writes while each outage is shorter than staleTTL", async () => {
    const { writes: before } = await waitSettled(kb);
    const expected = await fromCluster("web", "public");
    let longest = 0;
    const state = (name: string) =>
      kb.metric("kubeburst_cluster_state", { cluster: "public", state: name });
    for (let i = 0; i < 4; i++) {
      // A crash, so the outage starts now: a graceful stop keeps the server half-up for seconds.
      const down = Date.now();
      await cloud.cluster("public").killApiserver();
      await eventually("kubeburst sees public unreachable", async () =>
        assert.equal(await state("unreachable"), 1),
      );
      // Down for as long as its restart takes; kubeburst sees its reconnect back-off on top.
      await cloud.cluster("public").restartApiserver();
      const up = Date.now();
      await eventually("public synced again", async () => assert.equal(await state("synced"), 1));
      const outage = Date.now() - down;
      longest = Math.max(longest, outage);
      log(`outage ${i + 1}: ${outage} ms as kubeburst saw it (up again after ${up - down} ms)`);
    }
    // Whatever the last outage set off has run its course before we count.
    const writes = (await waitSettled(kb)).writes - before;
    log(`4 outages of public: ${writes} writes`);
    // An outage that a slow machine stretched past staleTTL would rightly withdraw: say so.
    assert.equal(writes, 0, `longest outage ${longest} ms, staleTTL ${STALE_TTL_MS} ms`);
    assert.deepEqual(await fromCluster("web", "public"), expected);
  });

  test("revoked credentials in a peak: kept for staleTTL, withdrawn, restored when granted again", async () => {
    const expected = await fromCluster("web", "public");
    const binding = "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeburst-peak-reader";
    const saved = await api("public").request<Record<string, unknown>>({
      method: "GET",
      path: binding,
    });
    await deleteObject(api("public"), binding);
    // Open watches keep their authorisation until they end; restart the server to end them now.
    await cloud.cluster("public").restartApiserver();
    await eventually("kubeburst sees its credentials refused", async () =>
      assert.equal(
        await kb.metric("kubeburst_cluster_state", { cluster: "public", state: "refused" }),
        1,
      ),
    );
    assert.deepEqual(await fromCluster("web", "public"), expected, "kept within staleTTL");
    await eventually(
      "withdrawn after staleTTL",
      async () => assert.deepEqual(await fromCluster("web", "public"), {}),
      { timeoutMs: STALE_TTL_MS + 20_000 },
    );
    const { metadata, ...rest } = saved as { metadata: { name: string } };
    await api("public").request({
      method: "POST",
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      body: { ...rest, metadata: { name: metadata.name } },
    });
    await eventually(
      "restored once granted again",
      async () => assert.deepEqual(await fromCluster("web", "public"), expected),
      { timeoutMs: 60_000 },
    );
  });

  test("the production API server restarts: kubeburst carries on, nothing duplicated", async () => {
    await cloud.cluster("private").restartApiserver();
    const e = await cloud.addPod("public-2", {
      name: "e",
      namespace: "shop",
      labels: { app: "web" },
      serve: false,
    });
    await eventually(
      "a change after the restart is written",
      async () => assert.equal((await fromCluster("web", "public-2"))[e.ip], true),
      { timeoutMs: 60_000 },
    );
    await waitSettled(kb);
    const names = (await ourSlices("web")).map((s) => s.metadata?.name);
    assert.equal(new Set(names).size, names.length);
    assert.equal(names.length, 2, "one slice per peak cluster");
  });

  test("killed mid-write and restarted: the end state is exact, nothing duplicated or lost", async () => {
    const addresses = bulkAddresses(1200);
    await pair("bulk", ["public-2"]);
    await peakSlices("public-2", "bulk", addresses);
    // Kill it as soon as the first of its 12 slices exists.
    await eventually(
      "the first slice is written",
      async () => assert.ok((await ourSlices("bulk")).length > 0),
      {
        timeoutMs: 30_000,
        intervalMs: 5,
      },
    );
    await kb.kill();
    const atKill = (await ourSlices("bulk")).length;
    log(`killed with ${atKill} of 12 slices written`);
    kb = await KubeburstProcess.start(configPath, dir, `kubeburst-restart-${++restarts}`);
    await kb.waitReady();
    await eventually("the end state is exact", async () => {
      const slices: V1EndpointSlice[] = await ourSlices("bulk");
      const written = slices.flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses));
      assert.equal(slices.length, 12);
      assert.equal(written.length, addresses.length, "no address twice");
      assert.deepEqual([...written].sort(), [...addresses].sort());
      for (const s of slices) assert.ok((s.endpoints ?? []).length <= 100);
    });
  });

  // The echo of our own write and someone else's edit can reach kubeburst while it is still
  // writing the Service's other slices. The writer must tell "the cache has not caught up with my
  // write yet" from "the cache moved past it": it remembers the version the cache showed before
  // its write, and any other version means the cache is current again.
  test("someone else's edit of a slice of ours, made while kubeburst is still writing that Service, is undone", async () => {
    const addresses = bulkAddresses(1200);
    const edit = await editFirstSliceMidWrite({
      production: api("private"),
      peak: api("public-2"),
      namespace: "shop",
      service: "contested",
      addresses,
      settled: () => waitSettled(kb),
    });
    log(`edited ${edit.name} with ${edit.writtenWhenEdited} of 12 slices written`);
    // The resync is 600 s: only the watch can undo the edit within these 30 s.
    await eventually(
      "every slice written, the edited one put back",
      async () => {
        const slices = await ourSlices("contested");
        assert.equal(slices.length, 12);
        assertHoldsExactly(slices, addresses);
      },
      { timeoutMs: 30_000 },
    );
  });

  test("5,000 endpoints for one Service: sliced by 100, capped at maxEndpointsPerService", async () => {
    await pair("huge", ["public-2"]);
    await peakSlices("public-2", "huge", bulkAddresses(5000));
    await eventually(
      "3,000 endpoints in slices of 100",
      async () => {
        const slices = await ourSlices("huge");
        const count = slices.reduce((n, s) => n + (s.endpoints ?? []).length, 0);
        assert.equal(count, 3000);
        assert.equal(slices.length, 30);
      },
      { timeoutMs: 60_000 },
    );
    await eventually("the 2,000 left out are counted and reported in an Event", async () => {
      assert.equal(
        await kb.metric("kubeburst_refused_endpoints", { cluster: "public-2", reason: "cap" }),
        2000,
      );
      // Earlier Events may tell of the cap while the peak's slices were still being created.
      const events = await eventsAbout(api("private"), "shop", "huge");
      const truncated = events.filter((e) => e.reason === "PeakEndpointsTruncated");
      assert.ok(
        truncated.some((e) => /3000 kept, 2000 left out/.test(e.message ?? "")),
        JSON.stringify(truncated.map((e) => e.message)),
      );
    });
  });
});
