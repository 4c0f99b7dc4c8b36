// The forwarding controller end to end on real API servers (SPEC M1–M8): a private production
// cluster and two public peak clusters, each with kube-controller-manager making the native
// slices, and `kubeburst run` as a child process driven only through its config file, Secrets
// and the clusters.
//
// kubeburst runs with the default resync (600 s, far longer than any wait here), so every change
// below reaches production through watch events alone: a lost or mishandled event fails a test
// instead of being healed quietly by a resync. Only the "with a 5 s resync" block turns it on.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import { LocalCloud, type LocalPod } from "../../src/localcloud/local-cloud.ts";
import { cleanUp } from "../support/cleanup.ts";
import { eventually, holdsFor } from "../support/eventually.ts";
import {
  createService,
  createSlice,
  deleteObject,
  endpointsAddresses,
  eventsAbout,
  getEndpoints,
  labelService,
  OURS,
  readiness,
  slicesOf,
} from "../support/kube-fixtures.ts";
import { sampleWork, waitSettled } from "../support/kubeburst-settled.ts";
import { assertHoldsExactly, editFirstSliceMidWrite } from "../support/mid-write-edit.ts";

const cli = fileURLToPath(new URL("../../bin/kubeburst.js", import.meta.url));
const log = (line: string) => process.stderr.write(`# ${line}\n`);
const PRODUCTION = { "kubeburst.io/role": "production" };
const PEAK = { "kubeburst.io/role": "peak" };
async function runCli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [cli, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: e.code ?? -1, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
  }
}

/** Generous for two busy cores; each check reports how long it really took. */
const within = { timeoutMs: 60_000, intervalMs: 50 };
/** The resync of the block that tests resyncs; every other test runs with the default 600 s. */
const SHORT_RESYNC_MS = 5_000;

describe("forwarding controller on three clusters", { timeout: 1_200_000 }, () => {
  let cloud: LocalCloud;
  let dir: string;
  let kb: KubeburstProcess | undefined;
  const kubeconfigs: Record<string, string> = {};

  const api = (cluster: string) => cloud.cluster(cluster).client;
  const ip = (pod: LocalPod) => pod.ip;

  /**
   * Writes a config file: private + public-a, plus `extraPeaks`. `kubeburst.yaml` unless `file`
   * names another. No `resyncPeriod` unless given: the default (600 s) applies.
   */
  async function writeConfig(
    options: { extraPeaks?: string[]; mode?: string; resyncPeriod?: string; file?: string } = {},
  ): Promise<string> {
    // Each peak may use only its own range; production's ranges are always refused.
    const peak = (name: string) => ({
      name,
      role: "peak",
      kubeconfig: kubeconfigs[name],
      allowedCIDRs: [cloud.podRange(name)],
    });
    const config = {
      clusters: [
        {
          name: "private",
          role: "production",
          kubeconfig: kubeconfigs.private,
          podCIDRs: [cloud.podRange("private")],
          serviceCIDRs: [cloud.cluster("private").serviceCIDR],
        },
        peak("public-a"),
        ...(options.extraPeaks ?? []).map(peak),
      ],
      discoveryInterval: "1s",
      ...(options.resyncPeriod ? { resyncPeriod: options.resyncPeriod } : {}),
      syncTimeout: "60s",
      workers: 4,
      mode: options.mode ?? "endpointslice",
      metrics: { address: "127.0.0.1:0" },
    };
    const file = path.join(dir, options.file ?? "kubeburst.yaml");
    // Written whole and renamed, as an editor or a ConfigMap update does: never read half-written.
    await writeFile(`${file}.tmp`, stringify(config));
    await rename(`${file}.tmp`, file);
    return file;
  }

  /** Every slice of ours in the production cluster, in every namespace. */
  async function allOurSlices(): Promise<V1EndpointSlice[]> {
    const list = await api("private").request<{ items: V1EndpointSlice[] }>({
      method: "GET",
      path: "/apis/discovery.k8s.io/v1/endpointslices",
      query: { labelSelector: OURS },
    });
    return list.items;
  }

  async function ourSlices(namespace: string, name: string): Promise<V1EndpointSlice[]> {
    return slicesOf(api("private"), namespace, name, OURS);
  }

  async function timed(what: string, check: () => Promise<void>): Promise<void> {
    const started = Date.now();
    await eventually(what, check, within);
    log(`${what}: ${Date.now() - started} ms`);
  }

  /** `namespace/name` → `metadata[field]` of every slice of ours. */
  async function ourSliceMeta(field: "uid" | "resourceVersion"): Promise<Record<string, string>> {
    return Object.fromEntries(
      (await allOurSlices()).map((s) => [
        `${s.metadata?.namespace}/${s.metadata?.name}`,
        s.metadata?.[field] ?? "",
      ]),
    );
  }

  /** The production Services (`namespace/name`) that have slices of ours. */
  async function servicesWithOurSlices(): Promise<string[]> {
    const keys = (await allOurSlices()).map(
      (s) => `${s.metadata?.namespace}/${s.metadata?.labels?.["kubernetes.io/service-name"]}`,
    );
    return [...new Set(keys)].sort();
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-forwarding-"));
    cloud = await LocalCloud.start(
      [
        { name: "private", controllerManager: true },
        { name: "public-a", controllerManager: true },
        { name: "public-b", controllerManager: true },
      ],
      { log },
    );
    for (const name of cloud.clusterNames()) {
      kubeconfigs[name] = cloud.cluster(name).kubeconfigPath;
      await cloud.addNode(name, "node-1", { dataPath: false });
      for (const ns of ["shop", "other"]) await cloud.ensureNamespace(name, ns);
    }
    kb = await KubeburstProcess.start(await writeConfig(), dir);
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

  test("check reaches every cluster, and names the one it cannot use", async () => {
    const ok = await runCli(["check", "--config", path.join(dir, "kubeburst.yaml")]);
    assert.equal(ok.code, 0, ok.stdout + ok.stderr);
    assert.match(ok.stdout, /^private +production +reach https:\/\/\S+ +ok +v1\.\d+\.\d+$/m);
    assert.match(ok.stdout, /^public-a +peak +reach https:\/\/\S+ +ok /m);
    assert.doesNotMatch(ok.stdout, / FAIL /);

    const broken = path.join(dir, "broken.kubeconfig");
    await writeFile(
      broken,
      cloud
        .cluster("public-a")
        .kubeconfig.replace(/client-key-data: .*/, "client-key: /nonexistent/client.key"),
    );
    const file = path.join(dir, "check-broken.yaml");
    await writeFile(
      file,
      stringify({
        clusters: [
          { name: "private", role: "production", kubeconfig: kubeconfigs.private },
          { name: "public-a", role: "peak", kubeconfig: broken, allowedCIDRs: ["198.18.0.0/15"] },
        ],
      }),
    );
    const bad = await runCli(["check", "--config", file]);
    assert.equal(bad.code, 1, bad.stdout + bad.stderr);
    assert.match(bad.stdout, /^public-a +peak +kubeconfig +FAIL +.*client-key: file reference/m);
  });

  test("the union appears in production and follows adds, removals and readiness", async () => {
    const prodSvc = await createService(api("private"), {
      namespace: "shop",
      name: "web",
      labels: PRODUCTION,
      selector: { app: "web" },
    });
    await createService(api("public-a"), {
      namespace: "shop",
      name: "web",
      labels: PEAK,
      selector: { app: "web" },
    });
    const pod = (cluster: string, name: string, ready = true) =>
      cloud.addPod(cluster, {
        name,
        namespace: "shop",
        labels: { app: "web" },
        serve: false,
        ready,
      });
    const [w1, w2] = [await pod("private", "web-1"), await pod("private", "web-2")];
    const [a1, a2] = [await pod("public-a", "web-a1"), await pod("public-a", "web-a2")];

    await timed("peak endpoints appear in production", async () => {
      assert.deepEqual(readiness(await ourSlices("shop", "web")), {
        [ip(a1)]: true,
        [ip(a2)]: true,
      });
    });
    const slices = await ourSlices("shop", "web");
    for (const s of slices) {
      assert.equal(s.metadata?.labels?.["kubeburst.io/source-cluster"], "public-a");
      assert.equal(s.addressType, "IPv4");
      assert.deepEqual(s.ports, [{ name: "http", port: 8080, protocol: "TCP" }]);
      assert.equal(s.metadata?.ownerReferences?.[0]?.uid, prodSvc.metadata?.uid);
      for (const e of s.endpoints ?? []) {
        assert.equal(e.nodeName, undefined, "no nodeName: kube-proxy must not treat it as local");
        assert.equal(e.targetRef, undefined);
      }
    }
    // kube-controller-manager's own slice for the production pods stays its own: it lists
    // exactly the production pods (once it has caught up with them; it works at its own pace).
    await timed("production's native slice holds exactly the production pods", async () => {
      const native = await slicesOf(
        api("private"),
        "shop",
        "web",
        "endpointslice.kubernetes.io/managed-by=endpointslice-controller.k8s.io",
      );
      assert.deepEqual(readiness(native), { [ip(w1)]: true, [ip(w2)]: true });
    });

    const a3 = await pod("public-a", "web-a3");
    await timed("an added peak pod appears", async () => {
      assert.equal(readiness(await ourSlices("shop", "web"))[ip(a3)], true);
    });
    await cloud.setPodReady(a1, false);
    await timed("a peak pod turned not ready is written not ready", async () => {
      assert.equal(readiness(await ourSlices("shop", "web"))[ip(a1)], false);
    });
    await cloud.setPodReady(a1, true);
    await timed("it turns ready again", async () => {
      assert.equal(readiness(await ourSlices("shop", "web"))[ip(a1)], true);
    });
    await cloud.removePod(a2);
    await timed("a removed peak pod disappears", async () => {
      assert.deepEqual(readiness(await ourSlices("shop", "web")), {
        [ip(a1)]: true,
        [ip(a3)]: true,
      });
    });
  });

  test("both label forms pair; unlabelled Services and other namespaces are untouched", async () => {
    const mk = async (
      cluster: string,
      namespace: string,
      name: string,
      labels: Record<string, string>,
    ) => {
      await createService(api(cluster), { namespace, name, labels, selector: { app: name } });
      if (cluster === "public-a") {
        await cloud.addPod(cluster, {
          name: `${name}-${namespace}-1`,
          namespace,
          labels: { app: name },
          serve: false,
        });
      }
    };
    // Must stay untouched:
    await mk("private", "shop", "plain", {});
    await mk("public-a", "shop", "plain", {});
    await mk("private", "other", "web", {}); // production side unlabelled
    await mk("public-a", "other", "web", PEAK);
    await mk("private", "shop", "api", PRODUCTION); // peak only in another namespace
    await mk("public-a", "other", "api", PEAK);
    await mk("private", "shop", "pinned", {
      ...PRODUCTION,
      "kubeburst.io/peer-cluster": "public-b",
    });
    await mk("public-a", "shop", "pinned", PEAK); // production pairs with public-b only
    // Must pair:
    await mk("private", "shop", "legacy", { "ex-remote": "false" });
    await mk("public-a", "shop", "legacy", { "ex-remote": "true", "peer-cluster": "private" });
    await mk("private", "shop", "mixed", {
      ...PRODUCTION,
      "kubeburst.io/peer-cluster": "public-a",
    });
    await mk("public-a", "shop", "mixed", { "ex-remote": "true" });

    const legacyPod = cloud.pods("public-a").find((p) => p.name === "legacy-shop-1")!;
    const mixedPod = cloud.pods("public-a").find((p) => p.name === "mixed-shop-1")!;
    await timed("the alias labels pair", async () => {
      assert.deepEqual(readiness(await ourSlices("shop", "legacy")), { [ip(legacyPod)]: true });
    });
    await timed("the kubeburst.io labels mixed with an alias pair", async () => {
      assert.deepEqual(readiness(await ourSlices("shop", "mixed")), { [ip(mixedPod)]: true });
    });
    // The Services that must stay untouched were created first; once kubeburst has settled
    // (queues empty, no write or reconcile for a while) it has handled all of them.
    await waitSettled(kb!);
    for (const [ns, name] of [
      ["shop", "plain"],
      ["other", "web"],
      ["shop", "api"],
      ["shop", "pinned"],
    ] as const) {
      assert.deepEqual(await ourSlices(ns, name), [], `${ns}/${name} must have no slices of ours`);
    }
    const services = new Set(
      (await allOurSlices()).map(
        (s) => `${s.metadata?.namespace}/${s.metadata?.labels?.["kubernetes.io/service-name"]}`,
      ),
    );
    assert.deepEqual([...services].sort(), ["shop/legacy", "shop/mixed", "shop/web"]);
  });

  test("unlabelling or deleting the peak withdraws at once; a deleted production Service leaves nothing", async () => {
    await createService(api("private"), {
      namespace: "shop",
      name: "cart",
      labels: PRODUCTION,
      selector: { app: "cart" },
    });
    await createService(api("public-a"), {
      namespace: "shop",
      name: "cart",
      labels: PEAK,
      selector: { app: "cart" },
    });
    const c1 = await cloud.addPod("public-a", {
      name: "cart-a1",
      namespace: "shop",
      labels: { app: "cart" },
      serve: false,
    });
    const present = async () =>
      assert.deepEqual(readiness(await ourSlices("shop", "cart")), { [ip(c1)]: true });
    const absent = async () => assert.deepEqual(await ourSlices("shop", "cart"), []);

    await timed("cart converges", present);
    await labelService(api("public-a"), "shop", "cart", { "kubeburst.io/role": null });
    await timed("an unlabelled peak is withdrawn", absent);
    await labelService(api("public-a"), "shop", "cart", PEAK);
    await timed("relabelled, it returns", present);
    await deleteObject(api("public-a"), "/api/v1/namespaces/shop/services/cart");
    await timed("a deleted peak Service is withdrawn", absent);
    await createService(api("public-a"), {
      namespace: "shop",
      name: "cart",
      labels: PEAK,
      selector: { app: "cart" },
    });
    await timed("recreated, it returns", present);
    // No garbage collector runs in private: kubeburst itself must clean up.
    await deleteObject(api("private"), "/api/v1/namespaces/shop/services/cart");
    await timed("a deleted production Service leaves no slice of ours", absent);
  });

  test("a peak's addresses outside its allowedCIDRs or inside production's ranges never reach production", async () => {
    await createService(api("private"), { namespace: "shop", name: "guarded", labels: PRODUCTION });
    await createService(api("public-a"), { namespace: "shop", name: "guarded", labels: PEAK });
    const allowed = "198.18.17.200";
    // A hand-written slice, as a compromised or careless peak could publish. (The API server
    // itself already refuses loopback, link-local and unspecified addresses.)
    const hostile = [allowed, "239.1.2.3", "198.18.40.1", "198.18.1.77"];
    await createSlice(api("public-a"), "shop", "guarded", "guarded-manual", hostile);
    await createSlice(
      api("public-a"),
      "shop",
      "guarded",
      "guarded-fqdn",
      ["metadata.google.internal"],
      "FQDN",
    );
    await timed("only the allowed address is written", async () => {
      assert.deepEqual(readiness(await ourSlices("shop", "guarded")), { [allowed]: true });
    });
    const refused = async (reason: string) =>
      kb!.metric("kubeburst_refused_endpoints", { cluster: "public-a", reason });
    await timed("each refusal is counted by reason", async () => {
      assert.equal(await refused("multicast"), 1);
      assert.equal(await refused("not-allowed"), 1);
      assert.equal(await refused("production-range"), 1);
      assert.equal(await refused("fqdn"), 1);
    });
    await timed("the production Service gets a Warning Event naming them", async () => {
      const events = await eventsAbout(api("private"), "shop", "guarded");
      const event = events.find((e) => e.reason === "PeakEndpointsRefused");
      assert.ok(event, JSON.stringify(events));
      assert.match(event.message ?? "", /239\.1\.2\.3 \(multicast\)/);
    });
  });

  test("an ExternalName production Service is refused with an Event", async () => {
    await api("private").request({
      method: "POST",
      path: "/api/v1/namespaces/shop/services",
      body: {
        apiVersion: "v1",
        kind: "Service",
        metadata: { name: "elsewhere", labels: PRODUCTION },
        spec: { type: "ExternalName", externalName: "db.example.com" },
      },
    });
    await createService(api("public-a"), { namespace: "shop", name: "elsewhere", labels: PEAK });
    await timed("the Event says why", async () => {
      const events = await eventsAbout(api("private"), "shop", "elsewhere");
      assert.ok(events.some((e) => e.reason === "ExternalNameNotSupported"));
    });
    assert.deepEqual(await ourSlices("shop", "elsewhere"), []);
  });

  describe("clusters added and removed at run time", () => {
    let b1: LocalPod;
    before(async () => {
      await createService(api("public-b"), {
        namespace: "shop",
        name: "web",
        labels: PEAK,
        selector: { app: "web" },
      });
      b1 = await cloud.addPod("public-b", {
        name: "web-b1",
        namespace: "shop",
        labels: { app: "web" },
        serve: false,
      });
    });
    const fromB = async () =>
      (await ourSlices("shop", "web")).filter(
        (s) => s.metadata?.labels?.["kubeburst.io/source-cluster"] === "public-b",
      );

    test("through the config file", async () => {
      try {
        await writeConfig({ extraPeaks: ["public-b"] });
        await timed("a cluster added to the file contributes", async () => {
          assert.deepEqual(readiness(await fromB()), { [ip(b1)]: true });
        });
        await writeConfig();
        await timed("a cluster removed from the file is withdrawn", async () => {
          assert.deepEqual(await fromB(), []);
        });
        assert.ok((await ourSlices("shop", "web")).length > 0, "public-a's slices stay");

        // A file that turns invalid is reported and ignored: the clusters keep running.
        const file = path.join(dir, "kubeburst.yaml");
        await writeFile(file, "clusters: [\n");
        await eventually("the broken file is reported", async () => {
          const lines = await kb!.logLines();
          assert.ok(lines.some((l) => String(l.msg).includes("is invalid; keeping the clusters")));
        });
        const late = await cloud.addPod("public-a", {
          name: "web-late",
          namespace: "shop",
          labels: { app: "web" },
          serve: false,
        });
        await timed("public-a still contributes while the file is broken", async () => {
          assert.equal(readiness(await ourSlices("shop", "web"))[ip(late)], true);
        });
      } finally {
        // The tests after this one expect the plain file, also when this one failed.
        await writeConfig();
      }
    });

    test("through a Secret", async () => {
      await cloud.ensureNamespace("private", "kubeburst");
      await api("private").request({
        method: "POST",
        path: "/api/v1/namespaces/kubeburst/secrets",
        body: {
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "public-b", labels: { "kubeburst.io/cluster": "true" } },
          stringData: {
            kubeconfig: cloud.cluster("public-b").kubeconfig,
            allowedCIDRs: cloud.podRange("public-b"),
          },
        },
      });
      await timed("a cluster registered by a Secret contributes", async () => {
        assert.deepEqual(readiness(await fromB()), { [ip(b1)]: true });
      });
      await deleteObject(api("private"), "/api/v1/namespaces/kubeburst/secrets/public-b");
      await timed("its Secret deleted, it is withdrawn", async () => {
        assert.deepEqual(await fromB(), []);
      });
    });
  });

  test("a slice of ours changed or deleted by someone else is restored, by the watch alone", async () => {
    // The resync is 600 s here: only the watch on kubeburst's own slices can bring them back
    // within the time each check allows.
    for (const cluster of ["private", "public-a"]) {
      await createService(api(cluster), {
        namespace: "shop",
        name: "restore",
        labels: cluster === "private" ? PRODUCTION : PEAK,
        selector: { app: "restore" },
      });
    }
    const pod = (name: string) =>
      cloud.addPod("public-a", {
        name,
        namespace: "shop",
        labels: { app: "restore" },
        serve: false,
      });
    const [r1, r2] = [await pod("restore-1"), await pod("restore-2")];
    const desired = { [ip(r1)]: true, [ip(r2)]: true };
    const restored = async () =>
      assert.deepEqual(readiness(await ourSlices("shop", "restore")), desired);
    await timed("shop/restore converges", restored);
    // kubeburst has handled the echo of its own write: what follows is someone else, later.
    await waitSettled(kb!);
    const name = (await ourSlices("shop", "restore"))[0]?.metadata?.name;
    assert.ok(name, "a slice of ours for shop/restore");
    const slicePath = `/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/${name}`;

    await api("private").request({
      method: "PATCH",
      path: slicePath,
      contentType: "application/merge-patch+json",
      body: { endpoints: [{ addresses: [ip(r1)], conditions: { ready: false } }] },
    });
    await timed("a slice of ours edited by someone else is put back", restored);

    // Frozen by its PID while the slice is deleted: the watch delivers the deletion on resume
    // (a delayed event, not a lost one).
    await waitSettled(kb!);
    const pid = kb!.pid;
    process.kill(pid, "SIGSTOP");
    try {
      await deleteObject(api("private"), slicePath);
      assert.deepEqual(await ourSlices("shop", "restore"), [], "deleted while kubeburst is frozen");
    } finally {
      process.kill(pid, "SIGCONT");
    }
    await timed("a slice of ours deleted while kubeburst was frozen is recreated", restored);
  });

  test("a restart after convergence deletes and recreates nothing", async () => {
    await waitSettled(kb!);
    const before = await ourSliceMeta("uid");
    const services = await servicesWithOurSlices();
    await kb!.stop();
    assert.equal(await kb!.exited, 0, "a clean stop on SIGTERM");
    kb = await KubeburstProcess.start(await writeConfig(), dir, "kubeburst-restarted");
    await kb.waitReady();
    // Once it has synced, the writer goes over every Service once (there is no resync to wait
    // for here). Then quiet: everything it was going to do, it has done.
    await timed("the restarted writer has looked at the Services with slices of ours", async () => {
      assert.ok((await kb!.metric("kubeburst_writer_noop_syncs_total")) >= services.length);
    });
    const settled = await waitSettled(kb);
    assert.deepEqual(await ourSliceMeta("uid"), before);
    assert.equal(settled.writes, 0, "writes by the restarted process");

    const status = await runCli(["status", "--address", kb.address]);
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.match(status.stdout, /: ready \(ok\)$/m);
    assert.match(status.stdout, /^ {2}private +production +synced +\d+ s ago /m);
    assert.match(status.stdout, /^ {2}public-a +peak +synced .*multicast=1/m);
    assert.match(status.stdout, /^writes: 0 ok, 0 failed;/m);
  });

  // Its own kubeburst process and config file: every test above must work without a resync.
  //
  // A watch event cannot be lost from outside the process: a watch that breaks resumes after the
  // last event it delivered; one too old for the server (410) relists, and a relist reports every
  // difference; a process frozen with SIGSTOP gets what it missed on resume (the test above). Nor
  // would a resync heal a lost event: like client-go's, it hands the *cached* objects to the
  // handlers again, it does not read the servers. What a resync heals is a change kubeburst
  // received and then failed to act on. Today one such change can be provoked from outside,
  // through a writer bug (described in faults.test.ts): the last test of this block. The others
  // prove what a resync must never do: write when nothing changed, or fight someone else's write.
  describe(`with a ${SHORT_RESYNC_MS / 1000} s resync`, () => {
    before(async () => {
      await kb?.stop();
      kb = undefined;
      const config = await writeConfig({
        resyncPeriod: `${SHORT_RESYNC_MS}ms`,
        file: "resync.yaml",
      });
      kb = await KubeburstProcess.start(config, dir, "kubeburst-resync");
      await kb.waitReady();
    });
    after(async () => {
      await kb?.stop();
      kb = undefined;
    });

    /**
     * Waits out `rounds` resync periods during which nothing may be written (the duration is the
     * point), then until the resyncs are seen to have run: each reconciles at least every Service
     * with slices of ours, finding nothing to do.
     */
    async function noWritesThroughResyncs(
      rounds: number,
      since: { writes: number; noops: number },
    ): Promise<void> {
      const services = (await servicesWithOurSlices()).length;
      await holdsFor(
        `no write during ${rounds} resync periods`,
        rounds * SHORT_RESYNC_MS,
        async () => assert.equal((await sampleWork(kb!)).writes, since.writes),
      );
      await eventually(
        `${rounds} resyncs ran, writing nothing`,
        async () => {
          const now = await sampleWork(kb!);
          assert.equal(now.writes, since.writes, "writes");
          assert.ok(
            now.noops - since.noops >= rounds * services,
            `${now.noops - since.noops} no-op reconciles of ${services} Services`,
          );
        },
        { timeoutMs: 2 * rounds * SHORT_RESYNC_MS + 30_000, intervalMs: 500 },
      );
    }

    test("no loop: after convergence, resyncs make no write and our slices stay as they are", async () => {
      const settled = await waitSettled(kb!);
      const versions = await ourSliceMeta("resourceVersion");
      assert.ok(
        Object.keys(versions).length >= 3,
        "there are slices of ours to rewrite, if it looped",
      );
      await noWritesThroughResyncs(3, settled);
      assert.deepEqual(
        await ourSliceMeta("resourceVersion"),
        versions,
        "resourceVersions of our slices",
      );
      const after = await sampleWork(kb!);
      log(
        `3 resyncs: 0 writes, ${after.noops - settled.noops} reconciles that found nothing to do`,
      );
    });

    test("someone else's edit of a slice of ours is undone with one write, and no fight follows", async () => {
      const settled = await waitSettled(kb!);
      const slice = (await ourSlices("shop", "restore"))[0];
      assert.ok(slice?.metadata?.name, "a slice of ours for shop/restore");
      const desired = readiness([slice]);
      const slicePath = `/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices/${slice.metadata.name}`;
      await api("private").request({
        method: "PATCH",
        path: slicePath,
        contentType: "application/merge-patch+json",
        body: { endpoints: [] },
      });
      await timed("the edit is undone", async () =>
        assert.deepEqual(readiness(await ourSlices("shop", "restore")), desired),
      );
      const after = await waitSettled(kb!);
      assert.equal(after.writes - settled.writes, 1, "one write puts the slice back");
      await noWritesThroughResyncs(2, after);
    });

    test("an edit kubeburst failed to act on is healed by a resync", async () => {
      // Provoked as in faults.test.ts: someone else empties a slice of ours while kubeburst is
      // still writing the Service's other 9. While the writer bug described there stands,
      // kubeburst ignores the edit until its memory of its own writes expires (30 s) and a resync
      // looks again; once the bug is fixed, the watch undoes the edit at once and this still holds.
      // 1,000 addresses (public-a's default cap; 10 slices) in public-a's range
      // (198.18.16.0/20), clear of its pods (198.18.17.x).
      const addresses = Array.from(
        { length: 1000 },
        (_, i) => `198.18.${24 + Math.floor(i / 250)}.${(i % 250) + 1}`,
      );
      const edit = await editFirstSliceMidWrite({
        production: api("private"),
        peak: api("public-a"),
        namespace: "shop",
        service: "contested",
        addresses,
        settled: () => waitSettled(kb!),
      });
      log(`edited ${edit.name} with ${edit.writtenWhenEdited} of 10 slices written`);
      await timed("every slice written, the edited one put back", async () => {
        const slices = await ourSlices("shop", "contested");
        assert.equal(slices.length, 10);
        assertHoldsExactly(slices, addresses);
      });
    });
  });

  test("literal mode: the Endpoints of a selector-less Service hold the union, mirrored into slices", async () => {
    await kb?.stop();
    kb = undefined;
    for (const cluster of ["private", "public-a"]) await cloud.ensureNamespace(cluster, "literal");
    await createService(api("private"), {
      namespace: "literal",
      name: "db",
      labels: PRODUCTION,
      ports: [{ name: "http", port: 80, targetPort: 8080 }],
    });
    const userAddress = "198.18.2.250";
    await api("private").request({
      method: "POST",
      path: "/api/v1/namespaces/literal/endpoints",
      body: {
        apiVersion: "v1",
        kind: "Endpoints",
        metadata: { name: "db", namespace: "literal" },
        subsets: [
          {
            addresses: [{ ip: userAddress }],
            ports: [{ name: "http", port: 8080, protocol: "TCP" }],
          },
        ],
      },
    });
    await createService(api("private"), {
      namespace: "literal",
      name: "selected",
      labels: PRODUCTION,
      selector: { app: "selected" },
    });
    await createService(api("public-a"), {
      namespace: "literal",
      name: "db",
      labels: PEAK,
      selector: { app: "db" },
    });
    const pod = (name: string) =>
      cloud.addPod("public-a", { name, namespace: "literal", labels: { app: "db" }, serve: false });
    const [d1, d2] = [await pod("db-1"), await pod("db-2")];

    kb = await KubeburstProcess.start(
      await writeConfig({ mode: "endpoints", file: "literal.yaml" }),
      dir,
      "kubeburst-literal",
    );
    await kb.waitReady();
    const union = [userAddress, ip(d1), ip(d2)].sort();
    await timed("the Endpoints hold the user's address and the peak's", async () => {
      assert.deepEqual(
        endpointsAddresses(await getEndpoints(api("private"), "literal", "db")),
        union,
      );
    });
    await timed("kube-controller-manager mirrors them into slices", async () => {
      const mirrored = await slicesOf(
        api("private"),
        "literal",
        "db",
        "endpointslice.kubernetes.io/managed-by=endpointslicemirroring-controller.k8s.io",
      );
      assert.deepEqual(Object.keys(readiness(mirrored)).sort(), union);
    });
    await cloud.removePod(d2);
    await timed("a removed peak pod leaves the Endpoints; the user's address stays", async () => {
      assert.deepEqual(
        endpointsAddresses(await getEndpoints(api("private"), "literal", "db")),
        [userAddress, ip(d1)].sort(),
      );
    });
    await timed("a production Service with a selector is refused with an Event", async () => {
      const events = await eventsAbout(api("private"), "literal", "selected");
      assert.ok(
        events.some((e) => e.reason === "LiteralModeRefused" && e.type === "Warning"),
        JSON.stringify(events),
      );
    });
    assert.equal(await getEndpoints(api("private"), "literal", "selected"), undefined);
  });
});
