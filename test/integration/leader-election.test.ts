// High availability (SPEC B10). First two LeaderElectors in this process on a real API server,
// one of them through a TCP proxy that can cut it off: its fence must close before the other
// takes the Lease. Then two kubeburst processes with leader election on one Lease: only the
// leader writes; the standby keeps warm caches and takes over when the leader dies (after the
// lease expires) or stops cleanly (at once, because it releases the Lease).
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { stringify } from "yaml";
import { LeaderElector } from "../../src/app/leader-election.ts";
import { KubeClient } from "../../src/kube/kube-client.ts";
import { kubeconfigFromText } from "../../src/kube/load-kubeconfig.ts";
import { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import { LocalCloud } from "../../src/localcloud/local-cloud.ts";
import { createLogger } from "../../src/observability/logger.ts";
import { systemClock } from "../../src/runtime/clock.ts";
import { eventually } from "../support/eventually.ts";
import { createService, OURS, readiness, slicesOf } from "../support/kube-fixtures.ts";
import { TcpProxy } from "../support/tcp-proxy.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const LEASE_MS = 4_000;
const TIMING = { leaseDurationMs: LEASE_MS, renewDeadlineMs: 3_000, retryPeriodMs: 500 };

interface Lease {
  spec?: { holderIdentity?: string; acquireTime?: string; renewTime?: string };
}

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
  /** The Lease of the kubeburst processes. */
  const readLease = () =>
    api("private").request<Lease>({
      method: "GET",
      path: "/apis/coordination.k8s.io/v1/namespaces/kubeburst/leases/kubeburst",
    });
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
          leaseDuration: `${TIMING.leaseDurationMs}ms`,
          renewDeadline: `${TIMING.renewDeadlineMs}ms`,
          retryPeriod: `${TIMING.retryPeriodMs}ms`,
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

  test("a leader cut off from the API server closes its fence before the standby takes over", async () => {
    const plane = cloud.cluster("private");
    const proxy = await TcpProxy.start(Number(new URL(plane.server).port));
    // The kubeconfig's CA and client certificate, another address: the serving certificate
    // covers 127.0.0.1, so TLS through the proxy still verifies the API server.
    const clientOf = (server: string) =>
      new KubeClient(kubeconfigFromText(plane.kubeconfig.replace(plane.server, server)));
    const clients = [clientOf(`https://127.0.0.1:${proxy.port}`), clientOf(plane.server)];
    const leasePath = "/apis/coordination.k8s.io/v1/namespaces/kubeburst/leases/fence-test";
    const readFenceLease = () => api("private").request<Lease>({ method: "GET", path: leasePath });
    const logger = createLogger("warn");
    /** When each elector started and stopped leading (Date.now()). */
    const events: Record<"a" | "b", { started: number[]; stopped: number[] }> = {
      a: { started: [], stopped: [] },
      b: { started: [], stopped: [] },
    };
    const elector = (identity: "a" | "b", client: KubeClient) =>
      new LeaderElector({
        client,
        namespace: "kubeburst",
        leaseName: "fence-test",
        identity,
        ...TIMING,
        clock: systemClock,
        logger: logger.child({ elector: identity }),
        onStartedLeading: () => events[identity].started.push(Date.now()),
        onStoppedLeading: () => events[identity].stopped.push(Date.now()),
      });
    const a = elector("a", clients[0]!);
    const b = elector("b", clients[1]!);
    const stop = new AbortController();
    // Both fences are looked at every few milliseconds: they must never be open together.
    let aLastOpen = Number.NEGATIVE_INFINITY;
    let bothOpen = 0;
    const sampler = setInterval(() => {
      const [aOpen, bOpen] = [a.canWrite(), b.canWrite()];
      if (aOpen) aLastOpen = Date.now();
      if (aOpen && bOpen) bothOpen++;
    }, 5);
    const runs: Promise<void>[] = [];
    try {
      runs.push(a.run(stop.signal));
      await eventually("a leads", () => assert.ok(a.canWrite()));
      runs.push(b.run(stop.signal));
      await eventually("b has read the Lease", () => assert.equal(b.observedHolder, "a"));

      proxy.freeze();
      const frozenAt = Date.now();
      await eventually("b takes the Lease", () => assert.ok(b.isLeader), { timeoutMs: 30_000 });
      const lease = await readFenceLease();
      assert.equal(lease.spec?.holderIdentity, "b");
      // b sent its acquiring write at acquireTime (this machine's clock): the API server stored
      // it no earlier.
      const acquireSent = Date.parse(lease.spec?.acquireTime ?? "");
      const aStopped = events.a.stopped[0];
      assert.ok(aStopped !== undefined, "a stopped leading");
      assert.equal(a.canWrite(), false);
      assert.ok(aStopped < acquireSent, "a stopped before b sent its acquiring write");
      assert.ok(aLastOpen < acquireSent, "a's fence was closed when b sent its acquiring write");
      log(
        `partition at +0 ms: a stopped leading at +${aStopped - frozenAt} ms (fence last seen open at +${aLastOpen - frozenAt} ms); ` +
          `b sent its acquiring write at +${acquireSent - frozenAt} ms: ${acquireSent - aStopped} ms after a stopped, ` +
          `${acquireSent - aLastOpen} ms after a's fence was last seen open (margin ${a.marginMs} ms)`,
      );

      proxy.thaw();
      await eventually("a reads the Lease again and sees b", () =>
        assert.equal(a.observedHolder, "b"),
      );
      // b renews a few more times while a campaigns again as a standby.
      const renewals = new Set<string>();
      await eventually("b renews the Lease three more times", async () => {
        const current = await readFenceLease();
        assert.equal(current.spec?.holderIdentity, "b");
        renewals.add(current.spec?.renewTime ?? "");
        assert.ok(renewals.size >= 4);
      });
      assert.equal(a.isLeader, false, "a rejoined as a standby");
      assert.equal(events.a.started.length, 1, "a did not lead again");
      assert.equal(bothOpen, 0, "the two fences were never open together");
    } finally {
      clearInterval(sampler);
      stop.abort();
      await Promise.all(runs);
      await proxy.close();
      for (const client of clients) client.close();
      logger.flush();
    }
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
    const readyAt = Date.now();
    const held = await readLease();
    // The leader keeps renewing for longer than a whole lease while the new replica campaigns.
    await eventually(
      "the leader renews for a whole lease after the new replica is ready",
      async () => {
        const lease = await readLease();
        assert.equal(lease.spec?.holderIdentity, held.spec?.holderIdentity);
        assert.ok(Date.parse(lease.spec?.renewTime ?? "") >= readyAt + LEASE_MS);
      },
    );
    assert.equal(await fresh.metric("kubeburst_leader"), 0, "the new replica waits");
    await current.stop();
    running = running.filter((kb) => kb !== current);
    assert.equal(await current.exited, 0);
    const stopped = Date.now();
    assert.notEqual(
      (await readLease()).spec?.holderIdentity,
      held.spec?.holderIdentity,
      "the stopping leader released the Lease (or the new replica took it already)",
    );
    await eventually("the new replica leads", async () =>
      assert.equal(await fresh.metric("kubeburst_leader"), 1),
    );
    const handover = Date.now() - stopped;
    log(`a clean stop handed over in ${handover} ms (lease ${LEASE_MS} ms)`);
    const p3 = await addPeakPod("web-p3");
    await eventually("the new leader writes", async () =>
      assert.ok((await peakAddresses()).includes(p3.ip)),
    );
  });
});
