// The slice writer against an in-memory API: which writes one change costs, and in which order.
// Addresses in this file are only data: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { webService } from "../../test/support/domain-fixtures.ts";
import type { ServiceState } from "../aggregate/aggregator.ts";
import type { PeakReport } from "../controller/report.ts";
import type { Endpoint } from "../domain/endpoints.ts";
import type { Source } from "../domain/source.ts";
import type { KubeClient, KubeRequest } from "../kube/kube-client.ts";
import { silentLogger } from "../observability/logger.ts";
import { Metrics } from "../observability/metrics.ts";
import { FakeClock } from "../runtime/clock.ts";
import { alwaysFence } from "./fence.ts";
import { FencedWrites } from "./fenced-writes.ts";
import { SliceWriter } from "./slice-writer.ts";

const KEY = `${webService.namespace}/${webService.name}`;
const READY = { ready: true, serving: true, terminating: false };

/** Slices by name, as the API server holds them; `lag` keeps the cache one write behind. */
class FakeProduction {
  readonly store = new Map<string, V1EndpointSlice>();
  readonly log: string[] = [];
  cache = new Map<string, V1EndpointSlice>();
  lag = false;
  #rv = 0;
  readonly client = {
    request: async <T>(req: KubeRequest): Promise<T> => {
      const name = req.path.split("/").at(-1)!;
      if (req.method === "DELETE") {
        this.store.delete(name);
        this.log.push(`delete ${name}`);
        this.#sync();
        return undefined as T;
      }
      const body = req.body as V1EndpointSlice;
      const slice = {
        ...body,
        metadata: { ...body.metadata, uid: `uid-${name}`, resourceVersion: String(++this.#rv) },
      };
      const added = (body.endpoints ?? []).length;
      this.store.set(name, slice);
      this.log.push(`apply ${name} (${added})`);
      this.#sync();
      return slice as T;
    },
  } as unknown as KubeClient;

  ourSlicesOf(): V1EndpointSlice[] {
    return [...this.cache.values()];
  }

  /** Someone else edits a slice of ours. */
  tamper(name: string): void {
    const slice = this.store.get(name)!;
    const edited = {
      ...slice,
      endpoints: [],
      metadata: { ...slice.metadata, resourceVersion: String(++this.#rv) },
    };
    this.store.set(name, edited);
    this.#sync();
  }

  catchUp(): void {
    this.cache = new Map(this.store);
  }

  #sync(): void {
    if (!this.lag) this.catchUp();
  }
}

function eps(from: number, n: number): Endpoint[] {
  return Array.from({ length: n }, (_, i) => {
    const k = from + i;
    return { address: `198.18.${32 + Math.floor(k / 250)}.${(k % 250) + 1}`, conditions: READY };
  }).sort((a, b) => (a.address < b.address ? -1 : 1));
}

function source(name: string, endpoints: Endpoint[]): Source {
  return {
    name,
    refused: [],
    group: {
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints,
    },
  };
}

function state(sources: Source[], over: Partial<ServiceState> = {}): ServiceState {
  const peak: PeakReport = {
    kind: "peak",
    cluster: "public",
    service: KEY,
    generation: 1,
    role: { kind: "peak" },
    sources: new Map(sources.map((s) => [s.name, s])),
    refused: new Map(),
  };
  return { production: undefined, peaks: [peak], unknown: [], conflicts: [], ...over };
}

function setup() {
  const prod = new FakeProduction();
  const clock = new FakeClock();
  const writer = new SliceWriter({
    installation: "kubeburst",
    writes: new FencedWrites(alwaysFence, new Metrics(), 30_000),
    metrics: new Metrics(),
    logger: silentLogger(),
    clock,
  });
  const signal = new AbortController().signal;
  const reconcile = async (
    s: ServiceState,
    { deep = false, takesPart = true }: { deep?: boolean; takesPart?: boolean } = {},
  ) => {
    prod.log.length = 0;
    await writer.reconcile(KEY, s, takesPart ? webService : undefined, prod, deep, signal);
    return [...prod.log];
  };
  return { prod, clock, writer, reconcile };
}

/** 30 peak slices of 100 endpoints: a 3,000-endpoint Service. */
const big = () => Array.from({ length: 30 }, (_, i) => source(`web-${i}`, eps(i * 100, 100)));

test("a 3,000-endpoint Service: 30 slices at first, then nothing to do", async () => {
  const { reconcile } = setup();
  const sources = big();
  assert.equal((await reconcile(state(sources))).length, 30);
  assert.deepEqual(await reconcile(state(sources)), []);
  assert.deepEqual(
    await reconcile(state(sources), { deep: true }),
    [],
    "a full pass finds nothing either",
  );
});

test("one endpoint added, removed or made not ready costs one write", async (t) => {
  const first = { address: "198.18.0.1", conditions: READY };
  const notReady = eps(700, 100).map((e, i) =>
    i === 3 ? { ...e, conditions: { ...READY, ready: false } } : e,
  );
  const cases: [string, Endpoint[]][] = [
    ["an endpoint that sorts first, into a full slice", [first, ...eps(700, 100)]],
    ["an endpoint into a slice with room", [first, ...eps(700, 99)]],
    ["one removed", eps(701, 99)],
    ["one made not ready", notReady],
  ];
  for (const [name, endpoints] of cases) {
    await t.test(name, async () => {
      const { reconcile } = setup();
      const sources = big();
      await reconcile(state(sources));
      const log = await reconcile(state(sources.with(7, source("web-7", endpoints))));
      assert.equal(log.length, 1, log.join("; "));
    });
  }
});

test("a slice of ours changed by someone else is put back; the rest is not touched", async () => {
  const { prod, reconcile } = setup();
  const sources = big();
  await reconcile(state(sources));
  const victim = [...prod.store.keys()][4]!;
  prod.tamper(victim);
  assert.deepEqual(await reconcile(state(sources)), [`apply ${victim} (100)`]);
});

test("an endpoint moving between peak slices is added before it is removed", async () => {
  const { reconcile } = setup();
  const a = source("web-a", eps(0, 3));
  const b = source("web-b", eps(3, 3));
  await reconcile(state([a, b]));
  const moved = eps(2, 1)[0]!;
  const log = await reconcile(
    state([
      source("web-a", eps(0, 2)),
      source(
        "web-b",
        [moved, ...eps(3, 3)].sort((x, y) => (x.address < y.address ? -1 : 1)),
      ),
    ]),
  );
  assert.equal(log.length, 2);
  assert.match(log[0]!, /\(4\)$/, "the slice gaining the endpoint is written first");
  assert.match(log[1]!, /\(2\)$/);
});

test("a deleted peak slice: its slices are deleted after every apply", async () => {
  const { reconcile } = setup();
  await reconcile(state([source("web-a", eps(0, 3)), source("web-b", eps(3, 3))]));
  const log = await reconcile(state([source("web-a", eps(0, 4))]));
  assert.equal(log.length, 2);
  assert.match(log[0]!, /^apply /);
  assert.match(log[1]!, /^delete /);
});

test("a cache that has not caught up with our write causes no second write", async () => {
  const { prod, reconcile } = setup();
  prod.lag = true;
  const sources = [source("web-a", eps(0, 3))];
  assert.equal((await reconcile(state(sources))).length, 1);
  assert.deepEqual(await reconcile(state(sources)), [], "our pending write shadows the cache");
  assert.deepEqual(await reconcile(state(sources), { deep: true }), [], "also in a full pass");
  prod.catchUp();
  assert.deepEqual(await reconcile(state(sources)), []);
});

test("slices of a peak not known since start stay; a Service that stops taking part loses all", async () => {
  const { reconcile } = setup();
  await reconcile(state([source("web-a", eps(0, 3))]));
  // After a restart "public" is not known yet: no report from it, its slices stay.
  const unknown: ServiceState = {
    production: undefined,
    peaks: [],
    unknown: ["public"],
    conflicts: [],
  };
  assert.deepEqual(await reconcile(unknown), []);
  const log = await reconcile(unknown, { takesPart: false });
  assert.equal(log.length, 1);
  assert.match(log[0]!, /^delete /);
});
