// Peak outages on real clusters (kubeburst issue #9, items 2 and 7; SPEC B3, B15):
// - kubeburst restarts while a peak's API server is down: the restart deletes nothing of that
//   peak before staleTTL, counted from the start, while the writer runs for everyone else;
// - a peak's API server freezes (SIGSTOP: its port still accepts connections, nothing answers):
//   the API probe turns it unreachable in bounded time, its endpoints are withdrawn after
//   staleTTL, and come back after SIGCONT from a complete relist.
// The peaks' slices are hand-written, so no kube-controller-manager runs anywhere. Times are
// measured and printed; the only timing assertions are the documented bounds: nothing withdrawn
// before staleTTL (a lower bound, the promise itself), and a frozen server found unreachable
// within failureThreshold (2) × probeInterval + probe timeout, checked with 3 intervals and 5 s
// of slack because this machine's two cores are shared.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import { LocalCloud } from "../../src/localcloud/local-cloud.ts";
import { eventually } from "../support/eventually.ts";
import { createService, OURS, readiness, slicesOf } from "../support/kube-fixtures.ts";
import { writeTestConfig } from "../support/kubeburst-config.ts";
import { createPeakSlice, setPeakSliceEndpoints } from "../support/peak-slices.ts";
import { SliceWatch } from "../support/slice-watch.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const NS = "shop";
const SERVICE = "web";
const PROBE_INTERVAL_MS = 1_000;
/** api.timeout is left at 30 s, so a probe's deadline is the interval (see forwarding-controller). */
const PROBE_TIMEOUT_MS = PROBE_INTERVAL_MS;
/** The documented bound (2 failed probes) as the brief states it, 3 intervals, plus slack. */
const UNREACHABLE_BOUND_MS = 3 * PROBE_INTERVAL_MS + PROBE_TIMEOUT_MS + 5_000;
const RESTART_TTL_MS = 20_000;
const FREEZE_TTL_MS = 8_000;
/** public's endpoints (its pod range is 198.18.16.0/20) and public-2's (198.18.32.0/20). */
const [A1, A2, A3] = ["198.18.17.1", "198.18.17.2", "198.18.17.3"];
const [B1, B2, B3] = ["198.18.33.1", "198.18.33.2", "198.18.33.3"];
const fast = { timeoutMs: 30_000, intervalMs: 100 };

describe("peak outages", { timeout: 900_000 }, () => {
  let cloud: LocalCloud;
  let dir: string;
  let kb: KubeburstProcess | undefined;
  let runs = 0;
  /** Our slices in production that mirror public's, from a watch: each event timed. */
  let publicWatch: SliceWatch | undefined;
  /** The addresses those slices held after each of its events. */
  const publicHistory: { at: number; addresses: string[] }[] = [];
  const api = (cluster: string) => cloud.cluster(cluster).client;

  const fromCluster = async (cluster: string) =>
    readiness(
      (await slicesOf(api("private"), NS, SERVICE, OURS)).filter(
        (s) => s.metadata?.labels?.["kubeburst.io/source-cluster"] === cluster,
      ),
    );
  const ready = (...addresses: string[]) => Object.fromEntries(addresses.map((a) => [a, true]));

  /** Starts kubeburst with this staleTTL (the rest as in every run) and returns when it spawned. */
  async function startKubeburst(staleTTLMs: number): Promise<number> {
    const configPath = await writeTestConfig(cloud, dir, `kubeburst-${++runs}.yaml`, {
      peaks: ["public", "public-2"],
      settings: {
        staleTTL: `${staleTTLMs}ms`,
        syncTimeout: "3s",
        api: { probeInterval: `${PROBE_INTERVAL_MS}ms` },
      },
    });
    const spawned = Date.now();
    kb = await KubeburstProcess.start(configPath, dir, `kubeburst-${runs}`);
    return spawned;
  }

  const state = (cluster: string, s: string) =>
    kb!.metric("kubeburst_cluster_state", { cluster, state: s });

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-outages-"));
    cloud = await LocalCloud.start(
      [{ name: "private" }, { name: "public" }, { name: "public-2" }],
      {
        log,
      },
    );
    for (const name of cloud.clusterNames()) await cloud.ensureNamespace(name, NS);
    await createService(api("private"), {
      namespace: NS,
      name: SERVICE,
      labels: { "kubeburst.io/role": "production" },
    });
    for (const peak of ["public", "public-2"]) {
      await createService(api(peak), {
        namespace: NS,
        name: SERVICE,
        labels: { "kubeburst.io/role": "peak" },
      });
    }
    await createPeakSlice(api("public"), NS, SERVICE, "web-a", [{ address: A1 }, { address: A2 }]);
    await createPeakSlice(api("public-2"), NS, SERVICE, "web-b", [{ address: B1 }]);
    publicWatch = await SliceWatch.open(
      api("private"),
      NS,
      `${OURS},kubernetes.io/service-name=${SERVICE},kubeburst.io/source-cluster=public`,
      {
        onEvent: (entry, slices) => {
          const addresses = [...slices.values()]
            .flatMap((s) => (s.endpoints ?? []).flatMap((e) => e.addresses))
            .sort();
          publicHistory.push({ at: entry.at, addresses });
        },
      },
    );
  });

  after(async () => {
    // Never leave a frozen API server behind (close() resumes it too, but say so here).
    cloud?.cluster("public").resumeApiserver();
    await publicWatch?.close();
    await kb?.stop();
    await cloud?.close();
    if (dir && !process.env.KUBEBURST_KEEP_LOGS) await rm(dir, { recursive: true, force: true });
  });

  /** The restart of the first two tests: when it spawned, and the watch's mark then. */
  let restart: { t0: number; events0: number } | undefined;

  test("a restart during a peak outage deletes nothing of that peak before staleTTL, while the writer runs for the others", async () => {
    await startKubeburst(RESTART_TTL_MS);
    await kb!.waitReady();
    await eventually(
      "both peaks are mirrored",
      async () => {
        assert.deepEqual(await fromCluster("public"), ready(A1, A2));
        assert.deepEqual(await fromCluster("public-2"), ready(B1));
      },
      fast,
    );
    const slicesNow = async () =>
      new Map(
        (await slicesOf(api("private"), NS, SERVICE, OURS))
          .filter((s) => s.metadata?.labels?.["kubeburst.io/source-cluster"] === "public")
          .map((s) => [s.metadata!.name!, `${s.metadata!.uid} ${s.metadata!.resourceVersion}`]),
      );
    const written = await slicesNow();
    assert.ok(written.size > 0);

    await kb!.stop();
    await cloud.cluster("public").stopApiserver();
    const events0 = publicWatch!.count;
    const t0 = await startKubeburst(RESTART_TTL_MS);
    restart = { t0, events0 };
    await kb!.waitReady();
    log(
      `restarted kubeburst ready (/readyz 200) ${Date.now() - t0} ms after start (syncTimeout 3 s); public unreachable=${await state("public", "unreachable")}`,
    );

    // The writer runs: a change in the healthy peak is written.
    await setPeakSliceEndpoints(api("public-2"), NS, "web-b", [{ address: B1 }, { address: B2 }]);
    await eventually(
      "the healthy peak's change is written",
      async () => assert.deepEqual(await fromCluster("public-2"), ready(B1, B2)),
      fast,
    );
    const healthyWrittenAfter = Date.now() - t0;
    log(`public-2's change written ${healthyWrittenAfter} ms after start`);
    assert.ok(
      healthyWrittenAfter < RESTART_TTL_MS,
      `the writer ran only ${healthyWrittenAfter} ms after start, not within staleTTL: this run proves nothing; raise RESTART_TTL_MS`,
    );
    // ... yet the down peak's slices are the very ones written before the restart.
    assert.deepEqual(await slicesNow(), written, "same slices, same UIDs, unchanged");
    assert.deepEqual(await fromCluster("public"), ready(A1, A2));
    assert.equal(await kb!.metric("kubeburst_writer_writes_total", { verb: "delete" }), 0);
    assert.equal(await kb!.metric("kubeburst_cluster_withdrawn", { cluster: "public" }), 0);

    // A negative property: watch public's slices until staleTTL from the start has passed.
    await sleep(t0 + RESTART_TTL_MS - Date.now());
    const early = publicWatch!.entries
      .slice(events0)
      .filter((e) => e.at < t0 + RESTART_TTL_MS)
      .map((e) => `${e.type} ${e.name} at ${e.at - t0} ms`);
    assert.deepEqual(early, [], "nothing of public's touched before staleTTL");
  });

  // A peak not synced since start has reported nothing: its withdrawal must still reach the
  // Services holding what was written for it (the writer is handed them by source cluster).
  test("... then, after staleTTL from the start, withdrawn; restored once the peak is back", async () => {
    assert.ok(restart, "runs after the restart above");
    const { t0, events0 } = restart;
    try {
      await eventually(
        "public's endpoints withdrawn after staleTTL",
        () => assert.equal(publicWatch!.slices.size, 0),
        { timeoutMs: t0 + RESTART_TTL_MS + 30_000 - Date.now(), intervalMs: 100 },
      );
    } finally {
      // Whatever happened, the next test needs public's API server back.
      await cloud.cluster("public").restartApiserver();
    }
    const up = Date.now();
    const touched = publicWatch!.entries.slice(events0);
    const first = touched[0]!;
    const withdrawnAfter = first.at - t0;
    log(
      `public's slices first touched (${first.type}) ${withdrawnAfter} ms after start (staleTTL ${RESTART_TTL_MS} ms); events: ${touched.map((e) => e.type).join(", ")}`,
    );
    assert.equal(first.type, "DELETED", "the first change to public's slices is the withdrawal");
    assert.ok(
      withdrawnAfter >= RESTART_TTL_MS,
      `withdrawn ${withdrawnAfter} ms after start, before staleTTL (${RESTART_TTL_MS} ms)`,
    );
    await eventually(
      "public's endpoints restored once its API server is back",
      async () => assert.deepEqual(await fromCluster("public"), ready(A1, A2)),
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    log(`public's endpoints restored ${Date.now() - up} ms after its API server was back`);
    assert.equal(await kb!.metric("kubeburst_cluster_withdrawn", { cluster: "public" }), 0);
  });

  test("a frozen peak API server turns unreachable in bounded time, is withdrawn after staleTTL, and restored from a relist", async () => {
    await kb?.stop();
    await startKubeburst(FREEZE_TTL_MS);
    await kb!.waitReady();
    await eventually(
      "every cluster synced and mirrored",
      async () => {
        assert.equal(await state("public", "synced"), 1);
        assert.deepEqual(await fromCluster("public"), ready(A1, A2));
        assert.deepEqual(await fromCluster("public-2"), ready(B1, B2));
      },
      fast,
    );
    const public_ = cloud.cluster("public");
    const events0 = publicWatch!.count;
    let frozen = 0;
    let resumed = 0;
    let changed = 0;
    try {
      public_.pauseApiserver();
      frozen = Date.now();
      await eventually(
        "public reported unreachable",
        async () => assert.equal(await state("public", "unreachable"), 1),
        { timeoutMs: 60_000, intervalMs: 100 },
      );
      const unreachableAfter = Date.now() - frozen;
      log(
        `frozen → unreachable: ${unreachableAfter} ms (probe every ${PROBE_INTERVAL_MS} ms, timeout ${PROBE_TIMEOUT_MS} ms; bound with slack ${UNREACHABLE_BOUND_MS} ms)`,
      );
      assert.ok(
        unreachableAfter <= UNREACHABLE_BOUND_MS,
        `unreachable only after ${unreachableAfter} ms`,
      );

      // The hung peak holds nobody up.
      await setPeakSliceEndpoints(api("public-2"), NS, "web-b", [
        { address: B1 },
        { address: B2 },
        { address: B3 },
      ]);
      await eventually(
        "the healthy peak's change is written while public is frozen",
        async () => assert.deepEqual(await fromCluster("public-2"), ready(B1, B2, B3)),
        fast,
      );
      assert.deepEqual(await fromCluster("public"), ready(A1, A2), "kept within staleTTL");

      await eventually(
        "public's endpoints withdrawn after staleTTL",
        () => assert.equal(publicWatch!.slices.size, 0),
        { timeoutMs: FREEZE_TTL_MS + UNREACHABLE_BOUND_MS + 30_000, intervalMs: 100 },
      );
      const first = publicWatch!.entries[events0]!;
      const withdrawnAfter = first.at - frozen;
      log(`frozen → withdrawn: ${withdrawnAfter} ms (staleTTL ${FREEZE_TTL_MS} ms)`);
      assert.equal(first.type, "DELETED");
      assert.ok(
        withdrawnAfter >= FREEZE_TTL_MS,
        `withdrawn ${withdrawnAfter} ms after the freeze, before staleTTL (${FREEZE_TTL_MS} ms)`,
      );
      assert.equal(await kb!.metric("kubeburst_cluster_withdrawn", { cluster: "public" }), 1);

      public_.resumeApiserver();
      resumed = Date.now();
      // A change kubeburst can only know from listing (or watching) the peak again.
      await setPeakSliceEndpoints(api("public"), NS, "web-a", [
        { address: A1 },
        { address: A2 },
        { address: A3 },
      ]);
      changed = Date.now();
    } finally {
      public_.resumeApiserver();
    }
    log(`the change in public was accepted ${changed - resumed} ms after SIGCONT`);
    await eventually(
      "public restored with the change made after the freeze",
      async () => assert.deepEqual(await fromCluster("public"), ready(A1, A2, A3)),
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    // What production held for public after each event since the withdrawal. A restore from a
    // list served between SIGCONT and the change (a relist the withdrawal asked for may be
    // waiting on the frozen server) legitimately lacks A3 for a moment: printed, not asserted.
    const since = publicHistory.filter((h) => h.at >= resumed && h.addresses.length > 0);
    const firstRestored = since[0];
    const complete = since.find((h) => h.addresses.includes(A3));
    log(
      `SIGCONT → first restored state ${(firstRestored?.at ?? 0) - resumed} ms (${firstRestored?.addresses.join(", ")}), → restored with the change ${(complete?.at ?? 0) - resumed} ms; ${since.length} state(s) in between`,
    );
    assert.equal(await kb!.metric("kubeburst_cluster_withdrawn", { cluster: "public" }), 0);
    const lines = await kb!.logLines();
    const said = (msg: string) =>
      lines.find((l) => l.cluster === "public" && l.msg === msg && Number(l.time) >= resumed);
    assert.ok(said("API server answers again; listing everything again"));
    assert.ok(said("peak cluster listed everything again; restoring its endpoints"));
  });
});
