// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { stringify } from "yaml";
import type { ConfigError } from "./config-error.ts";
import { formatConfigErrors, loadConfigFile, parseConfig } from "./load-config.ts";

type Settings = Record<string, unknown> & { clusters: Record<string, unknown>[] };

function base(): Settings {
  return {
    clusters: [
      {
        name: "private",
        role: "production",
        kubeconfig: "./private.kubeconfig",
        podCIDRs: ["198.18.0.0/20"],
        serviceCIDRs: ["198.19.0.0/24"],
        nodeCIDRs: [],
      },
      {
        name: "public",
        role: "peak",
        kubeconfig: "./public.kubeconfig",
        allowedCIDRs: ["198.18.32.0/20"],
      },
    ],
  };
}

function errorsOf(settings: unknown): ConfigError[] {
  const result = parseConfig(stringify(settings), "/etc/kubeburst/kubeburst.yaml");
  return result.ok ? [] : result.errors;
}

test("a minimal config gets every default", () => {
  const result = parseConfig(stringify(base()), "/etc/kubeburst/kubeburst.yaml");
  assert.ok(result.ok, JSON.stringify(result));
  const { clusters, ...rest } = result.config;
  assert.deepEqual(rest, {
    sourcePath: "/etc/kubeburst/kubeburst.yaml",
    namespace: "kubeburst",
    discoveryIntervalMs: 30_000,
    resyncPeriodMs: 600_000,
    workers: 8,
    mode: "endpointslice",
    staleTTLMs: 300_000,
    syncTimeoutMs: 120_000,
    channelCapacity: 1024,
    queue: { qps: 10, burst: 100, baseDelayMs: 5, maxDelayMs: 1_000_000 },
    api: { timeoutMs: 30_000, probeIntervalMs: 5_000 },
    metrics: { enabled: true, host: "127.0.0.1", port: 9090 },
    statusAPI: "loopback",
    leaderElection: {
      enabled: false,
      leaseName: "kubeburst",
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2000,
    },
    burst: { defaultPolicy: "always", holdMs: 60_000, drainMs: 0, probeConcurrency: 64 },
  });
  assert.deepEqual(clusters, [
    {
      name: "private",
      role: "production",
      kubeconfig: { kind: "path", path: "/etc/kubeburst/private.kubeconfig" },
      context: undefined,
      allowedCIDRs: [],
      ranges: { podCIDRs: ["198.18.0.0/20"], serviceCIDRs: ["198.19.0.0/24"], nodeCIDRs: [] },
      maxEndpointsPerService: 1000,
      allowInsecureKubeconfig: false,
      source: "file",
    },
    {
      name: "public",
      role: "peak",
      kubeconfig: { kind: "path", path: "/etc/kubeburst/public.kubeconfig" },
      context: undefined,
      allowedCIDRs: ["198.18.32.0/20"],
      ranges: { podCIDRs: [], serviceCIDRs: [], nodeCIDRs: [] },
      maxEndpointsPerService: 1000,
      allowInsecureKubeconfig: false,
      source: "file",
    },
  ]);
});

test("every setting can be given", () => {
  const settings = base();
  settings.clusters.reverse();
  Object.assign(settings.clusters[0]!, {
    context: "public-admin",
    allowedCIDRs: ["fd00::/8", "0.0.0.0/0", "10.0.0.0/8", "0.0.0.0/0"],
    maxEndpointsPerService: 50,
    allowInsecureKubeconfig: true,
    kubeconfig: "/abs/public.kubeconfig",
  });
  settings.clusters.push({
    name: "public-2",
    role: "peak",
    kubeconfig: "../other/p2.kubeconfig",
    allowedCIDRs: [],
  });
  Object.assign(settings, {
    namespace: "burst-system",
    discoveryInterval: "1m",
    resyncPeriod: "0s",
    workers: 64,
    mode: "endpoints",
    staleTTL: "1h30m",
    syncTimeout: "90s",
    channelCapacity: 1,
    queue: { qps: 0.5, burst: 1, baseDelay: "10ms", maxDelay: "10ms" },
    api: { timeout: "2s", probeInterval: "3s" },
    metrics: { address: "off" },
    leaderElection: {
      enabled: true,
      leaseName: "kubeburst.leader",
      leaseDuration: "6s",
      renewDeadline: "4s",
      retryPeriod: "500ms",
    },
  });
  const result = parseConfig(stringify(settings), "conf/kubeburst.yaml");
  assert.ok(result.ok, JSON.stringify(result));
  const config = result.config;
  assert.equal(config.sourcePath, path.resolve("conf/kubeburst.yaml"));
  assert.deepEqual(
    config.clusters.map((cluster) => [cluster.name, cluster.role]),
    [
      ["private", "production"],
      ["public", "peak"],
      ["public-2", "peak"],
    ],
    "production first, then the peaks in file order",
  );
  const peak = config.clusters[1]!;
  assert.deepEqual(peak.allowedCIDRs, ["0.0.0.0/0", "10.0.0.0/8", "fd00::/8"]);
  assert.equal(peak.context, "public-admin");
  assert.equal(peak.maxEndpointsPerService, 50);
  assert.equal(peak.allowInsecureKubeconfig, true);
  assert.deepEqual(peak.kubeconfig, { kind: "path", path: "/abs/public.kubeconfig" });
  assert.deepEqual(config.leaderElection, {
    enabled: true,
    leaseName: "kubeburst.leader",
    leaseDurationMs: 6000,
    renewDeadlineMs: 4000,
    retryPeriodMs: 500,
  });
  assert.deepEqual(config.clusters[2]!.kubeconfig, {
    kind: "path",
    path: path.resolve("other/p2.kubeconfig"),
  });
  assert.deepEqual(config.clusters[2]!.allowedCIDRs, []);
  assert.equal(config.namespace, "burst-system");
  assert.equal(config.discoveryIntervalMs, 60_000);
  assert.equal(config.resyncPeriodMs, 0);
  assert.equal(config.workers, 64);
  assert.equal(config.mode, "endpoints");
  assert.equal(config.staleTTLMs, 5_400_000);
  assert.equal(config.syncTimeoutMs, 90_000);
  assert.equal(config.channelCapacity, 1);
  assert.deepEqual(config.queue, { qps: 0.5, burst: 1, baseDelayMs: 10, maxDelayMs: 10 });
  assert.deepEqual(config.api, { timeoutMs: 2000, probeIntervalMs: 3000 });
  assert.deepEqual(config.metrics, { enabled: false });
});

test("metrics addresses", () => {
  const cases = [
    ["off", { enabled: false }],
    ["[::1]:9100", { enabled: true, host: "::1", port: 9100 }],
    [":8080", { enabled: true, host: "", port: 8080 }],
  ] as const;
  for (const [address, want] of cases) {
    const result = parseConfig(stringify({ ...base(), metrics: { address } }), "k.yaml");
    assert.ok(result.ok, address);
    assert.deepEqual(result.config.metrics, want, address);
  }
});

test("each invalid field gets an error naming it and the reason", () => {
  const cases: { name: string; change: (settings: Settings) => void; want: [string, RegExp][] }[] =
    [
      // clusters list
      {
        name: "clusters missing",
        change: (s) => delete (s as Partial<Settings>).clusters,
        want: [["clusters", /^required field is missing$/]],
      },
      {
        name: "clusters not a list",
        change: (s) => Object.assign(s, { clusters: "private" }),
        want: [["clusters", /expected a list, got a string \("private"\)/]],
      },
      {
        name: "clusters empty",
        change: (s) => Object.assign(s, { clusters: [] }),
        want: [
          [
            "clusters",
            /no cluster has role "production"; exactly one production cluster is required/,
          ],
        ],
      },
      {
        name: "cluster not a mapping",
        change: (s) => s.clusters.push("x" as never),
        want: [["clusters[2]", /expected a mapping, got a string/]],
      },
      {
        name: "no production",
        change: (s) =>
          Object.assign(s.clusters[0]!, {
            role: "peak",
            allowedCIDRs: [],
            podCIDRs: undefined,
            serviceCIDRs: undefined,
            nodeCIDRs: undefined,
          }),
        want: [["clusters", /no cluster has role "production"/]],
      },
      {
        name: "two productions",
        change: (s) => s.clusters.push({ name: "p2", role: "production", kubeconfig: "k" }),
        want: [
          [
            "clusters[2].role",
            /clusters\[0\] is already the production cluster; exactly one is allowed/,
          ],
        ],
      },
      {
        name: "duplicate names",
        change: (s) => Object.assign(s.clusters[1]!, { name: "private" }),
        want: [
          [
            "clusters[1].name",
            /^"private" is used by clusters\[0\] too; cluster names must be unique$/,
          ],
        ],
      },
      // cluster fields
      {
        name: "name missing",
        change: (s) => delete s.clusters[0]!.name,
        want: [["clusters[0].name", /required field is missing/]],
      },
      {
        name: "name uppercase",
        change: (s) => Object.assign(s.clusters[1]!, { name: "Public" }),
        want: [
          ["clusters[1].name", /"Public" is not a valid cluster name: use at most 63 lowercase/],
        ],
      },
      {
        name: "name too long",
        change: (s) => Object.assign(s.clusters[1]!, { name: "a".repeat(64) }),
        want: [["clusters[1].name", /not a valid cluster name.*\(it has 64\)/]],
      },
      {
        name: "name with dot",
        change: (s) => Object.assign(s.clusters[1]!, { name: "pub.lic" }),
        want: [["clusters[1].name", /not a valid cluster name/]],
      },
      {
        name: "name leading dash",
        change: (s) => Object.assign(s.clusters[1]!, { name: "-public" }),
        want: [["clusters[1].name", /not a valid cluster name/]],
      },
      {
        name: "name a number",
        change: (s) => Object.assign(s.clusters[1]!, { name: 7 }),
        want: [["clusters[1].name", /expected a string, got a whole number \(7\)/]],
      },
      {
        name: "role missing",
        change: (s) => delete s.clusters[1]!.role,
        want: [["clusters[1].role", /required field is missing/]],
      },
      {
        name: "role unknown",
        change: (s) => Object.assign(s.clusters[1]!, { role: "burst" }),
        want: [["clusters[1].role", /^"burst" is not allowed; use one of: production, peak$/]],
      },
      {
        name: "kubeconfig missing",
        change: (s) => delete s.clusters[1]!.kubeconfig,
        want: [["clusters[1].kubeconfig", /required field is missing/]],
      },
      {
        name: "kubeconfig empty",
        change: (s) => Object.assign(s.clusters[1]!, { kubeconfig: "" }),
        want: [["clusters[1].kubeconfig", /must not be empty/]],
      },
      {
        name: "context empty",
        change: (s) => Object.assign(s.clusters[1]!, { context: "" }),
        want: [["clusters[1].context", /must not be empty/]],
      },
      {
        name: "context null",
        change: (s) => Object.assign(s.clusters[1]!, { context: null }),
        want: [["clusters[1].context", /expected a string, got an empty value/]],
      },
      {
        name: "allowedCIDRs missing on a peak",
        change: (s) => delete s.clusters[1]!.allowedCIDRs,
        want: [["clusters[1].allowedCIDRs", /required for a peak cluster.*"0.0.0.0\/0", "::\/0"/]],
      },
      {
        name: "allowedCIDRs not a list",
        change: (s) => Object.assign(s.clusters[1]!, { allowedCIDRs: "10.0.0.0/8" }),
        want: [["clusters[1].allowedCIDRs", /expected a list, got a string/]],
      },
      {
        name: "allowedCIDRs host bits",
        change: (s) =>
          Object.assign(s.clusters[1]!, { allowedCIDRs: ["10.0.0.0/8", "198.18.32.1/20"] }),
        want: [
          [
            "clusters[1].allowedCIDRs[1]",
            /"198.18.32.1\/20" has host bits set; the network is "198.18.32.0\/20"/,
          ],
        ],
      },
      {
        name: "allowedCIDRs bad IPv6",
        change: (s) => Object.assign(s.clusters[1]!, { allowedCIDRs: ["fd00::1::/64"] }),
        want: [["clusters[1].allowedCIDRs[0]", /is not an IPv4 or IPv6 address/]],
      },
      {
        name: "allowedCIDRs on production",
        change: (s) => Object.assign(s.clusters[0]!, { allowedCIDRs: ["0.0.0.0/0"] }),
        want: [["clusters[0].allowedCIDRs", /only for peak clusters/]],
      },
      {
        name: "maxEndpointsPerService on production",
        change: (s) => Object.assign(s.clusters[0]!, { maxEndpointsPerService: 5 }),
        want: [["clusters[0].maxEndpointsPerService", /only for peak clusters/]],
      },
      {
        name: "podCIDRs on a peak",
        change: (s) => Object.assign(s.clusters[1]!, { podCIDRs: [] }),
        want: [["clusters[1].podCIDRs", /only for the production cluster/]],
      },
      {
        name: "serviceCIDRs on a peak",
        change: (s) => Object.assign(s.clusters[1]!, { serviceCIDRs: ["10.0.0.0/8"] }),
        want: [["clusters[1].serviceCIDRs", /only for the production cluster/]],
      },
      {
        name: "nodeCIDRs on a peak",
        change: (s) => Object.assign(s.clusters[1]!, { nodeCIDRs: ["10.0.0.0/8"] }),
        want: [["clusters[1].nodeCIDRs", /only for the production cluster/]],
      },
      {
        name: "podCIDRs no prefix",
        change: (s) => Object.assign(s.clusters[0]!, { podCIDRs: ["10.0.0.1"] }),
        want: [["clusters[0].podCIDRs[0]", /has no prefix length; write "10.0.0.1\/32"/]],
      },
      {
        name: "serviceCIDRs bad prefix",
        change: (s) => Object.assign(s.clusters[0]!, { serviceCIDRs: ["10.0.0.0/40"] }),
        want: [["clusters[0].serviceCIDRs[0]", /IPv4 allows 0 to 32/]],
      },
      {
        name: "nodeCIDRs not strings",
        change: (s) => Object.assign(s.clusters[0]!, { nodeCIDRs: [10] }),
        want: [["clusters[0].nodeCIDRs[0]", /expected a string, got a whole number \(10\)/]],
      },
      {
        name: "maxEndpointsPerService zero",
        change: (s) => Object.assign(s.clusters[1]!, { maxEndpointsPerService: 0 }),
        want: [["clusters[1].maxEndpointsPerService", /0 is too small; it must be at least 1/]],
      },
      {
        name: "maxEndpointsPerService fraction",
        change: (s) => Object.assign(s.clusters[1]!, { maxEndpointsPerService: 2.5 }),
        want: [
          ["clusters[1].maxEndpointsPerService", /expected a whole number, got a number \(2.5\)/],
        ],
      },
      {
        name: "maxEndpointsPerService huge",
        change: (s) => Object.assign(s.clusters[1]!, { maxEndpointsPerService: 100_001 }),
        want: [["clusters[1].maxEndpointsPerService", /too large; it must be at most 100000/]],
      },
      {
        name: "allowInsecureKubeconfig a string",
        change: (s) => Object.assign(s.clusters[1]!, { allowInsecureKubeconfig: "yes" }),
        want: [
          ["clusters[1].allowInsecureKubeconfig", /expected true or false, got a string \("yes"\)/],
        ],
      },
      {
        name: "cluster typo",
        change: (s) => Object.assign(s.clusters[1]!, { allowedCidrs: [] }),
        want: [
          [
            "clusters[1].allowedCidrs",
            /unknown field "allowedCidrs"; did you mean "allowedCIDRs"\?/,
          ],
        ],
      },
      // top level
      {
        name: "top-level typo",
        change: (s) => Object.assign(s, { wrokers: 3 }),
        want: [["wrokers", /unknown field "wrokers"; did you mean "workers"\?/]],
      },
      {
        name: "unknown top-level",
        change: (s) => Object.assign(s, { colour: "red" }),
        want: [["colour", /unknown field "colour"; known fields: clusters, namespace/]],
      },
      {
        name: "namespace invalid",
        change: (s) => Object.assign(s, { namespace: "Kube_burst" }),
        want: [["namespace", /"Kube_burst" is not a valid namespace/]],
      },
      {
        name: "discoveryInterval no unit",
        change: (s) => Object.assign(s, { discoveryInterval: 30 }),
        want: [["discoveryInterval", /^30 has no unit; write e.g. "30s" or "30ms"$/]],
      },
      {
        name: "discoveryInterval string no unit",
        change: (s) => Object.assign(s, { discoveryInterval: "30" }),
        want: [["discoveryInterval", /"30" has no unit/]],
      },
      {
        name: "discoveryInterval too short",
        change: (s) => Object.assign(s, { discoveryInterval: "10ms" }),
        want: [["discoveryInterval", /"10ms" is too short; it must be at least 1s/]],
      },
      {
        name: "discoveryInterval a list",
        change: (s) => Object.assign(s, { discoveryInterval: ["30s"] }),
        want: [["discoveryInterval", /expected a duration such as "30s", got a list/]],
      },
      {
        name: "resyncPeriod unknown unit",
        change: (s) => Object.assign(s, { resyncPeriod: "10d" }),
        want: [["resyncPeriod", /unknown unit "d"/]],
      },
      {
        name: "workers zero",
        change: (s) => Object.assign(s, { workers: 0 }),
        want: [["workers", /0 is too small; it must be at least 1/]],
      },
      {
        name: "workers 65",
        change: (s) => Object.assign(s, { workers: 65 }),
        want: [["workers", /65 is too large; it must be at most 64/]],
      },
      {
        name: "workers a string",
        change: (s) => Object.assign(s, { workers: "8" }),
        want: [["workers", /expected a number, got a string \("8"\)/]],
      },
      {
        name: "mode unknown",
        change: (s) => Object.assign(s, { mode: "slices" }),
        want: [["mode", /"slices" is not allowed; use one of: endpointslice, endpoints/]],
      },
      {
        name: "staleTTL negative",
        change: (s) => Object.assign(s, { staleTTL: "-5m" }),
        want: [["staleTTL", /"-5m" is negative/]],
      },
      {
        name: "syncTimeout too short",
        change: (s) => Object.assign(s, { syncTimeout: "0s" }),
        want: [["syncTimeout", /too short/]],
      },
      {
        name: "channelCapacity zero",
        change: (s) => Object.assign(s, { channelCapacity: 0 }),
        want: [["channelCapacity", /at least 1/]],
      },
      {
        name: "queue qps zero",
        change: (s) => Object.assign(s, { queue: { qps: 0 } }),
        want: [["queue.qps", /0 is too small; it must be at least 0.01/]],
      },
      {
        name: "queue burst fraction",
        change: (s) => Object.assign(s, { queue: { burst: 1.5 } }),
        want: [["queue.burst", /expected a whole number/]],
      },
      {
        name: "queue baseDelay no unit",
        change: (s) => Object.assign(s, { queue: { baseDelay: 5 } }),
        want: [["queue.baseDelay", /5 has no unit/]],
      },
      {
        name: "queue maxDelay below base",
        change: (s) => Object.assign(s, { queue: { baseDelay: "1s", maxDelay: "500ms" } }),
        want: [["queue.maxDelay", /must not be shorter than baseDelay/]],
      },
      {
        name: "queue typo",
        change: (s) => Object.assign(s, { queue: { qsp: 1 } }),
        want: [["queue.qsp", /did you mean "qps"\?/]],
      },
      {
        name: "queue not a mapping",
        change: (s) => Object.assign(s, { queue: 10 }),
        want: [["queue", /expected a mapping, got a whole number \(10\)/]],
      },
      {
        name: "api timeout zero",
        change: (s) => Object.assign(s, { api: { timeout: "0s" } }),
        want: [["api.timeout", /too short; it must be at least 1ms/]],
      },
      {
        name: "api unknown field",
        change: (s) => Object.assign(s, { api: { qps: 5 } }),
        want: [["api.qps", /unknown field "qps"; known fields: timeout/]],
      },
      {
        name: "leaderElection renewDeadline not shorter than leaseDuration",
        change: (s) =>
          Object.assign(s, { leaderElection: { leaseDuration: "5s", renewDeadline: "5s" } }),
        want: [["leaderElection.renewDeadline", /must be shorter than leaseDuration/]],
      },
      {
        name: "leaderElection leaseName",
        change: (s) => Object.assign(s, { leaderElection: { leaseName: "Lease_1" } }),
        want: [["leaderElection.leaseName", /not a valid Lease name/]],
      },
      {
        name: "metrics no port",
        change: (s) => Object.assign(s, { metrics: { address: "9090" } }),
        want: [["metrics.address", /"9090" has no port/]],
      },
      {
        name: "metrics empty (only off turns the server off)",
        change: (s) => Object.assign(s, { metrics: { address: "" } }),
        want: [["metrics.address", /^empty; write host:port, e.g. "127.0.0.1:9090", or "off"/]],
      },
      {
        name: "metrics statusAPI not a known access",
        change: (s) => Object.assign(s, { metrics: { statusAPI: "public" } }),
        want: [["metrics.statusAPI", /loopback|any|off/]],
      },
      {
        name: "metrics a URL",
        change: (s) => Object.assign(s, { metrics: { address: "http://127.0.0.1:9090" } }),
        want: [["metrics.address", /is a URL; write HOST:PORT without a scheme or path/]],
      },
      {
        name: "kubeconfig path longer than any path can be",
        change: (s) => Object.assign(s.clusters[0]!, { kubeconfig: "k".repeat(5000) }),
        want: [["clusters[0].kubeconfig", /^must be at most 4096 characters long$/]],
      },
      {
        name: "metrics bad port",
        change: (s) => Object.assign(s, { metrics: { address: "127.0.0.1:99999" } }),
        want: [["metrics.address", /port "99999"/]],
      },
    ];
  for (const { name, change, want } of cases) {
    const settings = base();
    change(settings);
    const errors = errorsOf(settings);
    assert.equal(errors.length, want.length, `${name}: ${JSON.stringify(errors)}`);
    for (const [index, [errorPath, pattern]] of want.entries()) {
      assert.equal(errors[index]?.path, errorPath, name);
      assert.match(errors[index]?.message ?? "", pattern, name);
    }
  }
});

test("all problems are reported at once", () => {
  const settings = base();
  Object.assign(settings.clusters[1]!, {
    name: "private",
    role: "peek",
    allowedCIDRs: ["1.2.3.4/8"],
  });
  Object.assign(settings, { workers: 0, mode: "x", typo: 1 });
  const paths = errorsOf(settings).map((error) => error.path);
  assert.deepEqual(paths.sort(), [
    "clusters[1].allowedCIDRs[0]",
    "clusters[1].name",
    "clusters[1].role",
    "mode",
    "typo",
    "workers",
  ]);
});

test("YAML problems report the position or the shape", () => {
  const cases: [string, RegExp][] = [
    ["clusters: [1, 2\nworkers: 3", /^YAML syntax error at line 2, column 1: /],
    ["workers: 1\nworkers: 2", /^YAML syntax error at line 2, column 1: Map keys must be unique$/],
    ["clusters:\n\t- a", /^YAML syntax error at line 2, column 1: /],
    ["a: *missing", /^YAML/],
    ["", /the config file is empty/],
    ["# only a comment\n", /the config file is empty/],
    ["- a\n- b", /must be a mapping of settings/],
    ["just text", /must be a mapping of settings/],
  ];
  for (const [text, pattern] of cases) {
    const result = parseConfig(text, "k.yaml");
    assert.equal(result.ok, false, text);
    if (!result.ok) {
      assert.equal(result.errors[0]?.path, "", text);
      assert.match(result.errors[0]?.message ?? "", pattern, text);
    }
  }
});

test("loadConfigFile reads the file and resolves paths next to it", async () => {
  const folder = await mkdtemp(path.join(tmpdir(), "kubeburst-config-"));
  try {
    const file = path.join(folder, "kubeburst.yaml");
    await writeFile(file, stringify(base()));
    const result = await loadConfigFile(file);
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.config.clusters[0]?.kubeconfig, {
      kind: "path",
      path: path.join(folder, "private.kubeconfig"),
    });

    const missing = path.join(folder, "nope.yaml");
    assert.deepEqual(await loadConfigFile(missing), {
      ok: false,
      errors: [
        { path: "", message: `cannot read config file ${JSON.stringify(missing)}: no such file` },
      ],
    });
    const directory = await loadConfigFile(folder);
    assert.equal(directory.ok, false);
    if (!directory.ok) assert.match(directory.errors[0]?.message ?? "", /it is a directory/);
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test("formatConfigErrors writes one line per error", () => {
  assert.equal(
    formatConfigErrors([
      { path: "clusters[1].name", message: "bad" },
      { path: "", message: "YAML syntax error at line 1, column 2: x" },
    ]),
    "config error: clusters[1].name: bad\nconfig error: YAML syntax error at line 1, column 2: x",
  );
  assert.equal(formatConfigErrors([]), "");
});

test("every duration that ends in a timer has a maximum, named in the message", () => {
  // Node's setTimeout fires after 1 ms for anything above 2^31-1 ms (about 597 h): a longer
  // api.timeout made every API call abort at once.
  const cases: [string[], string, string][] = [
    [["api", "timeout"], "597h", "1h"],
    [["discoveryInterval"], "25h", "24h"],
    [["resyncPeriod"], "25h", "24h"],
    [["staleTTL"], "9999h", "24h"],
    [["syncTimeout"], "61m", "1h"],
    [["queue", "baseDelay"], "2h", "1h"],
    [["queue", "maxDelay"], "25h", "24h"],
    [["leaderElection", "leaseDuration"], "2h", "1h"],
    [["leaderElection", "renewDeadline"], "2h", "1h"],
    [["leaderElection", "retryPeriod"], "2h", "1h"],
  ];
  for (const [field, value, max] of cases) {
    const settings: Record<string, unknown> = base();
    if (field.length === 1) settings[field[0]!] = value;
    else settings[field[0]!] = { [field[1]!]: value };
    const errors = errorsOf(settings);
    const at = errors.find((error) => error.path === field.join("."));
    assert.ok(at, `${field.join(".")}: ${JSON.stringify(errors)}`);
    assert.equal(at.message, `"${value}" is too long; it must be at most ${max}`);
  }
  const longest = { ...base(), api: { timeout: "1h" }, staleTTL: "24h", syncTimeout: "1h" };
  assert.deepEqual(errorsOf(longest), [], "the maxima themselves are allowed");
});

test("a number that is not finite (1e309, .inf, .nan) is refused as such, in every numeric field", () => {
  const head = stringify(base());
  const cases: [string, string][] = [
    ["queue:\n  qps: 1e309\n", "queue.qps"],
    ["queue:\n  qps: .nan\n", "queue.qps"],
    ["queue:\n  burst: .inf\n", "queue.burst"],
    ["workers: -.inf\n", "workers"],
    ["channelCapacity: .inf\n", "channelCapacity"],
  ];
  for (const [text, field] of cases) {
    const result = parseConfig(head + text, "k.yaml");
    assert.equal(result.ok, false, text);
    if (result.ok) continue;
    assert.deepEqual(
      result.errors.map((error) => error.path),
      [field],
      text,
    );
    assert.match(result.errors[0]!.message, /^must be a finite number, got (-?Infinity|NaN)$/);
  }
  const peak = parseConfig(
    head.replace("allowedCIDRs:", "maxEndpointsPerService: .inf\n    allowedCIDRs:"),
    "k.yaml",
  );
  assert.deepEqual(peak.ok ? [] : peak.errors, [
    {
      path: "clusters[1].maxEndpointsPerService",
      message: "must be a finite number, got Infinity",
    },
  ]);
});

test("a config of several YAML documents is refused as such", () => {
  const result = parseConfig("workers: 1\n---\nworkers: 2\n", "k.yaml");
  assert.deepEqual(result.ok ? [] : result.errors, [
    {
      path: "",
      message:
        'the config file must be one YAML document; a second one starts at line 2, column 1 (a "---" line separates documents)',
    },
  ]);
});

test("a huge value is quoted cut, with its length, wherever a message repeats it", () => {
  const huge = "x".repeat(5_000_000);
  const cases: [string, (s: Settings) => void][] = [
    ["clusters[1].name", (s) => Object.assign(s.clusters[1]!, { name: huge })],
    ["clusters[1].allowedCIDRs[0]", (s) => Object.assign(s.clusters[1]!, { allowedCIDRs: [huge] })],
    ["discoveryInterval", (s) => Object.assign(s, { discoveryInterval: huge })],
    ["mode", (s) => Object.assign(s, { mode: huge })],
    ["metrics.address", (s) => Object.assign(s, { metrics: { address: `${huge}:80` } })],
    ["leaderElection.leaseName", (s) => Object.assign(s, { leaderElection: { leaseName: huge } })],
    ["workers", (s) => Object.assign(s, { workers: huge })],
  ];
  for (const [field, change] of cases) {
    const settings = base();
    change(settings);
    const errors = errorsOf(settings);
    assert.equal(errors.length, 1, `${field}: ${errors.length} errors`);
    assert.equal(errors[0]!.path, field);
    assert.ok(errors[0]!.message.length < 400, `${field}: ${errors[0]!.message.length} characters`);
    assert.match(errors[0]!.message, /x…" \(500000\d characters\)/, field);
  }
  const key = errorsOf({ ...base(), [huge]: 1 });
  assert.equal(key.length, 1);
  assert.ok(key[0]!.path.length <= 100, "the path cuts the key too");
  assert.match(key[0]!.message, /^unknown field "x+…" \(5000000 characters\); known fields: /);
});

test("loadConfigFile refuses a device and a file over 1 MiB, before reading them whole", async () => {
  const folder = await mkdtemp(path.join(tmpdir(), "kubeburst-config-"));
  try {
    assert.deepEqual(await loadConfigFile("/dev/zero"), {
      ok: false,
      errors: [
        {
          path: "",
          message:
            'cannot read config file "/dev/zero": it is a character device, not a regular file',
        },
      ],
    });
    const big = path.join(folder, "big.yaml");
    await writeFile(big, `# ${"x".repeat(1024 * 1024)}\n`);
    assert.deepEqual(await loadConfigFile(big), {
      ok: false,
      errors: [
        {
          path: "",
          message: `cannot read config file ${JSON.stringify(big)}: it is larger than 1 MiB, the limit`,
        },
      ],
    });
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
});

test("burst settings and a peak's probes", () => {
  const settings = base();
  const result = parseConfig(
    stringify({
      ...settings,
      clusters: [
        settings.clusters[0],
        { ...settings.clusters[1], probe: { interval: "2s", failureThreshold: 2 } },
      ],
      burst: { defaultPolicy: "threshold", holdTime: "30s", drainPeriod: "20s" },
    }),
    "/etc/kubeburst/kubeburst.yaml",
  );
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.config.burst, {
    defaultPolicy: "threshold",
    holdMs: 30_000,
    drainMs: 20_000,
    probeConcurrency: 64,
  });
  assert.deepEqual(result.config.clusters[1]?.probe, {
    intervalMs: 2000,
    timeoutMs: 1000,
    failureThreshold: 2,
    successThreshold: 1,
    jitterMs: 500,
  });
});

test("bad burst and probe settings name their field", () => {
  const settings = base();
  const cases: [unknown, string][] = [
    [{ ...settings, burst: { defaultPolicy: "sometimes" } }, "burst.defaultPolicy"],
    [{ ...settings, burst: { drainPeriod: "2h" } }, "burst.drainPeriod"],
    [
      { ...settings, clusters: [{ ...settings.clusters[0], probe: {} }, settings.clusters[1]] },
      "clusters[0].probe",
    ],
    [
      {
        ...settings,
        clusters: [
          settings.clusters[0],
          { ...settings.clusters[1], probe: { interval: "1s", timeout: "2s" } },
        ],
      },
      "clusters[1].probe.timeout",
    ],
  ];
  for (const [input, path] of cases) {
    const errors = errorsOf(input);
    assert.ok(
      errors.some((e) => e.path === path),
      `${path}: ${JSON.stringify(errors)}`,
    );
  }
});

test("production without a kubeconfig uses in-cluster credentials; a peak without one is an error", () => {
  const ok = parseConfig(
    "clusters:\n  - { name: private, role: production }\n  - { name: public, role: peak, kubeconfig: p, allowedCIDRs: [198.18.16.0/20] }\n",
    "/etc/kubeburst/config.yaml",
  );
  assert.ok(ok.ok);
  assert.deepEqual(ok.config.clusters[0]!.kubeconfig, { kind: "in-cluster" });
  const bad = parseConfig(
    "clusters:\n  - { name: private, role: production }\n  - { name: public, role: peak, allowedCIDRs: [198.18.16.0/20] }\n",
    "/etc/kubeburst/config.yaml",
  );
  assert.ok(!bad.ok);
  assert.equal(bad.errors.length, 1);
  assert.equal(bad.errors[0]!.path, "clusters[1].kubeconfig");
  assert.match(
    bad.errors[0]!.message,
    /^required field is missing: a peak cluster is reached with a kubeconfig/,
  );
});
