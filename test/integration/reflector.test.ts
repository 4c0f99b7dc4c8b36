// The reflector, the client and the health probe against a real kube-apiserver (one cluster, no
// controller manager): 410 Gone after an etcd compaction, the watch cache's in-stream ERROR,
// idle watches, asked-for relists, a resourceVersion from the future, watches that end at once,
// a frozen (SIGSTOPped) API server, gzip, and an http:// server through a kubectl-proxy-like
// forwarder. ConfigMaps are served without the watch cache (so their watches see etcd's
// compaction); Secrets with it.
import assert from "node:assert/strict";
import { readFile } from "node:fs/promises";
import https from "node:https";
import { after, before, describe, test } from "node:test";
import { ApiProbe } from "../../src/kube/api-probe.ts";
import { errorFromStatus, KubeApiError } from "../../src/kube/kube-api-error.ts";
import { KubeClient, type KubeClientOptions, type WatchEvent } from "../../src/kube/kube-client.ts";
import { kubeconfigFromText, loadKubeconfig } from "../../src/kube/load-kubeconfig.ts";
import {
  type KubeObject,
  Reflector,
  type ReflectorOptions,
  type ReflectorState,
} from "../../src/kube/reflector.ts";
import { LocalCloud } from "../../src/localcloud/local-cloud.ts";
import { type Clock, systemClock } from "../../src/runtime/clock.ts";
import { eventually } from "../support/eventually.ts";
import { PlainApiProxy } from "../support/plain-api-proxy.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
type Kind = "configmaps" | "secrets";
type Obj = KubeObject & { data?: Record<string, string> };

/** A client that counts the watches it opened. */
class CountingClient extends KubeClient {
  watches = 0;
  override watch<T>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    signal: AbortSignal,
    onEvent: (event: WatchEvent<T>) => void,
    onOpen?: () => void,
  ): Promise<void> {
    this.watches++;
    return super.watch<T>(path, query, signal, onEvent, onOpen);
  }
}

/** The real clock, recording every sleep asked for. */
class RecordingClock implements Clock {
  readonly sleeps: number[] = [];
  now(): number {
    return systemClock.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return systemClock.sleep(ms, signal);
  }
}

/** Handlers that record what a reflector reported. */
function recorder() {
  const rec = {
    events: [] as string[],
    listed: 0,
    states: [] as [ReflectorState, string | undefined][],
    reset() {
      rec.events.length = 0;
      rec.listed = 0;
      rec.states.length = 0;
    },
    handlers: {
      onAdd: (o: Obj) => rec.events.push(`add ${o.metadata?.name}`),
      onUpdate: (old: Obj, o: Obj) => {
        if (old !== o) rec.events.push(`update ${o.metadata?.name}`);
      },
      onDelete: (o: Obj) => rec.events.push(`delete ${o.metadata?.name}`),
      onListed: () => rec.listed++,
      onState: (s: ReflectorState, cause?: KubeApiError) => rec.states.push([s, cause?.kind]),
    },
  };
  return rec;
}

/** How a watch from `resourceVersion` ends: an HTTP error, or an ERROR event after 200. */
async function watchFrom(
  client: KubeClient,
  path: string,
  resourceVersion: string,
): Promise<{ opened: boolean; error: KubeApiError | undefined }> {
  let opened = false;
  const stop = AbortSignal.timeout(15_000);
  try {
    await client.watch<unknown>(
      path,
      { resourceVersion },
      stop,
      (e) => {
        if (e.type === "ERROR") throw errorFromStatus(`watch ${path}`, 0, e.object);
      },
      () => {
        opened = true;
      },
    );
    return { opened, error: undefined };
  } catch (err) {
    if (stop.aborted) return { opened, error: undefined };
    assert.ok(err instanceof KubeApiError, String(err));
    return { opened, error: err };
  }
}

describe("reflector on a real API server", { timeout: 900_000 }, () => {
  let cloud: LocalCloud;
  let proxy: PlainApiProxy;
  const plane = () => cloud.cluster("solo");
  const admin = () => plane().client;

  before(async () => {
    cloud = await LocalCloud.start(
      [{ name: "solo", apiserverArgs: ["--watch-cache-sizes=configmaps#0"] }],
      { log },
    );
    proxy = await PlainApiProxy.start(plane());
  });
  after(async () => {
    await proxy?.close();
    await cloud?.close(); // continues a frozen API server before stopping it
  });

  /** A client of its own with the admin credentials (its own connections). */
  function adminClient(options: KubeClientOptions = {}): CountingClient {
    return new CountingClient(kubeconfigFromText(plane().kubeconfig), {
      timeoutMs: 10_000,
      ...options,
    });
  }

  /** A client of the proxy's http:// URL, loaded the way kubeburst loads kubeconfigs. */
  function proxyClient(options: KubeClientOptions = {}): KubeClient {
    const text = [
      "apiVersion: v1",
      "kind: Config",
      `clusters: [{name: proxy, cluster: {server: "${proxy.url}"}}]`,
      "users: [{name: nobody, user: {}}]",
      "contexts: [{name: proxy, context: {cluster: proxy, user: nobody}}]",
      "current-context: proxy",
    ].join("\n");
    const refused = loadKubeconfig(
      { kind: "inline", text },
      { context: undefined, allowInsecure: false },
    );
    assert.equal(refused.ok, false, "an http:// server needs allowInsecureKubeconfig");
    const loaded = loadKubeconfig(
      { kind: "inline", text },
      { context: undefined, allowInsecure: true },
    );
    assert.ok(loaded.ok, loaded.ok ? "" : loaded.problems.join("; "));
    return new KubeClient(loaded.kubeConfig, { timeoutMs: 10_000, ...options });
  }

  const path = (kind: Kind, ns: string) => `/api/v1/namespaces/${ns}/${kind}`;

  async function put(kind: Kind, ns: string, name: string, value = "v"): Promise<void> {
    await admin().request({
      method: "POST",
      path: path(kind, ns),
      body: {
        apiVersion: "v1",
        kind: kind === "secrets" ? "Secret" : "ConfigMap",
        metadata: { name, namespace: ns },
        data: { k: kind === "secrets" ? Buffer.from(value).toString("base64") : value },
      },
    });
  }
  async function change(kind: Kind, ns: string, name: string, value: string): Promise<void> {
    await admin().request({
      method: "PATCH",
      path: `${path(kind, ns)}/${name}`,
      contentType: "application/merge-patch+json",
      body: { data: { k: kind === "secrets" ? Buffer.from(value).toString("base64") : value } },
    });
  }
  async function remove(kind: Kind, ns: string, name: string): Promise<void> {
    await admin().request({ method: "DELETE", path: `${path(kind, ns)}/${name}` });
  }
  /** name → resourceVersion, as the server has them now, and the list's resourceVersion. */
  async function serverState(kind: Kind, ns: string) {
    const list = await admin().request<{ items: Obj[]; metadata: { resourceVersion: string } }>({
      method: "GET",
      path: path(kind, ns),
    });
    const byName = Object.fromEntries(
      list.items.map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]),
    );
    return { byName, resourceVersion: list.metadata.resourceVersion };
  }
  const cacheState = (r: Reflector<Obj>) =>
    Object.fromEntries(r.list().map((o) => [o.metadata!.name!, o.metadata!.resourceVersion!]));

  async function namespaceWith(kind: Kind, ns: string, names: string[]): Promise<void> {
    await cloud.ensureNamespace("solo", ns);
    for (const n of names) await put(kind, ns, n);
  }

  function reflectorOf(
    kind: Kind,
    ns: string,
    client: KubeClient,
    handlers: ReturnType<typeof recorder>["handlers"],
    extra: Partial<ReflectorOptions<Obj>> = {},
  ): Reflector<Obj> {
    return new Reflector<Obj>({
      client,
      clock: systemClock,
      path: path(kind, ns),
      resyncMs: 0,
      minBackoffMs: 200,
      maxBackoffMs: 2_000,
      handlers,
      ...extra,
    });
  }

  /** Runs `r` until the returned stop() is awaited. */
  function running(r: Reflector<Obj>): () => Promise<void> {
    const ctl = new AbortController();
    const done = r.run(ctl.signal);
    return async () => {
      ctl.abort();
      await done;
    };
  }

  test("410 Gone after an etcd compaction: relists, fires the differences and onListed", async () => {
    await namespaceWith("configmaps", "gone", ["cm-0", "cm-1", "cm-2", "cm-3"]);
    const client = adminClient();
    const rec = recorder();
    const r = reflectorOf("configmaps", "gone", client, rec.handlers);
    let stop = running(r);
    try {
      await eventually("first list", () => assert.equal(rec.listed, 1));
      const before = await serverState("configmaps", "gone");
      await stop();

      // While the reflector is not watching: changes, then history compacted past its version.
      await remove("configmaps", "gone", "cm-0");
      await remove("configmaps", "gone", "cm-1");
      await change("configmaps", "gone", "cm-2", "changed");
      await put("configmaps", "gone", "cm-4");
      const compactedTo = await plane().compactEtcd();
      log(
        `etcd compacted to ${compactedTo}; the reflector's version is at most ${before.resourceVersion}`,
      );
      const premise = await watchFrom(admin(), path("configmaps", "gone"), before.resourceVersion);
      assert.equal(premise.error?.kind, "gone", "a watch from the old version is Gone");
      log(
        `watch from a compacted version: ${premise.opened ? "200, then an ERROR event" : "HTTP error"} ${premise.error?.status} ${premise.error?.reason}`,
      );

      rec.reset();
      stop = running(r);
      await eventually("relisted", () => assert.equal(rec.listed, 1));
      assert.deepEqual(rec.events.sort(), [
        "add cm-4",
        "delete cm-0",
        "delete cm-1",
        "update cm-2",
      ]);
      assert.deepEqual(cacheState(r), (await serverState("configmaps", "gone")).byName);
      assert.ok(!rec.states.some(([s]) => s === "unreachable"), "a relist is not an outage");
    } finally {
      await stop();
      client.close();
    }
  });

  test("an in-stream ERROR from the watch cache (too old after a restart) relists", async () => {
    await namespaceWith("secrets", "stream", ["s-0", "s-1", "s-2"]);
    const client = adminClient();
    const rec = recorder();
    const r = reflectorOf("secrets", "stream", client, rec.handlers);
    let stop = running(r);
    try {
      await eventually("first list", () => assert.equal(rec.listed, 1));
      const before = await serverState("secrets", "stream");
      await stop();
      await remove("secrets", "stream", "s-0");
      await put("secrets", "stream", "s-3");
      // A new watch cache starts at the current version: older ones are too old for it.
      await plane().restartApiserver();
      const premise = await watchFrom(admin(), path("secrets", "stream"), before.resourceVersion);
      assert.equal(premise.opened, true, "the watch was accepted (200) first");
      assert.equal(premise.error?.kind, "gone", "then ended by an ERROR event with 410");
      assert.equal(premise.error?.status, 410);

      rec.reset();
      stop = running(r);
      await eventually("relisted", () => assert.equal(rec.listed, 1));
      assert.deepEqual(rec.events.sort(), ["add s-3", "delete s-0"]);
      assert.deepEqual(cacheState(r), (await serverState("secrets", "stream")).byName);
    } finally {
      await stop();
      client.close();
    }
  });

  test("an idle watch is ended and reopened without a relist and without losing events", async () => {
    await namespaceWith("secrets", "idle", ["s-0"]);
    const client = adminClient({ watchIdleMs: 1_500 });
    const rec = recorder();
    const r = reflectorOf("secrets", "idle", client, rec.handlers);
    const stop = running(r);
    try {
      await eventually("watch reopened twice after idling", () => assert.ok(client.watches >= 3));
      await put("secrets", "idle", "s-1");
      await eventually("add delivered", () => assert.ok(rec.events.includes("add s-1")));
      const watches = client.watches;
      await eventually("idled again", () => assert.ok(client.watches > watches));
      await remove("secrets", "idle", "s-0");
      await eventually("delete delivered", () => assert.ok(rec.events.includes("delete s-0")));
      assert.equal(rec.listed, 1, "no relist");
      assert.deepEqual(rec.states, [["synced", undefined]], "idling is not a failure");
      assert.deepEqual(cacheState(r), (await serverState("secrets", "idle")).byName);
    } finally {
      await stop();
      client.close();
    }
  });

  test("requestRelist delivers deletes the watch never passed on, then onListed (over http://)", async () => {
    await namespaceWith("secrets", "relist", ["s-0", "s-1", "s-2"]);
    const client = proxyClient();
    const rec = recorder();
    const r = reflectorOf("secrets", "relist", client, rec.handlers);
    const stop = running(r);
    try {
      await eventually("first list", () => assert.equal(rec.listed, 1));
      await put("secrets", "relist", "s-3");
      await eventually("watching through the proxy", () =>
        assert.ok(rec.events.includes("add s-3")),
      );
      proxy.freezeOpenWatches();
      await remove("secrets", "relist", "s-0");
      await remove("secrets", "relist", "s-1");
      await put("secrets", "relist", "s-4");
      rec.reset();
      r.requestRelist();
      await eventually("relisted", () => assert.equal(rec.listed, 1));
      assert.deepEqual(rec.events.sort(), ["add s-4", "delete s-0", "delete s-1"]);
      assert.deepEqual(cacheState(r), (await serverState("secrets", "relist")).byName);
      await put("secrets", "relist", "s-5");
      await eventually("watching again", () => assert.ok(rec.events.includes("add s-5")));
    } finally {
      await stop();
      client.close();
    }
  });

  test("a resourceVersion from the future: a silent watch, a too-large version check, a relist", async () => {
    await namespaceWith("secrets", "future", ["s-0"]);
    const future = "999999999999";
    const list = await admin()
      .request({
        method: "GET",
        path: path("secrets", "future"),
        query: { resourceVersion: future },
      })
      .then(
        () => undefined,
        (err: unknown) => err,
      );
    assert.ok(list instanceof KubeApiError);
    assert.equal(list.kind, "resource-version-too-large", "a list from the future");
    // A watch from the future is accepted and stays silent (kube-apiserver 1.37 sends nothing,
    // not even bookmarks, until its timeout), so the reflector checks its version after a
    // watch that said nothing; here the idle timeout ends that watch after 3 s.
    const client = proxyClient({ watchIdleMs: 3_000 });
    const rec = recorder();
    const r = reflectorOf("secrets", "future", client, rec.handlers);
    proxy.rewriteNextListVersion = future;
    const stop = running(r);
    try {
      await eventually("relisted", () => assert.equal(rec.listed, 2));
      assert.equal(proxy.rewriteNextListVersion, undefined, "the first list was rewritten");
      await put("secrets", "future", "s-1");
      await eventually("watching from a real version", () =>
        assert.ok(rec.events.includes("add s-1")),
      );
      assert.deepEqual(cacheState(r), (await serverState("secrets", "future")).byName);
    } finally {
      await stop();
      client.close();
    }
  });

  test("watches that end at once make the reflector back off, bounded, not spin", async () => {
    await namespaceWith("secrets", "bounce", ["s-0"]);
    const client = proxyClient();
    const clock = new RecordingClock();
    const rec = recorder();
    const r = reflectorOf("secrets", "bounce", client, rec.handlers, {
      clock,
      minBackoffMs: 100,
      maxBackoffMs: 800,
    });
    proxy.endWatchesAtOnce = true;
    const lists = proxy.lists;
    const stop = running(r);
    try {
      await eventually("six watches ended at once", () => assert.ok(clock.sleeps.length >= 6));
      assert.deepEqual(clock.sleeps.slice(0, 6), [100, 200, 400, 800, 800, 800]);
      assert.equal(proxy.lists - lists, 1, "no relists");
      assert.ok(proxy.versionChecks > 0, "each silent watch made it check its version");
      proxy.endWatchesAtOnce = false;
      await put("secrets", "bounce", "s-1");
      await eventually("watching again", () => assert.ok(rec.events.includes("add s-1")));
    } finally {
      proxy.endWatchesAtOnce = false;
      await stop();
      client.close();
    }
  });

  test("a frozen API server: the probe reports it, the reflector is marked unreachable and recovers", async () => {
    await namespaceWith("secrets", "frozen", ["s-0", "s-1"]);
    const client = adminClient({ timeoutMs: 2_000 });
    const probeClient = adminClient();
    const rec = recorder();
    const r = reflectorOf("secrets", "frozen", client, rec.handlers);
    const health: string[] = [];
    let pausedAt = 0;
    let resumedAt = 0;
    // interval 1 s, timeout 1 s, threshold 2: reported within 3 s of the freeze.
    const probe = new ApiProbe({
      client: probeClient,
      clock: systemClock,
      intervalMs: 1_000,
      timeoutMs: 1_000,
      failureThreshold: 2,
      onUnhealthy: (cause) => {
        log(`probe: unhealthy ${Date.now() - pausedAt} ms after the freeze`);
        health.push(`unhealthy ${cause.kind}`);
        r.markUnreachable(cause);
      },
      onHealthy: () => {
        log(`probe: healthy ${Date.now() - resumedAt} ms after SIGCONT`);
        health.push("healthy");
      },
    });
    const probing = new AbortController();
    const probeDone = probe.run(probing.signal);
    const stop = running(r);
    try {
      await eventually("synced", () => assert.equal(rec.listed, 1));
      assert.deepEqual(health, [], "healthy from the start: nothing to report");
      plane().pauseApiserver();
      pausedAt = Date.now();
      try {
        await eventually("probe reports the frozen server", () =>
          assert.deepEqual(health, ["unhealthy timeout"]),
        );
        assert.equal(r.state, "unreachable");
        assert.deepEqual(rec.states.at(-1), ["unreachable", "timeout"]);
      } finally {
        plane().resumeApiserver();
        resumedAt = Date.now();
      }
      await remove("secrets", "frozen", "s-0");
      await put("secrets", "frozen", "s-2");
      await eventually("probe sees it again", () =>
        assert.deepEqual(health, ["unhealthy timeout", "healthy"]),
      );
      await eventually("reflector caught up", () => {
        assert.equal(r.state, "synced");
        assert.ok(rec.events.includes("add s-2") && rec.events.includes("delete s-0"));
      });
      assert.deepEqual(cacheState(r), (await serverState("secrets", "frozen")).byName);
    } finally {
      plane().resumeApiserver();
      probing.abort();
      await probeDone;
      await stop();
      client.close();
      probeClient.close();
    }
  });

  test("large lists come gzip-compressed from the API server and are decoded", async () => {
    await cloud.ensureNamespace("solo", "big");
    for (let i = 0; i < 200; i++) await put("configmaps", "big", `cm-${i}`, "x".repeat(1_000));
    const pki = plane().pki!;
    const agent = new https.Agent({
      ca: await readFile(pki.caCert),
      cert: await readFile(pki.adminCert),
      key: await readFile(pki.adminKey),
    });
    const encoding = await new Promise<string | undefined>((resolve, reject) => {
      https
        .get(
          `${plane().server}${path("configmaps", "big")}`,
          { agent, headers: { "Accept-Encoding": "gzip", Accept: "application/json" } },
          (res) => {
            res.resume();
            resolve(res.headers["content-encoding"]);
          },
        )
        .on("error", reject);
    });
    const watchEncoding = await new Promise<string | undefined>((resolve, reject) => {
      const req = https.get(
        `${plane().server}${path("configmaps", "big")}?watch=true&timeoutSeconds=1`,
        { agent, headers: { "Accept-Encoding": "gzip", Accept: "application/json" } },
        (res) => {
          res.resume();
          resolve(res.headers["content-encoding"]);
          req.destroy();
        },
      );
      req.on("error", reject);
    });
    log(`watch response Content-Encoding with gzip accepted: ${watchEncoding ?? "(none)"}`);
    agent.destroy();
    assert.equal(encoding, "gzip", "the server compresses a 200 KiB list when asked");
    const rec = recorder();
    const client = adminClient();
    const r = reflectorOf("configmaps", "big", client, rec.handlers);
    const stop = running(r);
    try {
      await eventually("listed", () => assert.equal(rec.listed, 1));
      assert.equal(r.list().length, 200);
      assert.equal(r.get("big/cm-7")?.data?.k, "x".repeat(1_000));
    } finally {
      await stop();
      client.close();
    }
  });
});
