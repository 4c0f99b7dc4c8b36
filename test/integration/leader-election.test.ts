// High availability (SPEC B10): two kubeburst processes with leader election on one Lease. Only
// the leader writes; the standby keeps warm caches and takes over when the leader dies (after
// the lease expires) or stops cleanly (at once, because it releases the Lease).
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import { LocalCloud } from "../../src/localcloud/local-cloud.ts";
import { eventually } from "../support/eventually.ts";
import { createService, OURS, readiness, slicesOf } from "../support/kube-fixtures.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const LEASE_MS = 4_000;

describe("leader election", { timeout: 600_000 }, () => {
  let cloud: LocalCloud;
  let dir: string;
  let configPath: string;
  let started = 0;
  /** Every replica started (for teardown), and those still running. */
  const replicas: KubeburstProcess[] = [];
  let running: KubeburstProcess[] = [];
  const api = (cluster: string) => cloud.cluster(cluster).client;
  const peakAddresses = async () =>
    Object.keys(readiness(await slicesOf(api("private"), "shop", "web", OURS))).sort();

  const start = async () => {
    const kb = await KubeburstProcess.start(configPath, dir, `kubeburst-${++started}`);
    replicas.push(kb);
    running.push(kb);
    return kb;
  };
  const leaderOf = async (candidates: KubeburstProcess[]) => {
    const leading: KubeburstProcess[] = [];
    for (const kb of candidates) if ((await kb.metric("kubeburst_leader")) === 1) leading.push(kb);
    return leading;
  };
  const addPeakPod = (name: string) =>
    cloud.addPod("public", { name, namespace: "shop", labels: { app: "web" }, serve: false });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-leader-"));
    cloud = await LocalCloud.start(
      [
        { name: "private", controllerManager: true },
        { name: "public", controllerManager: true },
      ],
      { log },
    );
    for (const name of cloud.clusterNames()) {
      await cloud.addNode(name, "node-1", { dataPath: false });
      await cloud.ensureNamespace(name, "shop");
    }
    await cloud.ensureNamespace("private", "kubeburst");
    configPath = path.join(dir, "kubeburst.yaml");
    await writeFile(
      configPath,
      stringify({
        clusters: [
          {
            name: "private",
            role: "production",
            kubeconfig: cloud.cluster("private").kubeconfigPath,
          },
          {
            name: "public",
            role: "peak",
            kubeconfig: cloud.cluster("public").kubeconfigPath,
            allowedCIDRs: [cloud.podRange("public")],
          },
        ],
        metrics: { address: "127.0.0.1:0" },
        leaderElection: {
          enabled: true,
          leaseDuration: `${LEASE_MS}ms`,
          renewDeadline: "3s",
          retryPeriod: "500ms",
        },
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
      selector: { app: "web" },
    });
  });

  after(async () => {
    for (const kb of replicas) await kb.stop();
    await cloud?.close();
    if (dir && !process.env.KUBEBURST_KEEP_LOGS) await rm(dir, { recursive: true, force: true });
  });

  test("one replica leads and writes; the standby writes nothing", async () => {
    const [a, b] = [await start(), await start()];
    await Promise.all([a.waitReady(), b.waitReady()]);
    await eventually("exactly one leads", async () =>
      assert.equal((await leaderOf([a, b])).length, 1),
    );
    const p1 = await addPeakPod("web-p1");
    await eventually("the leader writes the peak", async () =>
      assert.deepEqual(await peakAddresses(), [p1.ip]),
    );
    const [leader] = await leaderOf([a, b]);
    const standby = leader === a ? b : a;
    assert.ok((await leader!.metric("kubeburst_writer_writes_total")) > 0);
    assert.equal(await standby.metric("kubeburst_writer_writes_total"), 0);
    assert.equal((await standby.get("/readyz")).status, 200, "a standby is ready");
  });

  test("the leader dies: the standby takes over once the lease expires", async () => {
    const [leader] = await leaderOf(running);
    const standby = running.find((kb) => kb !== leader)!;
    await leader!.kill();
    running = running.filter((kb) => kb !== leader);
    const killed = Date.now();
    const p2 = await addPeakPod("web-p2");
    await eventually(
      "the standby writes the change",
      async () => assert.ok((await peakAddresses()).includes(p2.ip)),
      { timeoutMs: 30_000 },
    );
    log(
      `after SIGKILL of the leader, a change was written ${Date.now() - killed} ms later (lease ${LEASE_MS} ms)`,
    );
    assert.equal(await standby.metric("kubeburst_leader"), 1);
  });

  test("a restarted replica stays standby; a clean stop hands over at once", async () => {
    const current = (await leaderOf(running))[0]!;
    const fresh = await start();
    await fresh.waitReady();
    await new Promise((r) => setTimeout(r, LEASE_MS));
    assert.equal(await fresh.metric("kubeburst_leader"), 0, "the new replica waits");
    await current.stop();
    running = running.filter((kb) => kb !== current);
    assert.equal(await current.exited, 0);
    const stopped = Date.now();
    await eventually("the new replica leads", async () =>
      assert.equal(await fresh.metric("kubeburst_leader"), 1),
    );
    const handover = Date.now() - stopped;
    log(`a clean stop handed over in ${handover} ms (lease ${LEASE_MS} ms)`);
    assert.ok(handover < LEASE_MS, "the released Lease is taken without waiting for it to expire");
    const p3 = await addPeakPod("web-p3");
    await eventually("the new leader writes", async () =>
      assert.ok((await peakAddresses()).includes(p3.ip)),
    );
  });
});
