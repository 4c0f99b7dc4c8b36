import assert from "node:assert/strict";
import { test } from "node:test";
import { buildInfo } from "./build-info.ts";
import { type ClusterSample, Metrics } from "./metrics.ts";

/** The samples of `name` in the registry's text, as `labels → value`. */
async function samples(m: Metrics, name: string): Promise<Map<string, number>> {
  const out = new Map<string, number>();
  for (const line of (await m.registry.metrics()).split("\n")) {
    const match = /^([a-z_:]+)(\{[^}]*\})? (\S+)$/.exec(line);
    if (match?.[1] === name) out.set(match[2] ?? "", Number(match[3]));
  }
  return out;
}

test("the cluster gauges show every declared cluster the source lists, refused ones included", async () => {
  const m = new Metrics();
  let clusters: ClusterSample[] = [
    { name: "private", role: "production", state: "synced", withdrawn: false, lastSyncAt: 2_000 },
    { name: "public", role: "peak", state: "unreachable", withdrawn: true, lastSyncAt: 1_500 },
    { name: "rented", role: "peak", state: "refused", withdrawn: false, lastSyncAt: undefined },
  ];
  let leader = false;
  m.track({ clusters: () => clusters, leader: () => leader, productionRangesKnown: () => true });
  const state = await samples(m, "kubeburst_cluster_state");
  assert.equal(state.get('{cluster="rented",state="refused"}'), 1);
  assert.equal(state.get('{cluster="rented",state="synced"}'), 0);
  assert.equal(state.get('{cluster="public",state="unreachable"}'), 1);
  assert.equal(state.get('{cluster="private",state="synced"}'), 1);
  assert.deepEqual(
    [...(await samples(m, "kubeburst_cluster_withdrawn"))],
    [
      ['{cluster="public"}', 1],
      ['{cluster="rented"}', 0],
    ],
    "peaks only",
  );
  assert.deepEqual(
    [...(await samples(m, "kubeburst_cluster_last_sync_timestamp_seconds"))],
    [
      ['{cluster="private"}', 2],
      ['{cluster="public"}', 1.5],
    ],
    "none before the first sync",
  );
  assert.deepEqual([...(await samples(m, "kubeburst_leader"))], [["", 0]]);
  assert.deepEqual([...(await samples(m, "kubeburst_production_ranges_known"))], [["", 1]]);
  // A cluster no longer declared leaves every gauge at the next scrape.
  clusters = clusters.slice(0, 2);
  leader = true;
  assert.equal(
    [...(await samples(m, "kubeburst_cluster_state")).keys()].some((k) => k.includes("rented")),
    false,
  );
  assert.deepEqual([...(await samples(m, "kubeburst_leader"))], [["", 1]]);
});

test("build info, process and Node.js metrics, event-loop lag included", async () => {
  const m = new Metrics();
  const { version, nodejs } = buildInfo();
  assert.deepEqual(
    [...(await samples(m, "kubeburst_build_info"))],
    [[`{version="${version}",nodejs="${nodejs}"}`, 1]],
  );
  const text = await m.registry.metrics();
  for (const name of [
    "nodejs_eventloop_lag_p99_seconds",
    "process_cpu_seconds_total",
    "process_resident_memory_bytes",
    "nodejs_heap_size_used_bytes",
  ]) {
    assert.match(text, new RegExp(`^${name}`, "m"), name);
  }
});
