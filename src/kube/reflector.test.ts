// The reflector against a scripted plain-HTTP server on 127.0.0.1, for the behaviours a real
// API server cannot be made to show on demand (429 with Retry-After, a server that ends every
// watch at once) and for exact handler order. test/integration/reflector.test.ts covers the
// rest on a real API server.
import assert from "node:assert/strict";
import type http from "node:http";
import { afterEach, beforeEach, describe, test } from "node:test";
import { eventually } from "../../test/support/eventually.ts";
import {
  FakeApiServer,
  listOf,
  object,
  type SeenRequest,
  sendJson,
  status,
} from "../../test/support/fake-api-server.ts";
import { type Clock, FakeClock } from "../runtime/clock.ts";
import { KubeApiError } from "./kube-api-error.ts";
import { KubeClient } from "./kube-client.ts";
import {
  type KubeObject,
  Reflector,
  type ReflectorHandlers,
  type ReflectorState,
  stripManagedFields,
} from "./reflector.ts";

/** Real time for `now`; sleeps are recorded and last 1 ms, so back-off costs no test time. */
class RecordingClock implements Clock {
  readonly sleeps: number[] = [];
  now(): number {
    return Date.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1);
      signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

type Obj = KubeObject & { data?: Record<string, string> };
type WatchScript = (req: SeenRequest, res: http.ServerResponse) => void;

const fast = { timeout: 20_000, intervalMs: 5 };
const watchEvent = (type: string, obj: unknown) => `${JSON.stringify({ type, object: obj })}\n`;
/** A watch that stays open, sending nothing. */
const holdOpen: WatchScript = (_req, res) => {
  res.writeHead(200, { "Content-Type": "application/json" });
  res.flushHeaders();
};

describe("Reflector", () => {
  let fake: FakeApiServer;
  let client: KubeClient;
  /** The collection the fake serves on list. */
  let items: Obj[];
  let listRv: string;
  /** How the next watches answer, in order; then `defaultWatch`. */
  let watchScripts: WatchScript[];
  let defaultWatch: WatchScript;
  /** Whether a list from a resourceVersion (a version check) is answered "too large". */
  let versionTooLarge: boolean;
  let run: AbortController;

  /** A fresh server and client, so that a request aborted earlier cannot land in this case. */
  async function fresh(): Promise<void> {
    run?.abort();
    client?.close();
    await fake?.close();
    fake = await FakeApiServer.start();
    fake.handler = (req, res) => {
      if (!req.watch && req.query.has("resourceVersion") && versionTooLarge) {
        return sendJson(
          res,
          504,
          status(504, "Timeout", { causes: [{ reason: "ResourceVersionTooLarge" }] }),
        );
      }
      if (!req.watch) return sendJson(res, 200, listOf(items, listRv));
      (watchScripts.shift() ?? defaultWatch)(req, res);
    };
    client = new KubeClient(fake.kubeConfig(), { timeoutMs: 5_000 });
    items = [object("a", "1"), object("b", "2")];
    listRv = "10";
    watchScripts = [];
    defaultWatch = holdOpen;
    versionTooLarge = false;
    run = new AbortController();
  }
  beforeEach(fresh);
  afterEach(async () => {
    run.abort();
    client.close();
    await fake.close();
  });

  function reflector(
    clock: Clock,
    handlers: ReflectorHandlers<Obj> = {},
    extra: Partial<ConstructorParameters<typeof Reflector<Obj>>[0]> = {},
  ): Reflector<Obj> {
    return new Reflector<Obj>({
      client,
      clock,
      path: "/api/v1/namespaces/ns/configmaps",
      resyncMs: 0,
      minBackoffMs: 10,
      maxBackoffMs: 80,
      handlers,
      ...extra,
    });
  }

  /** Runs `r` until the test's end (the next beforeEach aborts it), returns its promise. */
  const start = (r: Reflector<Obj>) => r.run(run.signal);

  test("onListed fires after every list, after that list's handlers; requestRelist relists", async () => {
    const clock = new RecordingClock();
    const calls: string[] = [];
    const r = reflector(clock, {
      onAdd: (o) => calls.push(`add ${o.metadata?.name}`),
      onUpdate: (_old, o) => calls.push(`update ${o.metadata?.name}`),
      onDelete: (o) => calls.push(`delete ${o.metadata?.name}`),
      onSynced: () => calls.push("synced"),
      onListed: () => calls.push("listed"),
    });
    const running = start(r);
    await eventually("first list and watch", () => assert.equal(fake.watches.length, 1), fast);
    assert.deepEqual(calls, ["add a", "add b", "synced", "listed"]);

    // b deleted and c added while the watch saw nothing: only a relist can tell.
    items = [object("a", "1"), object("c", "11")];
    listRv = "12";
    calls.length = 0;
    r.requestRelist();
    await eventually(
      "relisted and watching again",
      () => assert.equal(fake.watches.length, 2),
      fast,
    );
    assert.deepEqual(calls, ["add c", "delete b", "listed"]);
    assert.equal(fake.lists.length, 2);
    assert.equal(fake.watches[1]?.query.get("resourceVersion"), "12");
    assert.deepEqual(clock.sleeps, [], "an asked-for relist is not a failure");
    assert.deepEqual(
      r
        .list()
        .map((o) => o.metadata?.name)
        .sort(),
      ["a", "c"],
    );
    run.abort();
    await running;
  });

  test("requestRelist cuts a back-off wait short", async () => {
    const clock = new FakeClock();
    let failing = true;
    const serve = fake.handler;
    fake.handler = (req, res) =>
      failing ? sendJson(res, 500, status(500, "InternalError")) : serve(req, res);
    let listed = 0;
    const r = reflector(clock, { onListed: () => listed++ }, { minBackoffMs: 60_000 });
    const running = start(r);
    await eventually(
      "waiting after a failed list",
      () => assert.equal(clock.pendingSleeps, 1),
      fast,
    );
    assert.equal(r.state, "unreachable");
    failing = false;
    r.requestRelist();
    await eventually(
      "listed without waiting out the back-off",
      () => assert.equal(listed, 1),
      fast,
    );
    assert.equal(clock.now(), 0, "no time passed");
    run.abort();
    await running;
  });

  test("410 Gone and a too-large resourceVersion relist at once and fire onListed", async () => {
    const cases: { name: string; script: WatchScript }[] = [
      {
        name: "in-stream 410",
        script: (_req, res) => {
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end(watchEvent("ERROR", status(410, "Expired")));
        },
      },
      { name: "HTTP 410", script: (_req, res) => sendJson(res, 410, status(410, "Expired")) },
      {
        name: "HTTP 504 too large",
        script: (_req, res) =>
          sendJson(
            res,
            504,
            status(504, "Timeout", {
              causes: [
                { reason: "ResourceVersionTooLarge", message: "Too large resource version" },
              ],
              retryAfterSeconds: 1,
            }),
          ),
      },
      {
        name: "in-stream too large",
        script: (_req, res) => {
          res.writeHead(200, { "Content-Type": "application/json" });
          res.end(
            watchEvent(
              "ERROR",
              status(504, "Timeout", { causes: [{ reason: "ResourceVersionTooLarge" }] }),
            ),
          );
        },
      },
    ];
    for (const c of cases) {
      await fresh();
      watchScripts = [c.script];
      const clock = new RecordingClock();
      let listed = 0;
      const states: ReflectorState[] = [];
      const r = reflector(clock, {
        onListed: () => listed++,
        onState: (s) => states.push(s),
      });
      const running = start(r);
      await eventually(
        `${c.name}: watching again`,
        () => assert.equal(fake.watches.length, 2),
        fast,
      );
      assert.equal(fake.lists.length, 2, `${c.name}: listed again`);
      assert.equal(listed, 2, `${c.name}: onListed after the relist`);
      assert.deepEqual(clock.sleeps, [], `${c.name}: no back-off`);
      assert.deepEqual(states, ["synced"], `${c.name}: never reported unreachable`);
      run.abort();
      await running;
    }
  });

  test("a relist whose version fails the same way again backs off instead of spinning", async () => {
    const clock = new RecordingClock();
    defaultWatch = (_req, res) => sendJson(res, 410, status(410, "Expired"));
    const r = reflector(clock);
    const running = start(r);
    await eventually("several rounds", () => assert.ok(fake.lists.length >= 6), fast);
    run.abort();
    await running;
    // One relist at once, then each further one only after a growing, bounded wait.
    assert.deepEqual(clock.sleeps.slice(0, 4), [10, 20, 40, 80]);
    assert.ok(clock.sleeps.every((ms) => ms <= 80));
  });

  test("watches that end at once back off with growing, bounded waits; progress resets them", async () => {
    const clock = new RecordingClock();
    const endAtOnce: WatchScript = (_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.end();
    };
    watchScripts = Array.from({ length: 6 }, () => endAtOnce);
    // Then one that delivers an event before the connection breaks (a failure, but after
    // progress: the wait starts from the minimum), then one more that ends at once.
    watchScripts.push((_req, res) => {
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write(watchEvent("MODIFIED", object("a", "20")));
      setTimeout(() => res.destroy(), 20);
    });
    watchScripts.push(endAtOnce);
    const r = reflector(clock);
    const running = start(r);
    await eventually("nine watches", () => assert.equal(fake.watches.length, 9), fast);
    run.abort();
    await running;
    assert.deepEqual(clock.sleeps, [10, 20, 40, 80, 80, 80, 10, 20]);
    assert.equal(fake.lists.length, 1, "ending a watch is no reason to relist");
    assert.equal(r.get("ns/a")?.metadata?.resourceVersion, "20");
  });

  test("429 and 503 with Retry-After wait the server's time, bounded; without it, the back-off", async () => {
    const cases = [
      { name: "429 Retry-After 2", code: 429, header: "2", details: undefined, want: 2000 },
      { name: "429 Retry-After 1 h", code: 429, header: "3600", details: undefined, want: 5000 },
      { name: "503 Retry-After 3", code: 503, header: "3", details: undefined, want: 3000 },
      {
        name: "429 details",
        code: 429,
        header: undefined,
        details: { retryAfterSeconds: 4 },
        want: 4000,
      },
      { name: "429 silent", code: 429, header: undefined, details: undefined, want: 10 },
      { name: "500 Retry-After", code: 500, header: "3", details: undefined, want: 10 },
    ];
    for (const c of cases) {
      await fresh();
      watchScripts = [
        (_req, res) =>
          sendJson(
            res,
            c.code,
            status(c.code, "X", c.details),
            c.header ? { "Retry-After": c.header } : {},
          ),
      ];
      const clock = new RecordingClock();
      const causes: (KubeApiError | undefined)[] = [];
      const r = reflector(
        clock,
        { onState: (_s, cause) => causes.push(cause) },
        { maxRetryAfterMs: 5000 },
      );
      const running = start(r);
      await eventually(
        `${c.name}: watching again`,
        () => assert.equal(fake.watches.length, 2),
        fast,
      );
      assert.deepEqual(clock.sleeps, [c.want], c.name);
      assert.equal(causes.find((e) => e !== undefined)?.status, c.code, `${c.name}: reported`);
      run.abort();
      await running;
    }
  });

  test("after a watch that said nothing, the version is checked; one from the future relists", async () => {
    for (const tooLarge of [false, true]) {
      await fresh();
      versionTooLarge = tooLarge;
      // Silent watches, ended by the client's idle timeout.
      client = new KubeClient(fake.kubeConfig(), { timeoutMs: 5_000, watchIdleMs: 50 });
      let listed = 0;
      const r = reflector(new RecordingClock(), { onListed: () => listed++ });
      const running = start(r);
      await eventually(
        "version checked twice",
        () => assert.ok(fake.versionChecks.length >= 2),
        fast,
      );
      const check = fake.versionChecks[0]!.query;
      assert.equal(check.get("resourceVersion"), "10");
      assert.equal(check.get("resourceVersionMatch"), "NotOlderThan");
      assert.equal(check.get("limit"), "1");
      if (tooLarge) assert.ok(listed >= 2, "relisted after the server said too large");
      else assert.equal(listed, 1, "a version the server has: no relist");
      run.abort();
      await running;
      client.close();
    }
  });

  test("transform applies to listed and watched objects before handlers and the cache", async () => {
    const withFields = (name: string, rv: string) =>
      object(name, rv, { data: { k: "v" } }) as Obj & { metadata: Record<string, unknown> };
    const a = withFields("a", "1");
    a.metadata.managedFields = [{ manager: "kubectl" }];
    items = [a];
    const watched = withFields("b", "11");
    watched.metadata.managedFields = [{ manager: "kubectl" }];
    watchScripts = [
      (_req, res) => {
        res.writeHead(200, { "Content-Type": "application/json" });
        res.write(watchEvent("ADDED", watched));
        res.write(watchEvent("ADDED", object("boom", "12")));
      },
    ];
    const seen: unknown[] = [];
    const errors: unknown[] = [];
    const r = reflector(
      new RecordingClock(),
      { onAdd: (o) => seen.push(o), onHandlerError: (e) => errors.push(e) },
      {
        transform: (o) => {
          if (o.metadata?.name === "boom") throw new Error("transform failed");
          return stripManagedFields(o);
        },
      },
    );
    const running = start(r);
    await eventually("three adds", () => assert.equal(seen.length, 3), fast);
    for (const key of ["ns/a", "ns/b"]) {
      const cached = r.get(key) as { metadata: Record<string, unknown>; data: unknown };
      assert.equal(cached.metadata.managedFields, undefined, key);
      assert.deepEqual(cached.data, { k: "v" }, key);
      assert.ok(seen.includes(cached), `${key}: handlers got the cached object`);
    }
    assert.ok(a.metadata.managedFields, "the server's object was not mutated");
    assert.ok(r.get("ns/boom"), "kept whole when the transform throws");
    assert.equal(errors.length, 1);
    run.abort();
    await running;
  });

  test("markUnreachable aborts the watch, reports the cause, and the reflector comes back", async () => {
    const clock = new RecordingClock();
    const states: [ReflectorState, string | undefined][] = [];
    const r = reflector(clock, { onState: (s, cause) => states.push([s, cause?.kind]) });
    const running = start(r);
    await eventually("watching", () => assert.equal(fake.watches.length, 1), fast);
    r.markUnreachable(new KubeApiError("timeout", "probe: /readyz timed out"));
    await eventually("watching again", () => assert.equal(fake.watches.length, 2), fast);
    await eventually("synced again", () => assert.equal(r.state, "synced"), fast);
    assert.deepEqual(states, [
      ["synced", undefined],
      ["unreachable", "timeout"],
      ["synced", undefined],
    ]);
    assert.deepEqual(clock.sleeps, [10], "one back-off");
    assert.equal(fake.lists.length, 1, "resumed the watch from its version");
    assert.equal(fake.watches[1]?.query.get("resourceVersion"), "10");
    run.abort();
    await running;
  });
});

test("stripManagedFields drops only managedFields, without mutating", () => {
  const obj = {
    metadata: { name: "x", resourceVersion: "3", managedFields: [{ manager: "m" }] },
    spec: { a: 1 },
  };
  const stripped = stripManagedFields(obj);
  assert.deepEqual(stripped, { metadata: { name: "x", resourceVersion: "3" }, spec: { a: 1 } });
  assert.equal(obj.metadata.managedFields.length, 1);
  const bare = { metadata: { name: "y" } };
  assert.equal(stripManagedFields(bare), bare, "nothing to strip: the same object");
});
