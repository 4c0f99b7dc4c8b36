// Slice churn on a large Service (kubeburst issue #10): a peak Service with 3,000 endpoints in
// 30 hand-written slices of 100 changes one endpoint at a time, the way the EndpointSlice
// controller changes its slices. A watch on production's slices of ours checks after every single
// event that no endpoint the peak keeps through a change is missing from all of our slices (what
// kube-proxy would program), and counts the writes each change costs. Then a kubeburst with a
// short resync shows that a steady state costs no writes at all.
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import { LocalCloud } from "../../src/localcloud/local-cloud.ts";
import { eventually } from "../support/eventually.ts";
import { createService, deleteObject, OURS } from "../support/kube-fixtures.ts";
import { writeTestConfig } from "../support/kubeburst-config.ts";
import {
  createPeakSlice,
  ipv4Run,
  type PeakEndpoint,
  setPeakSliceEndpoints,
} from "../support/peak-slices.ts";
import { settled } from "../support/settled.ts";
import { SliceWatch } from "../support/slice-watch.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const NS = "shop";
const SERVICE = "web";
const SLICES = 30;
const PER_SLICE = 100;
const RESYNC_MS = 3_000;
/** Generous for two busy cores; each change prints how long it really took. */
const converges = { timeoutMs: 60_000, intervalMs: 50 };

/** The peak's slices as the test wrote them: slice name → endpoints. */
type Model = Map<string, PeakEndpoint[]>;
/** One step of a change: edits the model, returns the names of the slices it touched. */
type Step = (model: Model) => string[];

const sliceName = (i: number) => `${SERVICE}-peak-${String(i).padStart(2, "0")}`;

function cloneModel(model: Model): Model {
  return new Map([...model].map(([name, eps]) => [name, eps.map((e) => ({ ...e }))]));
}

function addressesOf(model: Model): Set<string> {
  return new Set([...model.values()].flatMap((eps) => eps.map((e) => e.address)));
}

/** address → ready, as the peak publishes it (an address in two slices is ready if either is). */
function readinessOf(model: Model): Record<string, boolean> {
  const out: Record<string, boolean> = {};
  for (const eps of model.values()) {
    for (const e of eps) out[e.address] = (out[e.address] ?? false) || e.ready !== false;
  }
  return out;
}

describe("slice churn on a Service of 3,000 peak endpoints", { timeout: 900_000 }, () => {
  let cloud: LocalCloud;
  let dir: string;
  let kb: KubeburstProcess | undefined;
  let watch: SliceWatch | undefined;
  const model: Model = new Map();
  /** Slices that exist in the peak's API. */
  const published = new Set<string>();
  /** Endpoints that must be in at least one of our slices at every event (the invariant). */
  let required = new Set<string>();
  /** Every event at which the invariant did not hold. */
  const violations: string[] = [];
  const api = (cluster: string) => cloud.cluster(cluster).client;
  const writes = (verb?: string) =>
    kb!.metric("kubeburst_writer_writes_total", verb ? { verb } : {});

  const writeConfig = (file: string, settings: Record<string, unknown>) =>
    writeTestConfig(cloud, dir, file, { peak: { maxEndpointsPerService: 5000 }, settings });

  /** Makes the peak's API hold slice `name` as the model says (created, patched or deleted). */
  async function publish(name: string): Promise<void> {
    const endpoints = model.get(name);
    if (endpoints === undefined) {
      await deleteObject(
        api("public"),
        `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices/${name}`,
      );
      published.delete(name);
    } else if (published.has(name)) {
      await setPeakSliceEndpoints(api("public"), NS, name, endpoints);
    } else {
      await createPeakSlice(api("public"), NS, SERVICE, name, endpoints);
      published.add(name);
    }
  }

  /** Our slices hold exactly the peak's endpoints, each once, with the peak's readiness. */
  function assertMirrored(): void {
    watch!.assertRunning();
    assert.deepEqual(watch!.readiness(), readinessOf(model));
    const twice = [...watch!.addressCounts()].filter(([, n]) => n > 1);
    assert.deepEqual(twice, [], "every address in one slice of ours");
  }

  /**
   * Makes one change, step by step (each step's slices written to the peak at once, the steps
   * back to back), then waits until production mirrors it and the write counter has stopped.
   * Returns what it cost.
   */
  async function change(what: string, steps: Step[]) {
    const after = cloneModel(model);
    for (const step of steps) step(after);
    const kept = addressesOf(after);
    required = new Set([...addressesOf(model)].filter((a) => kept.has(a)));
    const [writes0, applies0, deletes0] = [
      await writes(),
      await writes("apply"),
      await writes("delete"),
    ];
    const events0 = watch!.count;
    const started = Date.now();
    for (const step of steps) {
      for (const name of step(model)) await publish(name);
    }
    await eventually(`${what}: mirrored in production`, assertMirrored, converges);
    const convergedMs = Date.now() - started;
    const total = (await settled(`${what}: writes`, () => writes())) - writes0;
    const cost = {
      writes: total,
      applies: (await writes("apply")) - applies0,
      deletes: (await writes("delete")) - deletes0,
      events: watch!.count - events0,
    };
    log(
      `${what}: ${cost.writes} writes (${cost.applies} apply, ${cost.deletes} delete), ${cost.events} watch events, mirrored after ${convergedMs} ms`,
    );
    assert.deepEqual(violations, [], "no endpoint the peak kept went missing from all our slices");
    assert.equal(watch!.relists, 0, "the watch saw every event");
    return cost;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-churn-"));
    cloud = await LocalCloud.start([{ name: "private" }, { name: "public" }], { log });
    for (const name of cloud.clusterNames()) await cloud.ensureNamespace(name, NS);
    await createService(api("private"), {
      namespace: NS,
      name: SERVICE,
      labels: { "kubeburst.io/role": "production" },
    });
    await createService(api("public"), {
      namespace: NS,
      name: SERVICE,
      labels: { "kubeburst.io/role": "peak" },
    });
    // 3,000 addresses from 198.18.17.1 up: inside public's pod range (198.18.16.0/20).
    const addresses = ipv4Run("198.18.17.1", SLICES * PER_SLICE);
    for (let i = 0; i < SLICES; i++) {
      const name = sliceName(i);
      model.set(
        name,
        addresses.slice(i * PER_SLICE, (i + 1) * PER_SLICE).map((address) => ({ address })),
      );
      await publish(name);
    }
    watch = await SliceWatch.open(
      api("private"),
      NS,
      `${OURS},kubernetes.io/service-name=${SERVICE}`,
      {
        onEvent: (entry, slices) => {
          if (required.size === 0) return;
          const present = new Set<string>();
          for (const s of slices.values()) {
            for (const e of s.endpoints ?? []) for (const a of e.addresses) present.add(a);
          }
          const missing = [...required].filter((a) => !present.has(a));
          if (missing.length > 0) {
            violations.push(
              `after ${entry.type} ${entry.name} (rv ${entry.resourceVersion}): ${missing.length} missing from every slice, e.g. ${missing.slice(0, 5).join(", ")}`,
            );
          }
        },
      },
    );
    kb = await KubeburstProcess.start(
      await writeConfig("kubeburst.yaml", { syncTimeout: "30s" }),
      dir,
      "kubeburst-churn",
    );
    await kb.waitReady();
    const started = Date.now();
    await eventually("3,000 endpoints mirrored", assertMirrored, {
      timeoutMs: 120_000,
      intervalMs: 100,
    });
    const initial = await settled("initial writes", () => writes());
    log(
      `3,000 endpoints mirrored in ${watch.slices.size} slices with ${initial} writes, ${Date.now() - started} ms after ready`,
    );
  });

  after(async () => {
    await watch?.close();
    await kb?.stop();
    await cloud?.close();
    if (dir && !process.env.KUBEBURST_KEEP_LOGS) await rm(dir, { recursive: true, force: true });
  });

  test("one endpoint's readiness changes: at most 2 writes, none of the others ever missing", async () => {
    const cost = await change("readiness of one endpoint", [
      (m) => {
        m.get(sliceName(3))![42]!.ready = false;
        return [sliceName(3)];
      },
    ]);
    assert.ok(cost.writes >= 1 && cost.writes <= 2, `${cost.writes} writes`);
  });

  test("one endpoint that sorts first is added to a full slice: at most 2 writes", async () => {
    const cost = await change("one endpoint added first into a full slice", [
      (m) => {
        m.get(sliceName(0))!.unshift({ address: "198.18.16.5" });
        return [sliceName(0)];
      },
    ]);
    assert.ok(cost.writes >= 1 && cost.writes <= 2, `${cost.writes} writes`);
  });

  test("one endpoint is removed: at most 2 writes", async () => {
    const cost = await change("one endpoint removed", [
      (m) => {
        m.get(sliceName(5))!.splice(50, 1);
        return [sliceName(5)];
      },
    ]);
    assert.ok(cost.writes >= 1 && cost.writes <= 2, `${cost.writes} writes`);
  });

  test("one endpoint moves to another slice (target first, then source): at most 2 writes, never missing", async () => {
    let moved: PeakEndpoint | undefined;
    const cost = await change("one endpoint moved between slices", [
      (m) => {
        moved = { ...m.get(sliceName(10))![7]! };
        m.get(sliceName(5))!.push({ ...moved });
        return [sliceName(5)];
      },
      (m) => {
        const source = m.get(sliceName(10))!;
        source.splice(
          source.findIndex((e) => e.address === moved!.address),
          1,
        );
        return [sliceName(10)];
      },
    ]);
    assert.ok(cost.writes >= 1 && cost.writes <= 2, `${cost.writes} writes`);
  });

  test("a peak slice is deleted and its endpoints re-created in a new slice (new first): never missing", async () => {
    const cost = await change("a slice of 100 replaced by a new one", [
      (m) => {
        m.set(sliceName(SLICES), m.get(sliceName(SLICES - 1))!);
        return [sliceName(SLICES)];
      },
      (m) => {
        m.delete(sliceName(SLICES - 1));
        return [sliceName(SLICES - 1)];
      },
    ]);
    assert.ok(cost.writes >= 1, `${cost.writes} writes`);
  });

  test("a steady state with a 3 s resync costs no writes", async () => {
    await kb!.stop();
    kb = undefined;
    const events0 = watch!.count;
    kb = await KubeburstProcess.start(
      await writeConfig("kubeburst-resync.yaml", {
        syncTimeout: "30s",
        resyncPeriod: `${RESYNC_MS}ms`,
      }),
      dir,
      "kubeburst-resync",
    );
    await kb.waitReady();
    const readyAt = Date.now();
    // A resync pass shows as a burst of no-op reconciles (one per Service); wait for two
    // bursts after the start pass, told apart by the quiet between them.
    const bursts: number[] = [];
    let last = await kb.metric("kubeburst_writer_noop_syncs_total");
    let lastAt = Date.now();
    const startNoops = last;
    await eventually(
      "two resync passes",
      async () => {
        const now = await kb!.metric("kubeburst_writer_noop_syncs_total");
        if (now > last) {
          if (Date.now() - lastAt > RESYNC_MS / 2) bursts.push(Date.now());
          last = now;
          lastAt = Date.now();
        }
        assert.ok(bursts.length >= 2, `${bursts.length} resync passes seen`);
        assert.ok(Date.now() - readyAt >= 2 * RESYNC_MS, "two resync periods passed");
      },
      { timeoutMs: 10 * RESYNC_MS + 30_000, intervalMs: 100 },
    );
    const total = await writes();
    log(
      `restart and ${bursts.length} resyncs (${last - startNoops} no-op reconciles after ready, ${last} in all): ${total} writes, ${watch!.count - events0} watch events`,
    );
    assertMirrored();
    assert.equal(total, 0, "no write from the restarted process, through two resyncs");
    assert.equal(watch!.count - events0, 0, "our slices untouched");
  });
});
