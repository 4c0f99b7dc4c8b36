// IPv4, IPv6 and dual-stack end to end through kube-proxy (SPEC B1, B2, B7; issue #15). One
// local cloud for every case: an IPv6-only production cluster, a dual-stack production cluster
// and a dual-stack peak cluster, with one `kubeburst run` per production. Requests go from each
// production node through its real kube-proxy (nftables, both families) to the ClusterIPs.
//
// Addresses: IPv4 in 198.18.0.0/15, IPv6 in 2001:2::/48, only inside the cloud's namespaces.
// The hostile ones below are data in slices; nothing is ever sent to them.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { podAddress, podAddress6 } from "../../src/localcloud/address-plan.ts";
import { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import { LocalCloud, type LocalNode } from "../../src/localcloud/local-cloud.ts";
import { cleanUp } from "../support/cleanup.ts";
import { eventually } from "../support/eventually.ts";
import {
  createService,
  deleteObject,
  eventsAbout,
  OURS,
  slicesOf,
} from "../support/kube-fixtures.ts";
import { JSON_STORAGE, putUnvalidatedSlice } from "../support/unvalidated-slice.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const NS = "shop";
const PRODUCTION = { "kubeburst.io/role": "production" };
const PEAK = { "kubeburst.io/role": "peak" };
const PORTS = [{ name: "http", port: 80, targetPort: 8080 }];
/** The peak cluster's index in the cloud (third started): its pod ranges follow from it. */
const PUBLIC_INDEX = 2;
/** Peak addresses inside the peak's allowed ranges that no pod holds (data only). */
const SPARE_V4 = podAddress(PUBLIC_INDEX, 190);
const SPARE_V6 = podAddress6(PUBLIC_INDEX, 190);
const SPARE_V6_B = podAddress6(PUBLIC_INDEX, 191);

const urlOf = (ip: string) => (ip.includes(":") ? `http://[${ip}]:80/` : `http://${ip}:80/`);

async function timed(what: string, check: () => Promise<void>): Promise<void> {
  const started = Date.now();
  await eventually(what, check, { timeoutMs: 90_000, intervalMs: 200 });
  log(`${what}: ${Date.now() - started} ms`);
}

/** Some Warning Event `PeakEndpointsRefused` has a message matching every pattern. */
function assertRefusedEvent(
  events: readonly { reason?: string; type?: string; message?: string }[],
  patterns: readonly RegExp[],
): void {
  const refused = events.filter((e) => e.reason === "PeakEndpointsRefused");
  assert.ok(
    refused.some((e) => e.type === "Warning" && patterns.every((p) => p.test(e.message ?? ""))),
    `no PeakEndpointsRefused Event matches ${patterns.join(" and ")}: ${JSON.stringify(refused)}`,
  );
}

/** Our slices of a production Service as `family → sorted addresses`. */
function byFamily(slices: readonly V1EndpointSlice[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const s of slices) {
    const list = out[s.addressType] ?? [];
    for (const e of s.endpoints ?? []) list.push(...e.addresses);
    out[s.addressType] = list;
  }
  for (const list of Object.values(out)) list.sort();
  return out;
}

describe("IPv4, IPv6 and dual-stack through kube-proxy", { timeout: 900_000 }, () => {
  let cloud: LocalCloud;
  let dir: string;
  /** kubeburst for the IPv6-only production, and for the dual-stack one. */
  let kb6: KubeburstProcess | undefined;
  let kbDual: KubeburstProcess | undefined;
  let node6: LocalNode;
  let nodeDual: LocalNode;
  const api = (cluster: string) => cloud.cluster(cluster).client;
  const peakPods = () => cloud.pods("public").filter((p) => p.name.startsWith("peak-"));
  const ours = async (cluster: string, name: string) =>
    byFamily(await slicesOf(api(cluster), NS, name, OURS));

  async function writeConfig(production: string): Promise<string> {
    const file = path.join(dir, `${production}.yaml`);
    await writeFile(
      file,
      stringify({
        clusters: [
          {
            name: production,
            role: "production",
            kubeconfig: cloud.cluster(production).kubeconfigPath,
            // Pod ranges as an operator configures them; Service ranges and node addresses are
            // discovered (ServiceCIDRs, Nodes), in every family production has.
            podCIDRs: cloud.podRanges(production),
          },
          {
            name: "public",
            role: "peak",
            kubeconfig: cloud.cluster("public").kubeconfigPath,
            allowedCIDRs: cloud.podRanges("public"),
          },
        ],
        metrics: { address: "127.0.0.1:0" },
      }),
    );
    return file;
  }

  /**
   * Every kubeburst counts the refusals of every peak slice it reads, paired or not: each hostile
   * case starts and ends with none, so its counts are its own.
   */
  async function noRefusals(what: string): Promise<void> {
    await timed(what, async () => {
      for (const kb of [kb6!, kbDual!]) {
        assert.equal(await kb.metric("kubeburst_refused_endpoints", { cluster: "public" }), 0);
      }
    });
  }

  /** Deletes hand-put peak slices; their refusals disappear from every kubeburst. */
  async function removeSlices(names: string[]): Promise<void> {
    for (const name of names) {
      await deleteObject(
        api("public"),
        `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices/${name}`,
      );
    }
    await noRefusals("removed, the peak's slices are refused no more");
  }

  /** Sends `n` requests from `node` to each ClusterIP of `svc`; who answered, per ClusterIP. */
  async function sendToEach(node: LocalNode, svc: V1Service, n: number) {
    const out: Record<string, { byPod: Record<string, number>; failed: number }> = {};
    for (const ip of svc.spec?.clusterIPs ?? []) {
      out[ip] = await cloud.httpFromNode(node, urlOf(ip), n);
    }
    return out;
  }

  before(async () => {
    const started = Date.now();
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-ip-families-"));
    cloud = await LocalCloud.start(
      [
        { name: "private6", controllerManager: true, ipFamily: "ipv6" },
        { name: "private", controllerManager: true, ipFamily: "dual" },
        // Stores JSON, so that slices no current API server accepts can be put into its etcd.
        {
          name: "public",
          controllerManager: true,
          ipFamily: "dual",
          apiserverArgs: [JSON_STORAGE],
        },
      ],
      { log },
    );
    assert.equal(cloud.cluster("public").index, PUBLIC_INDEX);
    [node6, nodeDual] = await Promise.all([
      cloud.addNode("private6", "node-1"),
      cloud.addNode("private", "node-1"),
      cloud.addNode("public", "node-1", { dataPath: false }),
    ]);
    for (const name of cloud.clusterNames()) await cloud.ensureNamespace(name, NS);
    await cloud.addPod("private6", { name: "six-1", namespace: NS, labels: { app: "six" } });
    await cloud.addPod("private", { name: "prod-1", namespace: NS, labels: { app: "prod" } });
    for (const name of ["peak-1", "peak-2"]) {
      await cloud.addPod("public", { name, namespace: NS, labels: { app: "peak" } });
    }
    // A production Node without a data path whose pod CIDR only discovery can know.
    await api("private6").request({
      method: "POST",
      path: "/api/v1/nodes",
      body: {
        apiVersion: "v1",
        kind: "Node",
        metadata: { name: "edge-6" },
        spec: { podCIDR: "2001:2:0:f0::/64", podCIDRs: ["2001:2:0:f0::/64"] },
      },
    });
    kb6 = await KubeburstProcess.start(await writeConfig("private6"), dir, "kubeburst-private6");
    kbDual = await KubeburstProcess.start(await writeConfig("private"), dir, "kubeburst-private");
    await Promise.all([kb6.waitReady(), kbDual.waitReady()]);
    log(`three clusters, nodes, pods and two kubeburst up: ${Date.now() - started} ms`);
  });

  after(async () => {
    await cleanUp([
      () => kb6?.stop(),
      () => kbDual?.stop(),
      () => cloud?.close(),
      () =>
        dir && !process.env.KUBEBURST_KEEP_LOGS
          ? rm(dir, { recursive: true, force: true })
          : undefined,
    ]);
  });

  test("IPv6-only production with an IPv6 peak: requests reach the peak pods over IPv6", async () => {
    const svc = await createService(api("private6"), {
      namespace: NS,
      name: "six",
      labels: PRODUCTION,
      selector: { app: "six" },
      ports: PORTS,
    });
    assert.deepEqual(svc.spec?.ipFamilies, ["IPv6"]);
    await createService(api("public"), {
      namespace: NS,
      name: "six",
      labels: PEAK,
      selector: { app: "peak" },
      ports: PORTS,
      ipFamilies: ["IPv6"],
    });
    const expected = ["private6/six-1", ...peakPods().map((p) => `public/${p.name}`)].sort();
    await timed("IPv6 requests reach the production pod and both peak pods", async () => {
      const r = await sendToEach(node6, svc, 40);
      const [only] = Object.values(r);
      assert.equal(Object.keys(r).length, 1);
      assert.deepEqual(Object.keys(only!.byPod).sort(), expected, JSON.stringify(r));
      assert.equal(only!.failed, 0, JSON.stringify(r));
    });
    assert.deepEqual(await ours("private6", "six"), {
      IPv6: peakPods()
        .map((p) => p.ips[1]!)
        .sort(),
    });
  });

  test("dual-stack production Service, dual-stack peak: both families reach the peak pods", async () => {
    const svc = await createService(api("private"), {
      namespace: NS,
      name: "dual",
      labels: PRODUCTION,
      selector: { app: "prod" },
      ports: PORTS,
      ipFamilies: ["IPv4", "IPv6"],
    });
    await createService(api("public"), {
      namespace: NS,
      name: "dual",
      labels: PEAK,
      selector: { app: "peak" },
      ports: PORTS,
      ipFamilies: ["IPv6", "IPv4"],
    });
    const expected = ["private/prod-1", ...peakPods().map((p) => `public/${p.name}`)].sort();
    await timed(
      "requests to both ClusterIPs reach the production pod and both peak pods",
      async () => {
        const r = await sendToEach(nodeDual, svc, 40);
        assert.deepEqual(
          Object.keys(r).map((ip) => (ip.includes(":") ? "IPv6" : "IPv4")),
          ["IPv4", "IPv6"],
        );
        for (const [ip, got] of Object.entries(r)) {
          assert.deepEqual(
            Object.keys(got.byPod).sort(),
            expected,
            `${ip}: ${JSON.stringify(got)}`,
          );
          assert.equal(got.failed, 0, `${ip}: ${JSON.stringify(got)}`);
        }
      },
    );
    const slices = await slicesOf(api("private"), NS, "dual", OURS);
    assert.deepEqual(
      slices.map((s) => s.addressType).sort(),
      ["IPv4", "IPv6"],
      "one slice per family",
    );
    assert.deepEqual(byFamily(slices), {
      IPv4: peakPods()
        .map((p) => p.ips[0]!)
        .sort(),
      IPv6: peakPods()
        .map((p) => p.ips[1]!)
        .sort(),
    });
  });

  test("single-stack IPv4 production Service, dual-stack peak: only IPv4 imported, the IPv6 side reported", async () => {
    const svc = await createService(api("private"), {
      namespace: NS,
      name: "four",
      labels: PRODUCTION,
      selector: { app: "prod" },
      ports: PORTS,
      ipFamilies: ["IPv4"],
    });
    await createService(api("public"), {
      namespace: NS,
      name: "four",
      labels: PEAK,
      selector: { app: "peak" },
      ports: PORTS,
      ipFamilies: ["IPv4", "IPv6"],
    });
    const expected = ["private/prod-1", ...peakPods().map((p) => `public/${p.name}`)].sort();
    await timed("IPv4 requests reach the production pod and both peak pods", async () => {
      const r = await sendToEach(nodeDual, svc, 40);
      const [only] = Object.values(r);
      assert.deepEqual(Object.keys(only!.byPod).sort(), expected, JSON.stringify(r));
      assert.equal(only!.failed, 0, JSON.stringify(r));
    });
    await timed("the IPv6 side is reported: Event, log and metric", async () => {
      const events = await eventsAbout(api("private"), NS, "four");
      const event = events.find((e) => e.reason === "PeakEndpointsLeftOut");
      assert.ok(event, JSON.stringify(events));
      assert.match(event.message ?? "", /IPv6 endpoints.*families are IPv4/);
      const lines = await kbDual!.logLines();
      assert.ok(
        lines.some(
          (l) => l.service === "shop/four" && JSON.stringify(l.problems ?? "").includes("IPv6"),
        ),
        "a log line names the IPv6 endpoints left out",
      );
      assert.equal(
        await kbDual!.metric("kubeburst_left_out_endpoints", {
          cluster: "public",
          reason: "family-mismatch",
        }),
        2,
      );
    });
    assert.deepEqual(await ours("private", "four"), {
      IPv4: peakPods()
        .map((p) => p.ips[0]!)
        .sort(),
    });
  });

  test("upgraded to dual-stack, that Service imports the IPv6 side too; downgraded, it is withdrawn", async () => {
    const leftOut = () =>
      kbDual!.metric("kubeburst_left_out_endpoints", {
        cluster: "public",
        reason: "family-mismatch",
      });
    const patchFamilies = (spec: object) =>
      api("private").request<V1Service>({
        method: "PATCH",
        path: `/api/v1/namespaces/${NS}/services/four`,
        contentType: "application/merge-patch+json",
        body: { spec },
      });
    const upgraded = await patchFamilies({
      ipFamilyPolicy: "RequireDualStack",
      ipFamilies: ["IPv4", "IPv6"],
    });
    assert.equal(upgraded.spec?.clusterIPs?.length, 2);
    const expected = ["private/prod-1", ...peakPods().map((p) => `public/${p.name}`)].sort();
    await timed("the new IPv6 ClusterIP reaches the peak pods too", async () => {
      const r = await sendToEach(nodeDual, upgraded, 40);
      for (const [ip, got] of Object.entries(r)) {
        assert.deepEqual(Object.keys(got.byPod).sort(), expected, `${ip}: ${JSON.stringify(got)}`);
        assert.equal(got.failed, 0, `${ip}: ${JSON.stringify(got)}`);
      }
    });
    assert.deepEqual(Object.keys(await ours("private", "four")).sort(), ["IPv4", "IPv6"]);
    await timed("nothing is left out any more", async () => assert.equal(await leftOut(), 0));

    await patchFamilies({ ipFamilyPolicy: "SingleStack", ipFamilies: ["IPv4"] });
    await timed(
      "downgraded, the IPv6 slice is withdrawn and counted as left out again",
      async () => {
        assert.deepEqual(Object.keys(await ours("private", "four")), ["IPv4"]);
        assert.equal(await leftOut(), 2);
      },
    );
  });

  test("IPv6 hostile addresses never reach an IPv6-only production, each refusal counted", async () => {
    await noRefusals("no refusals before");
    await createService(api("private6"), { namespace: NS, name: "hostile", labels: PRODUCTION });
    await createService(api("public"), {
      namespace: NS,
      name: "hostile",
      labels: PEAK,
      ipFamilies: ["IPv6"],
    });
    const prodNode = cloud.nodes("private6")[0]!.address;
    const prodService = cloud.cluster("private6").serviceCIDR.replace("::/112", "::1");
    const prodPod = podAddress6(0, 99);
    await putUnvalidatedSlice(cloud.cluster("public"), {
      namespace: NS,
      service: "hostile",
      name: "hostile-v6",
      addressType: "IPv6",
      addresses: [
        SPARE_V6,
        "::1",
        "fe80::1",
        "ff02::1",
        "ff05::1",
        "::ffff:127.0.0.1",
        prodNode, // discovered from its Node
        prodService, // discovered from its ServiceCIDR
        prodPod, // in the configured pod range
        "2001:2:0:f0::5", // discovered from Node edge-6's pod CIDR
        "2001:2:0:ffff::1", // outside the peak's allowed ranges
      ],
    });
    await timed("only the allowed address is written", async () => {
      assert.deepEqual(await ours("private6", "hostile"), { IPv6: [SPARE_V6] });
    });
    const refused = (reason: string) =>
      kb6!.metric("kubeburst_refused_endpoints", { cluster: "public", reason });
    await timed("each refusal is counted by reason", async () => {
      assert.deepEqual(
        {
          loopback: await refused("loopback"),
          "link-local": await refused("link-local"),
          multicast: await refused("multicast"),
          "production-range": await refused("production-range"),
          "not-allowed": await refused("not-allowed"),
        },
        { loopback: 2, "link-local": 1, multicast: 2, "production-range": 4, "not-allowed": 1 },
      );
    });
    await timed("the production Service gets a Warning Event naming them", async () => {
      const events = await eventsAbout(api("private6"), NS, "hostile");
      // It names the count and the first five by address (here those in 2001:2::/48).
      assertRefusedEvent(events, [
        /^10 endpoint\(s\) from cluster public refused: /,
        /2001:2::a \(production-range\)/,
      ]);
    });
    await removeSlices(["hostile-v6"]);
  });

  test("IPv4-mapped addresses are judged and written as the IPv4 address they stand for", async () => {
    await noRefusals("no refusals before");
    await createService(api("private"), {
      namespace: NS,
      name: "mapped",
      labels: PRODUCTION,
      ipFamilies: ["IPv4", "IPv6"],
    });
    await createService(api("public"), {
      namespace: NS,
      name: "mapped",
      labels: PEAK,
      ipFamilies: ["IPv4", "IPv6"],
    });
    const [prodNode4, prodNode6] = cloud.nodes("private")[0]!.addresses;
    const prodService6 = cloud.cluster("private").serviceCIDRs[1]!.replace("::/112", "::1");
    const public4 = `::ffff:${SPARE_V4}`;
    await putUnvalidatedSlice(cloud.cluster("public"), {
      namespace: NS,
      service: "mapped",
      name: "mapped-v4",
      addressType: "IPv4",
      addresses: [public4, "::ffff:127.0.0.1", "::ffff:169.254.169.254", `::ffff:${prodNode4}`],
    });
    await putUnvalidatedSlice(cloud.cluster("public"), {
      namespace: NS,
      service: "mapped",
      name: "mapped-v6",
      addressType: "IPv6",
      // A mapped address in an IPv6 slice would have kube-proxy program IPv4 traffic as IPv6.
      addresses: [SPARE_V6_B, `::ffff:${podAddress(PUBLIC_INDEX, 191)}`, prodNode6!, prodService6],
    });
    await timed(
      "the mapped IPv4 address is written in its IPv4 form; the rest refused",
      async () => {
        assert.deepEqual(await ours("private", "mapped"), {
          IPv4: [SPARE_V4],
          IPv6: [SPARE_V6_B],
        });
      },
    );
    const refused = (reason: string) =>
      kbDual!.metric("kubeburst_refused_endpoints", { cluster: "public", reason });
    await timed("each refusal is counted by reason", async () => {
      assert.deepEqual(
        {
          loopback: await refused("loopback"),
          "link-local": await refused("link-local"),
          "production-range": await refused("production-range"),
          invalid: await refused("invalid"),
        },
        { loopback: 1, "link-local": 1, "production-range": 3, invalid: 1 },
      );
    });
    await timed("the Event names the mapped addresses as the peak wrote them", async () => {
      const events = await eventsAbout(api("private"), NS, "mapped");
      // The first five by address per slice: both of these whichever slice comes first. (An
      // earlier Event may name only the slice that arrived first.)
      assertRefusedEvent(events, [
        /^6 endpoint\(s\) from cluster public refused: /,
        /::ffff:127\.0\.0\.1 \(loopback\)/,
        /::ffff:169\.254\.169\.254 \(link-local\)/,
      ]);
    });
    await removeSlices(["mapped-v4", "mapped-v6"]);
  });

  test("IPv4 hostile addresses the API server would refuse never reach production either", async () => {
    await noRefusals("no refusals before");
    await createService(api("private"), { namespace: NS, name: "hostile4", labels: PRODUCTION });
    await createService(api("public"), {
      namespace: NS,
      name: "hostile4",
      labels: PEAK,
      ipFamilies: ["IPv4"],
    });
    const allowed = podAddress(PUBLIC_INDEX, 192);
    const prodService4 = cloud.cluster("private").serviceCIDRs[0]!.replace(/0\/24$/, "1");
    await putUnvalidatedSlice(cloud.cluster("public"), {
      namespace: NS,
      service: "hostile4",
      name: "hostile-v4",
      addressType: "IPv4",
      addresses: [
        allowed,
        "0.0.0.0",
        "127.0.0.1",
        "169.254.169.254",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        cloud.nodes("private")[0]!.address, // discovered from its Node
        prodService4, // discovered from its ServiceCIDR
        "198.18.200.1", // outside the peak's allowed ranges
      ],
    });
    await timed("only the allowed address is written", async () => {
      assert.deepEqual(await ours("private", "hostile4"), { IPv4: [allowed] });
    });
    const refused = (reason: string) =>
      kbDual!.metric("kubeburst_refused_endpoints", { cluster: "public", reason });
    const reasons = [
      "unspecified",
      "loopback",
      "link-local",
      "multicast",
      "reserved",
      "broadcast",
      "production-range",
      "not-allowed",
    ];
    await timed("each refusal is counted by reason", async () => {
      const counts: Record<string, number> = {};
      for (const reason of reasons) counts[reason] = await refused(reason);
      assert.deepEqual(counts, {
        ...Object.fromEntries(reasons.map((r) => [r, 1])),
        "production-range": 2,
      });
    });
    await timed("the production Service gets a Warning Event naming them", async () => {
      assertRefusedEvent(await eventsAbout(api("private"), NS, "hostile4"), [
        /^9 endpoint\(s\) from cluster public refused: /,
        /169\.254\.169\.254 \(link-local\)/,
      ]);
    });
    await removeSlices(["hostile-v4"]);
  });
});
