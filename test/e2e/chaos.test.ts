// Traffic under chaos (issue #9, "Must show"): requests keep flowing from the private node through
// the production ClusterIP while, one after the other, the peak API server is killed, kubeburst is
// killed, the leader replica is killed, the leader is frozen past its lease, production's API
// server restarts, and production's Nodes cannot be listed. Every pod stays healthy, so not one
// request may fail, and our slices in production must hold every peak pod, ready, at every sample
// (a watch of them: every state they pass through). staleTTL is longer than any outage.
//
// The fencing window is measured on the real processes: the old leader's last write and the new
// leader's first, from each replica's own debug log ("production slices written"), while a second
// Service (shop/churn, a peak pod flipped between ready and not) keeps the leader writing.
import assert from "node:assert/strict";
import http from "node:http";
import { after, before, describe, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { BurstScenario } from "../../src/demo/burst-scenario.ts";
import type { KubeClient } from "../../src/kube/kube-client.ts";
import type { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import type { LocalPod } from "../../src/localcloud/local-cloud.ts";
import { eventually } from "../support/eventually.ts";
import { createService, OURS, readiness, slicesOf } from "../support/kube-fixtures.ts";

// The fencing figures come from the writer's debug lines: every replica this file starts logs them.
process.env.KUBEBURST_LOG_LEVEL = "debug";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const LEASE = { leaseDuration: "4s", renewDeadline: "3s", retryPeriod: "500ms" };
/** Requests a second, each on a new connection, from the private node. */
const RPS = 20;
const WRITTEN = "production slices written";

// ---------------------------------------------------------------------------------------------
// What the test counts: requests per phase, and samples of our slices per phase.

interface PhaseStats {
  name: string;
  /** How long it was the current phase (ms), and since when it is (while it is). */
  ms: number;
  since: number;
  sent: number;
  failed: number;
  /** Longest time between two successful responses, ending in this phase (ms). */
  longestGapMs: number;
  /** Samples of our slices (every watch event, every list) and those missing a peak endpoint. */
  samples: number;
  missing: number;
  /** The first few failures and missing samples, for the message of a failed assertion. */
  details: string[];
}

class Recorder {
  readonly phases: PhaseStats[] = [];
  #current: PhaseStats;
  #lastOk: number | undefined;

  constructor() {
    this.#current = Recorder.#fresh("steady (before and between phases)");
    this.phases.push(this.#current);
  }

  static #fresh(name: string): PhaseStats {
    return {
      name,
      ms: 0,
      since: Date.now(),
      sent: 0,
      failed: 0,
      longestGapMs: 0,
      samples: 0,
      missing: 0,
      details: [],
    };
  }

  begin(name: string): void {
    this.#switch(Recorder.#fresh(name));
    this.phases.push(this.#current);
  }

  /** Ends the phase: what follows counts as "between phases" until the next begins. */
  end(): PhaseStats {
    const done = this.#current;
    this.#switch(this.phases[0]!);
    return done;
  }

  #switch(to: PhaseStats): void {
    const now = Date.now();
    this.#current.ms += now - this.#current.since;
    to.since = now;
    this.#current = to;
  }

  response(at: number, who: string | null): void {
    const p = this.#current;
    p.sent++;
    if (who === null) {
      p.failed++;
      this.#detail(p, `request failed at ${new Date(at).toISOString()}`);
      return;
    }
    if (this.#lastOk !== undefined) p.longestGapMs = Math.max(p.longestGapMs, at - this.#lastOk);
    this.#lastOk = at;
  }

  sample(absent: string[], how: string): void {
    const p = this.#current;
    p.samples++;
    if (absent.length === 0) return;
    p.missing++;
    this.#detail(p, `${how} sample at ${new Date().toISOString()} lacks ${absent.join(", ")}`);
  }

  total(): PhaseStats {
    const t = Recorder.#fresh("total");
    for (const p of this.phases) {
      t.ms += p.ms + (p === this.#current ? Date.now() - p.since : 0);
      t.sent += p.sent;
      t.failed += p.failed;
      t.samples += p.samples;
      t.missing += p.missing;
      t.longestGapMs = Math.max(t.longestGapMs, p.longestGapMs);
      t.details.push(...p.details);
    }
    return t;
  }

  #detail(p: PhaseStats, line: string): void {
    if (p.details.length < 10) p.details.push(line);
  }
}

const format = (p: PhaseStats) =>
  `${p.name}: ${p.sent} requests, ${p.failed} failed, longest gap between successes ${p.longestGapMs} ms; ` +
  `${p.samples} samples of our slices, ${p.missing} missing a peak endpoint (${(p.ms / 1000).toFixed(1)} s)`;

/**
 * Every state of our slices in production's namespace `shop`: a list, then a watch from it (every
 * event is a state the slices passed through), again after any break; and besides, a list every
 * half second (a sample also when nothing changes). Each state is checked for every address
 * `expected()` returns, ready, among the slices of Service `web`. Changes of the slices of
 * Service `churn` are timed as the watch sees them.
 */
class SliceSampler {
  readonly churnChanges: number[] = [];
  readonly #client: KubeClient;
  readonly #expected: () => string[];
  readonly #onSample: (absent: string[], how: string) => void;
  readonly #stop = new AbortController();
  #running: Promise<void> | undefined;
  #slices = new Map<string, V1EndpointSlice>();

  constructor(
    client: KubeClient,
    expected: () => string[],
    onSample: (absent: string[], how: string) => void,
  ) {
    this.#client = client;
    this.#expected = expected;
    this.#onSample = onSample;
  }

  start(): void {
    this.#running = Promise.all([
      this.#watch(this.#stop.signal),
      this.#poll(this.#stop.signal),
    ]).then(() => {});
  }

  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    this.#client.close();
  }

  #list(signal: AbortSignal) {
    return this.#client.request<{
      metadata: { resourceVersion: string };
      items: V1EndpointSlice[];
    }>({ method: "GET", path: SLICES, query: { labelSelector: OURS }, timeoutMs: 3_000, signal });
  }

  async #poll(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      try {
        this.#sample("list", (await this.#list(signal)).items);
      } catch {
        // The API server is down or restarting.
      }
      await sleep(500, undefined, { signal }).catch(() => {});
    }
  }

  async #watch(signal: AbortSignal): Promise<void> {
    const path = SLICES;
    while (!signal.aborted) {
      try {
        const list = await this.#list(signal);
        this.#slices = new Map(list.items.map((s) => [s.metadata!.name!, s]));
        this.#sample("list", list.items);
        await this.#client.watch<V1EndpointSlice>(
          path,
          { labelSelector: OURS, resourceVersion: list.metadata.resourceVersion },
          signal,
          (event) => {
            if (event.type === "ERROR") throw new Error(`watch ended: ${JSON.stringify(event)}`);
            if (event.type === "BOOKMARK") return;
            const slice = event.object;
            const name = slice.metadata!.name!;
            if (event.type === "DELETED") this.#slices.delete(name);
            else this.#slices.set(name, slice);
            if (serviceOf(slice) === "churn") this.churnChanges.push(Date.now());
            this.#sample("watch", [...this.#slices.values()]);
          },
        );
      } catch {
        // The API server is down or restarting, or the watch broke: list again shortly.
      }
      await sleep(200, undefined, { signal }).catch(() => {});
    }
  }

  #sample(how: string, slices: V1EndpointSlice[]): void {
    const web = slices.filter((s) => serviceOf(s) === "web");
    const seen = new Map<string, boolean>();
    for (const s of web) {
      for (const e of s.endpoints ?? []) {
        for (const a of e.addresses)
          seen.set(a, seen.get(a) === true || e.conditions?.ready === true);
      }
    }
    const absent = this.#expected().filter((ip) => seen.get(ip) !== true);
    this.#onSample(absent, how);
  }
}

const SLICES = "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices";
const serviceOf = (s: V1EndpointSlice) => s.metadata?.labels?.["kubernetes.io/service-name"];

/** A peak pod of Service shop/churn flipped between ready and not: each flip is a write. */
class Churn {
  /** What the peak says now. */
  ready = true;
  readonly #s: BurstScenario;
  readonly #pod: LocalPod;
  #loop: Promise<void> | undefined;
  #running = false;

  constructor(s: BurstScenario, pod: LocalPod) {
    this.#s = s;
    this.#pod = pod;
  }

  async flip(): Promise<void> {
    await this.#s.cloud.setPodReady(this.#pod, !this.ready);
    this.ready = !this.ready;
  }

  /** Flips every `everyMs` until {@link stop}. */
  start(everyMs = 300): void {
    this.#running = true;
    this.#loop = (async () => {
      while (this.#running) {
        await this.flip().catch((err: unknown) => log(`churn flip failed: ${String(err)}`));
        await sleep(everyMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#running = false;
    await this.#loop;
  }

  /** Whether production's churn slice shows the pod as the peak does now. */
  async written(): Promise<boolean> {
    const slices = await slicesOf(this.#s.cloud.cluster("private").client, "shop", "churn", OURS);
    return readiness(slices)[this.#pod.ip] === this.ready;
  }
}

// ---------------------------------------------------------------------------------------------
// Replicas, as a Deployment would keep them.

interface Replica {
  name: string;
  kb: KubeburstProcess;
  exit?: number | null;
  exitedAt?: number;
}

/** Times of the log lines of `kb` with message `msg` (and `service`, when given). */
async function logTimes(kb: KubeburstProcess, msg: string, service?: string): Promise<number[]> {
  return (await kb.logLines())
    .filter((l) => l.msg === msg && (service === undefined || l.service === service))
    .map((l) => Number(l.time));
}

/** `promise`'s value, or `fallback` after `ms` (the timer does not outlive the race). */
async function within<T, F>(promise: Promise<T>, ms: number, fallback: F): Promise<T | F> {
  const timer = new AbortController();
  try {
    return await Promise.race([
      promise,
      sleep(ms, fallback, { signal: timer.signal }).catch(() => fallback),
    ]);
  } finally {
    timer.abort();
  }
}

const WRITES = "kubeburst_writer_writes_total";

const durationMs = (d: string) =>
  d.endsWith("ms") ? Number.parseFloat(d) : Number.parseFloat(d) * 1000;

/** The sum of a metric's samples in Prometheus text. */
function sumMetric(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? ([^ ]+)$/.exec(line);
    if (m && m[1] === name) sum += Number(m[3]);
  }
  return sum;
}

/**
 * GET `path` from `address` (`host:port`) on a connection of its own: `sent` resolves once the
 * connection is up and the request handed to the kernel, so that a frozen process finds it
 * waiting when it runs again (it is answered if the process serves for a moment after, which a
 * process that closes its server in its first turn does not); `body` resolves with the answer,
 * or undefined when the connection ended without one.
 */
function queuedGet(address: string, path: string) {
  const sent = Promise.withResolvers<void>();
  const i = address.lastIndexOf(":");
  const body = new Promise<string | undefined>((resolve) => {
    const req = http.get(
      { host: address.slice(0, i), port: Number(address.slice(i + 1)), path, agent: false },
      (res) => {
        let text = "";
        res.setEncoding("utf8");
        res.on("data", (chunk: string) => {
          text += chunk;
        });
        res.on("end", () => resolve(res.statusCode === 200 ? text : undefined));
        res.on("error", () => resolve(undefined));
      },
    );
    req.setTimeout(120_000, () => req.destroy());
    // Connected (the kernel accepts for a frozen process) and the request written out.
    const connected = new Promise<void>((r) =>
      req.once("socket", (sock) => sock.once("connect", r)),
    );
    const finished = new Promise<void>((r) => req.once("finish", r));
    void Promise.all([connected, finished]).then(() => sent.resolve());
    req.on("error", () => {
      sent.resolve();
      resolve(undefined);
    });
  });
  return { sent: sent.promise, body };
}

describe("traffic under chaos", { timeout: 900_000 }, () => {
  let s: BurstScenario;
  let churn: Churn;
  let sampler: SliceSampler | undefined;
  let traffic: { stop: () => Promise<void> } | undefined;
  let rec: Recorder;
  const replicas: Replica[] = [];
  const started = Date.now();
  let named = 0;
  const plane = (name: string) => s.cloud.cluster(name);

  const track = (kb: KubeburstProcess, name: string): Replica => {
    const r: Replica = { name, kb };
    void kb.exited.then((code) => {
      r.exit = code;
      r.exitedAt = Date.now();
    });
    replicas.push(r);
    return r;
  };
  const live = () => replicas.filter((r) => r.exit === undefined);
  const metricOf = (r: Replica, name: string, labels?: Record<string, string>) =>
    r.kb.metric(name, labels).catch(() => Number.NaN);
  const leaders = async () => {
    const out: Replica[] = [];
    for (const r of live()) if ((await metricOf(r, "kubeburst_leader")) === 1) out.push(r);
    return out;
  };
  const theLeader = async () => {
    let leader: Replica | undefined;
    await eventually(
      "exactly one replica leads",
      async () => {
        const l = await leaders();
        assert.equal(l.length, 1, `leaders: ${l.map((r) => r.name).join(", ") || "none"}`);
        leader = l[0];
      },
      { timeoutMs: 120_000 },
    );
    return leader!;
  };
  /** Starts replicas until `n` run, each ready (a standby is ready too). */
  const keepReplicas = async (n: number) => {
    while (live().length < n) {
      const r = track(await s.startReplica(`kubeburst-${++named}`), `kubeburst-${named}`);
      await r.kb.waitReady();
      log(`started replica ${r.name} (pid ${r.kb.pid})`);
    }
  };
  const clusterState = (r: Replica, cluster: string, state: string) =>
    metricOf(r, "kubeburst_cluster_state", { cluster, state });

  /** Whether production's API server lets kubeburst's identity `verb` `resource` (core group). */
  const canI = async (verb: string, resource: string) => {
    const review = await plane("private").client.request<{ status?: { allowed?: boolean } }>({
      method: "POST",
      path: "/apis/authorization.k8s.io/v1/subjectaccessreviews",
      body: {
        apiVersion: "authorization.k8s.io/v1",
        kind: "SubjectAccessReview",
        // kubeburst's production identity: the ServiceAccount of deploy/rbac-production.yaml.
        spec: {
          user: "system:serviceaccount:kubeburst:kubeburst",
          groups: ["system:serviceaccounts", "system:serviceaccounts:kubeburst"],
          resourceAttributes: { verb, resource, group: "" },
        },
      },
    });
    return review.status?.allowed === true;
  };
  /** name → resourceVersion of our slices in production's namespace `shop`. */
  const ourVersions = async () => {
    const list = await plane("private").client.request<{ items: V1EndpointSlice[] }>({
      method: "GET",
      path: SLICES,
      query: { labelSelector: OURS },
    });
    return Object.fromEntries(
      list.items.map((i) => [i.metadata!.name!, i.metadata!.resourceVersion!]),
    );
  };
  const readLease = () =>
    plane("private").client.request<{
      spec?: { holderIdentity?: string; acquireTime?: string; renewTime?: string };
    }>({
      method: "GET",
      path: "/apis/coordination.k8s.io/v1/namespaces/kubeburst/leases/kubeburst",
    });
  /**
   * The handover from `old` to `next`, from their logs and the Lease: the old leader's last write
   * and the new one's first, and when the new one sent its acquiring write. Checks that the new
   * leader wrote nothing before it led, and took the Lease after the old one's fence had closed
   * (`renewDeadline` after its last renewal was sent; one clock, this machine's).
   */
  const fencing = async (old: Replica, next: Replica, lastRenewal: number) => {
    const oldWrites = await logTimes(old.kb, WRITTEN);
    const newWrites = await logTimes(next.kb, WRITTEN);
    const [leadingAt] = await logTimes(next.kb, "leader election: leading");
    const lease = await readLease();
    const acquired = Date.parse(lease.spec?.acquireTime ?? "");
    const f = { oldLast: Math.max(...oldWrites), newFirst: Math.min(...newWrites), acquired };
    assert.ok(leadingAt !== undefined, "the new leader logged that it leads");
    assert.ok(f.newFirst >= leadingAt, "the new leader wrote nothing before it led");
    assert.ok(
      f.oldLast < acquired,
      "the old leader's last write came before the new one took the Lease",
    );
    assert.ok(
      acquired >= lastRenewal + durationMs(LEASE.renewDeadline),
      `the Lease was taken ${acquired - lastRenewal} ms after the old leader's last renewal, after its fence closed`,
    );
    return f;
  };

  /** Runs one phase, then prints and checks what it counted. */
  const phase = async (name: string, body: () => Promise<void>) => {
    rec.begin(name);
    let stats: PhaseStats;
    try {
      await body();
    } finally {
      stats = rec.end();
      log(format(stats));
    }
    assert.ok(stats.sent > 0, "requests were sent during the phase");
    assert.ok(stats.samples > 0, "our slices were sampled during the phase");
    assert.equal(stats.failed, 0, `failed requests:\n${stats.details.join("\n")}`);
    assert.equal(stats.missing, 0, `samples missing a peak endpoint:\n${stats.details.join("\n")}`);
  };

  before(async () => {
    s = await BurstScenario.start({
      log,
      leastPrivilege: true,
      config: {
        staleTTL: "10m",
        api: { probeInterval: "1s" },
        leaderElection: { enabled: true, ...LEASE },
      },
    });
    track(s.kubeburst, "kubeburst");
    // A second Service whose peak pod flips between ready and not keeps the leader writing.
    await createService(plane("private").client, {
      namespace: "shop",
      name: "churn",
      labels: { "kubeburst.io/role": "production" },
    });
    await createService(plane("public").client, {
      namespace: "shop",
      name: "churn",
      labels: { "kubeburst.io/role": "peak" },
      selector: { app: "churn" },
    });
    const pod = await s.cloud.addPod("public", {
      name: "churn-1",
      namespace: "shop",
      labels: { app: "churn" },
      serve: false,
    });
    churn = new Churn(s, pod);

    await s.setBurst(true);
    const all = ["private/web-1", "private/web-2", ...s.peakPods.map((p) => `public/${p.name}`)];
    await eventually(
      "requests reach every pod of both clusters",
      async () => {
        const r = await s.send(60);
        assert.deepEqual(Object.keys(r.byPod).sort(), all.sort());
      },
      { timeoutMs: 120_000 },
    );
    await eventually("the churn Service is written", async () => assert.ok(await churn.written()));
    const peakIps = s.peakPods.map((p) => p.ip);
    rec = new Recorder();
    sampler = new SliceSampler(
      plane("private").client.fork(),
      () => peakIps,
      (absent, how) => rec.sample(absent, how),
    );
    sampler.start();
    traffic = s.cloud.streamFromNode(s.node, s.url, RPS, (at, who) => rec.response(at, who));
    await eventually("traffic and samples are counted", () => {
      assert.ok(rec.phases[0]!.sent > 10);
      assert.ok(rec.phases[0]!.samples > 0);
    });
    log(`setup done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });

  after(async () => {
    await churn?.stop();
    await traffic?.stop();
    await sampler?.stop();
    if (rec) {
      rec.end();
      log(format(rec.total()));
      for (const p of rec.phases) log(`  ${format(p)}`);
    }
    log(`whole file: ${((Date.now() - started) / 1000).toFixed(1)} s`);
    await s?.close(); // stops every replica by PID, continuing a frozen one first
  });

  test("1. the peak API server is killed (SIGKILL) and restarted", async () => {
    const leader = await theLeader();
    await phase("1. peak API server killed and restarted", async () => {
      const t0 = Date.now();
      await plane("public").killApiserver();
      await eventually("kubeburst sees the peak unreachable", async () =>
        assert.equal(await clusterState(leader, "public", "unreachable"), 1),
      );
      const seen = Date.now();
      await plane("public").restartApiserver();
      const up = Date.now();
      await eventually(
        "the peak is synced again",
        async () => assert.equal(await clusterState(leader, "public", "synced"), 1),
        { timeoutMs: 120_000 },
      );
      log(
        `peak API down at +0: seen unreachable at +${seen - t0} ms, answering again at +${up - t0} ms, synced at +${Date.now() - t0} ms`,
      );
    });
  });

  test("2. kubeburst is killed (SIGKILL) and started again with the same config", async () => {
    const old = await theLeader();
    await phase("2. kubeburst killed and restarted", async () => {
      const t0 = Date.now();
      await old.kb.kill();
      await keepReplicas(1);
      const fresh = live()[0]!;
      await eventually(
        "the restarted process leads",
        async () => assert.equal(await metricOf(fresh, "kubeburst_leader"), 1),
        { timeoutMs: 120_000 },
      );
      await eventually("it has synced production and the peak", async () => {
        assert.equal(await clusterState(fresh, "private", "synced"), 1);
        assert.equal(await clusterState(fresh, "public", "synced"), 1);
      });
      log(
        `killed at +0; the restarted process leads at +${Date.now() - t0} ms (lease ${LEASE.leaseDuration}); ` +
          `writes it made: ${await metricOf(fresh, "kubeburst_writer_writes_total")}`,
      );
    });
  });

  test("3. the leader replica is killed (SIGKILL): the standby takes over; the fencing window", async () => {
    await keepReplicas(2);
    const leader = await theLeader();
    const standby = live().find((r) => r !== leader)!;
    await phase("3. leader killed, standby takes over", async () => {
      churn.start();
      try {
        await eventually("the leader writes the churn", async () =>
          assert.ok((await logTimes(leader.kb, WRITTEN, "shop/churn")).length >= 3),
        );
        const killedAt = Date.now();
        await leader.kb.kill();
        // The old leader's last renewal, as it sent it (its write deadlines all end by then + lease).
        const lastRenewal = Date.parse((await readLease()).spec?.renewTime ?? "");
        await eventually(
          "the standby leads",
          async () => assert.equal(await metricOf(standby, "kubeburst_leader"), 1),
          { timeoutMs: 60_000 },
        );
        await eventually("the new leader writes the churn", async () =>
          assert.ok((await logTimes(standby.kb, WRITTEN)).length > 0),
        );
        const f = await fencing(leader, standby, lastRenewal);
        const apiBefore = sampler!.churnChanges.filter((t) => t < f.acquired).at(-1);
        const apiAfter = sampler!.churnChanges.find((t) => t >= f.acquired);
        const rel = (t: number | undefined) => (t === undefined ? "?" : `${t - killedAt} ms`);
        log(
          `fencing, leader SIGKILLed at +0 (lease ${LEASE.leaseDuration}, renew deadline ${LEASE.renewDeadline}, retry ${LEASE.retryPeriod}): ` +
            `its last renewal sent ${rel(lastRenewal)}, its last write ${rel(f.oldLast)}; ` +
            `the standby's acquiring write sent ${rel(f.acquired)}, its first write ${rel(f.newFirst)}: ` +
            `window between the two writers ${f.newFirst - f.oldLast} ms. ` +
            `A watch of the churn slice saw the last change before the takeover ${rel(apiBefore)}, the first after ${rel(apiAfter)}`,
        );
      } finally {
        await churn.stop();
      }
      await eventually("the churn settles", async () => assert.ok(await churn.written()));
    });
  });

  test("3b. the leader is frozen (SIGSTOP) past its lease, then continued: it writes nothing more and exits", async () => {
    await keepReplicas(2);
    const leader = await theLeader();
    const standby = live().find((r) => r !== leader)!;
    await phase("3b. leader frozen past its lease, then continued", async () => {
      // Nothing to write at the freeze: any write it counts later was sent after SIGCONT.
      await eventually("the churn is written", async () => assert.ok(await churn.written()));
      const before = await metricOf(leader, "kubeburst_writer_writes_total");
      const writesBefore = await logTimes(leader.kb, WRITTEN);
      const frozenAt = Date.now();
      leader.kb.freeze();
      const lastRenewal = Date.parse((await readLease()).spec?.renewTime ?? "");
      /** Its writes counter as it answered after SIGCONT, and when. */
      const reads: { at: number; writes: number | undefined }[] = [];
      let polling: Promise<void> | undefined;
      let continuedAt = 0;
      let code: number | null | string = "not continued";
      let versionsBefore: Record<string, string> = {};
      try {
        // Its Lease expires while its informers' watches pile up peak changes it would write.
        churn.start();
        await eventually(
          "the standby leads",
          async () => assert.equal(await metricOf(standby, "kubeburst_leader"), 1),
          { timeoutMs: 60_000 },
        );
        await eventually("the new leader writes the churn", async () =>
          assert.ok((await logTimes(standby.kb, WRITTEN)).length > 0),
        );
        // Then quiet: once the new leader has written the last flip, our slices change only if
        // the old leader writes when it runs again.
        await churn.stop();
        await eventually("the new leader has written the last flip", async () =>
          assert.ok(await churn.written()),
        );
        versionsBefore = await ourVersions();
        // A request for its counter waits in its socket: it is answered as soon as the process
        // runs again, before it can shut its server. Then more, until it exits.
        const queued = queuedGet(leader.kb.address, "/metrics");
        await queued.sent;
        continuedAt = Date.now();
        leader.kb.thaw();
        polling = (async () => {
          const first = await queued.body;
          reads.push({
            at: Date.now(),
            writes: first === undefined ? undefined : sumMetric(first, WRITES),
          });
          while (leader.exit === undefined) {
            const writes = await leader.kb.metric(WRITES).catch(() => undefined);
            if (writes !== undefined) reads.push({ at: Date.now(), writes });
            await sleep(10);
          }
        })();
        code = await within(leader.kb.exited, 60_000, "still running");
      } finally {
        leader.kb.thaw();
        await polling;
        await churn.stop();
      }
      assert.equal(code, 1, "the old leader exits (code 1) on lost leadership");
      assert.deepEqual(
        await ourVersions(),
        versionsBefore,
        "no slice of ours changed from SIGCONT until the old leader had exited",
      );
      const lines = await leader.kb.logLines();
      assert.ok(
        lines.some((l) => String(l.msg).startsWith("lost the leader Lease")),
        "it says it lost the Lease",
      );
      assert.deepEqual(
        await logTimes(leader.kb, WRITTEN),
        writesBefore,
        "no write logged by the old leader after the freeze",
      );
      const answered = reads.filter((r) => r.writes !== undefined);
      for (const r of answered) {
        assert.equal(r.writes, before, `its writes counter ${r.at - continuedAt} ms after SIGCONT`);
      }
      assert.equal(await metricOf(standby, "kubeburst_leader"), 1, "the new leader still leads");
      const f = await fencing(leader, standby, lastRenewal);
      const rel = (t: number | undefined) => (t === undefined ? "?" : `${t - frozenAt} ms`);
      log(
        `fencing, leader SIGSTOPped at +0 (lease ${LEASE.leaseDuration}): its last renewal sent ${rel(lastRenewal)}, ` +
          `its last write ${rel(f.oldLast)} (none pending); the standby's acquiring write sent ${rel(f.acquired)}, ` +
          `its first write ${rel(f.newFirst)}; SIGCONT at ${rel(continuedAt)}; the old leader exited (code ${code}) ` +
          `at ${rel(leader.exitedAt)}, no slice changed meanwhile; its writes counter read ${answered.length} time(s) after SIGCONT ` +
          `(first at +${(answered[0]?.at ?? Number.NaN) - continuedAt} ms): ${[...new Set(answered.map((r) => r.writes))].join(", ") || "never answered"}, ` +
          `${before} before the freeze`,
      );
    });
  });

  test("4. production's API server restarts", async () => {
    await keepReplicas(2);
    await theLeader();
    await phase("4. production API server restarted", async () => {
      const t0 = Date.now();
      await plane("private").restartApiserver();
      const up = Date.now();
      const leader = await theLeader();
      await eventually(
        "the leader has synced production again",
        async () => assert.equal(await clusterState(leader, "private", "synced"), 1),
        { timeoutMs: 120_000 },
      );
      const exits = replicas.filter((r) => (r.exitedAt ?? 0) >= t0);
      log(
        `production API restarted at +0, answering at +${up - t0} ms; ${leader.name} leads and has synced at +${Date.now() - t0} ms; ` +
          `replicas that exited meanwhile: ${exits.map((r) => `${r.name} (code ${r.exit})`).join(", ") || "none"}`,
      );
    });
  });

  test("5. production's Nodes cannot be listed: the last known ranges are kept", async () => {
    await keepReplicas(2);
    await theLeader();
    await phase("5. production Nodes list fails", async () => {
      const t0 = Date.now();
      await s.setProductionRbac("nodes");
      try {
        await eventually(
          "production's API server denies kubeburst Nodes, and only them",
          async () => {
            assert.equal(await canI("list", "nodes"), false);
            assert.equal(await canI("list", "services"), true);
          },
        );
        // A frozen API server is what makes kubeburst's probe relist everything once it answers
        // again; a restart would not do here, as a restarted API server refuses every
        // non-admin request for a moment until its RBAC caches are filled (phase 4 saw that).
        plane("private").pauseApiserver();
        const pausedAt = Date.now();
        try {
          // The leader may lose its Lease meanwhile and exit: the replicas that run, all of them.
          await eventually(
            "every replica finds production unreachable",
            async () => {
              assert.ok(live().length > 0);
              for (const r of live()) {
                const times = await logTimes(
                  r.kb,
                  "API server does not answer; marking it unreachable",
                );
                assert.ok(
                  times.some((t) => t >= pausedAt),
                  r.name,
                );
              }
            },
            { timeoutMs: 30_000 },
          );
        } finally {
          plane("private").resumeApiserver();
        }
        const resumedAt = Date.now();
        let leader: Replica | undefined;
        let failed: string[] = [];
        await eventually(
          "the replica that leads lists production again, and the Nodes list fails",
          async () => {
            const now = await leaders();
            assert.equal(now.length, 1);
            leader = now[0]!;
            failed = (await leader.kb.logLines())
              .filter((l) => l.msg === "informer failed; retrying" && Number(l.time) >= pausedAt)
              .map((l) => String(l.reason).split(":")[0]!)
              .filter((p) => p !== "/readyz");
            assert.ok(failed.includes("/api/v1/nodes"), failed.join(", "));
          },
          { timeoutMs: 60_000 },
        );
        if (!leader) throw new Error("no leader");
        assert.equal(await metricOf(leader, "kubeburst_production_ranges_known"), 1);
        // A peak change is still written, judged against the ranges known before.
        await churn.flip();
        await eventually(
          "a peak change is written while Nodes cannot be listed",
          async () => assert.ok(await churn.written()),
          { timeoutMs: 60_000 },
        );
        assert.equal(await clusterState(leader, "private", "refused"), 1, "Nodes still refused");
        log(
          `Nodes forbidden at +0; production API frozen from +${pausedAt - t0} to +${resumedAt - t0} ms (until kubeburst saw it); ` +
            `after it answered again ${leader.name} failed to list ${[...new Set(failed)].join(", ")}, kept the last known ranges ` +
            `and wrote a peak change at +${Date.now() - t0} ms`,
        );
      } finally {
        await s.setProductionRbac();
      }
      const leader = await theLeader();
      await eventually(
        "production is synced again once Nodes are readable",
        async () => assert.equal(await clusterState(leader, "private", "synced"), 1),
        { timeoutMs: 120_000 },
      );
      const exits = replicas.filter((r) => (r.exitedAt ?? 0) >= t0);
      log(
        `readable again and synced at +${Date.now() - t0} ms; replicas that exited meanwhile: ${exits.map((r) => `${r.name} (code ${r.exit})`).join(", ") || "none"}`,
      );
    });
  });

  test("in total: not one request failed and no sample missed a peak endpoint", () => {
    const t = rec.total();
    log(format(t));
    assert.ok(t.sent > 0);
    assert.equal(t.failed, 0, t.details.join("\n"));
    assert.equal(t.missing, 0, t.details.join("\n"));
  });
});
