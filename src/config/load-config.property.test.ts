// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import path from "node:path";
import { test } from "node:test";
import fc from "fast-check";
import { Document, parse, type Scalar, stringify, visit } from "yaml";
import { type ClusterSpec, parseClusterSecret } from "./cluster-spec.ts";
import type { ListenAddress } from "./listen-address.ts";
import { type Config, type ConfigResult, parseConfig } from "./load-config.ts";

// Property tests of the config parser. The oracles here are written independently of the
// parser's helpers: CIDRs are canonicalised with bigint arithmetic and the WHATWG URL parser,
// durations are generated from their millisecond value.

const RUNS = { numRuns: 300 };
const DEFAULT_SOURCE = "/etc/kubeburst/kubeburst.yaml";

type Settings = Record<string, unknown>;
type Segment = string | number;
type ValueOf<A> = A extends fc.Arbitrary<infer T> ? T : never;

// ---------------------------------------------------------------------------------------------
// Checks shared by several properties

/** `["clusters", 1, "allowedCIDRs"]` → `clusters[1].allowedCIDRs`. */
function formatPath(segments: readonly Segment[]): string {
  let text = "";
  for (const segment of segments) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? segment : `.${segment}`;
  }
  return text;
}

function isAtOrUnder(errorPath: string, target: string): boolean {
  return (
    errorPath === target || errorPath.startsWith(`${target}.`) || errorPath.startsWith(`${target}[`)
  );
}

/** Either a config that keeps the documented invariants, or a non-empty list of usable errors. */
function assertWellFormed(result: ConfigResult): void {
  if (!result.ok) {
    assert.ok(result.errors.length > 0, "a failed parse has at least one error");
    for (const error of result.errors) {
      assert.equal(typeof error.path, "string");
      assert.equal(typeof error.message, "string");
      assert.notEqual(error.message, "", `empty message at ${JSON.stringify(error.path)}`);
    }
    return;
  }
  const { config } = result;
  assert.ok(path.isAbsolute(config.sourcePath));
  assert.equal(config.clusters[0]?.role, "production", "production comes first");
  assert.equal(config.clusters.filter((cluster) => cluster.role === "production").length, 1);
  const names = config.clusters.map((cluster) => cluster.name);
  assert.equal(new Set(names).size, names.length, "cluster names are unique");
  for (const cluster of config.clusters) {
    assert.equal(cluster.kubeconfig.kind, "path");
    if (cluster.kubeconfig.kind === "path") assert.ok(path.isAbsolute(cluster.kubeconfig.path));
    assert.equal(cluster.source, "file");
  }
  for (const ms of [
    config.discoveryIntervalMs,
    config.resyncPeriodMs,
    config.staleTTLMs,
    config.syncTimeoutMs,
    config.queue.baseDelayMs,
    config.queue.maxDelayMs,
    config.api.timeoutMs,
  ]) {
    assert.ok(Number.isSafeInteger(ms) && ms >= 0, `duration ${ms}`);
  }
  assert.ok(config.workers >= 1 && config.workers <= 64);
}

function parseSafely(text: string, sourcePath = DEFAULT_SOURCE): ConfigResult {
  try {
    return parseConfig(text, sourcePath);
  } catch (error) {
    assert.fail(`parseConfig threw for ${JSON.stringify(text)}: ${String(error)}`);
  }
}

function errorLines(result: ConfigResult): string[] {
  return result.ok ? [] : result.errors.map((error) => `${error.path}\t${error.message}`).sort();
}

// ---------------------------------------------------------------------------------------------
// CIDRs: networks as bigints, several spellings each, an independent canonical form

type Family = "IPv4" | "IPv6";
const WIDTH: Record<Family, number> = { IPv4: 32, IPv6: 128 };

interface Network {
  family: Family;
  value: bigint;
  prefix: number;
}

function network(family: Family, value: bigint, prefix: number): Network {
  const host = BigInt(WIDTH[family] - prefix);
  return { family, value: (value >> host) << host, prefix };
}

function pieces(value: bigint, count: number, size: number): number[] {
  const mask = (1n << BigInt(size)) - 1n;
  return Array.from({ length: count }, (_, index) =>
    Number((value >> BigInt(size * (count - 1 - index))) & mask),
  );
}

function fromPieces(values: readonly number[], size: number): bigint {
  return values.reduce((sum, piece) => (sum << BigInt(size)) | BigInt(piece), 0n);
}

/** `::ffff:a.b.c.d` networks, which the parser refuses by design. */
function isIpv4Mapped(net: Network): boolean {
  if (net.family !== "IPv6") return false;
  const groups = pieces(net.value, 8, 16);
  return groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
}

/** The canonical text, via the WHATWG URL parser for IPv6 (RFC 5952 compression, lowercase). */
function canonicalCidr(net: Network): string {
  if (net.family === "IPv4") return `${pieces(net.value, 4, 8).join(".")}/${net.prefix}`;
  const full = pieces(net.value, 8, 16)
    .map((group) => group.toString(16))
    .join(":");
  const host = new URL(`http://[${full}]/`).hostname;
  return `${host.slice(1, -1)}/${net.prefix}`;
}

const networkArb: fc.Arbitrary<Network> = fc
  .oneof(
    fc
      .record({
        octets: fc.array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 255 })), {
          minLength: 4,
          maxLength: 4,
        }),
        prefix: fc.integer({ min: 0, max: 32 }),
      })
      .map(({ octets, prefix }) => network("IPv4", fromPieces(octets, 8), prefix)),
    fc
      .record({
        groups: fc.array(
          fc.oneof(
            fc.constant(0),
            fc.constantFrom(1, 0xdb8, 0x2001, 0xfd00, 0xffff),
            fc.integer({ min: 0, max: 0xffff }),
          ),
          { minLength: 8, maxLength: 8 },
        ),
        prefix: fc.integer({ min: 0, max: 128 }),
      })
      .map(({ groups, prefix }) => network("IPv6", fromPieces(groups, 16), prefix)),
  )
  .filter((net) => !isIpv4Mapped(net));

interface Spelling {
  upper: boolean[];
  pad: number[];
  compress: number;
  dotted: boolean;
}

const spellingArb: fc.Arbitrary<Spelling> = fc.record({
  upper: fc.array(fc.boolean(), { minLength: 8, maxLength: 8 }),
  pad: fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 8, maxLength: 8 }),
  compress: fc.nat(),
  dotted: fc.boolean(),
});

/** One valid way of writing `net`: any case, leading zeros, `::` for any zero run, a dotted tail. */
function spell(net: Network, spelling: Spelling): string {
  if (net.family === "IPv4") return canonicalCidr(net);
  const groups = pieces(net.value, 8, 16);
  let tokens = groups.map((group, index) => {
    const hex = group.toString(16);
    const padded = hex.padStart(Math.min(4, hex.length + (spelling.pad[index] ?? 0)), "0");
    return spelling.upper[index] ? padded.toUpperCase() : padded;
  });
  const runs: { start: number; end: number }[] = [];
  for (let start = 0; start < 8; start++) {
    for (let end = start + 1; end <= 8 && groups[end - 1] === 0; end++) runs.push({ start, end });
  }
  // Index runs.length means "no ::".
  const run = runs[spelling.compress % (runs.length + 1)];
  if (spelling.dotted && (run === undefined || run.end <= 6)) {
    const [a = 0, b = 0] = groups.slice(6);
    tokens = [...tokens.slice(0, 6), `${a >> 8}.${a & 0xff}.${b >> 8}.${b & 0xff}`];
  }
  const address =
    run === undefined
      ? tokens.join(":")
      : `${tokens.slice(0, run.start).join(":")}::${tokens.slice(run.end).join(":")}`;
  return `${address}/${net.prefix}`;
}

interface CidrList {
  texts: string[];
  canonical: string[];
}

/** 0–3 networks, each written 1–2 ways, shuffled; the expected value is the sorted set. */
const cidrListArb: fc.Arbitrary<CidrList> = fc
  .array(
    networkArb.chain((net) =>
      fc
        .array(spellingArb, { minLength: 1, maxLength: 2 })
        .map((spellings) => ({ net, texts: spellings.map((spelling) => spell(net, spelling)) })),
    ),
    { maxLength: 3 },
  )
  .chain((entries) => {
    const texts = entries.flatMap((entry) => entry.texts);
    const canonical = [...new Set(entries.map((entry) => canonicalCidr(entry.net)))].sort();
    return fc
      .shuffledSubarray(texts, { minLength: texts.length, maxLength: texts.length })
      .map((shuffled) => ({ texts: shuffled, canonical }));
  });

// ---------------------------------------------------------------------------------------------
// Valid configs with their expected parse

const dnsLabelArb = fc.oneof(
  { arbitrary: fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,8}[a-z0-9])?$/), weight: 4 },
  { arbitrary: fc.stringMatching(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/), weight: 1 },
);

interface Duration {
  text: string;
  ms: number;
}

const UNITS: readonly [string, number][] = [
  ["ms", 1],
  ["s", 1000],
  ["m", 60_000],
  ["h", 3_600_000],
];

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A duration from `minMs` to `maxMs` (each field's bounds; see config-schema.ts). */
function durationArb(minMs: number, maxMs: number): fc.Arbitrary<Duration> {
  return fc
    .constantFrom(...UNITS)
    .chain(([unit, size]) =>
      fc
        .integer({ min: Math.ceil(minMs / size), max: Math.min(100_000, Math.floor(maxMs / size)) })
        .map((n) => ({ text: `${n}${unit}`, ms: n * size })),
    );
}

function optional<T>(arb: fc.Arbitrary<T>): fc.Arbitrary<T | undefined> {
  return fc.option(arb, { nil: undefined });
}

const metricsArb: fc.Arbitrary<{ text: string; address: ListenAddress }> = fc.oneof(
  fc.constant({ text: "off", address: { enabled: false } as const }),
  fc
    .record({
      host: fc.oneof(fc.ipV4(), fc.constantFrom("", "localhost", "metrics.local", "[::1]")),
      port: fc.integer({ min: 0, max: 65_535 }),
    })
    .map(({ host, port }) => ({
      text: `${host}:${port}`,
      address: { enabled: true, host: host.replace(/^\[(.*)\]$/, "$1"), port },
    })),
);

const kubeconfigArb = fc.oneof(
  fc.stringMatching(/^(\/|\.\/|\.\.\/)?[a-z0-9._-]{1,12}(\/[a-z0-9._-]{1,12}){0,2}$/),
  fc.string({ minLength: 1, unit: "grapheme" }),
);

interface ClusterModel {
  entry: Settings;
  name: string;
  role: "production" | "peak";
  kubeconfig: string;
  context: string | undefined;
  allowedCIDRs: string[];
  ranges: { podCIDRs: string[]; serviceCIDRs: string[]; nodeCIDRs: string[] };
  maxEndpointsPerService: number | undefined;
  allowInsecureKubeconfig: boolean | undefined;
}

const commonClusterArb = fc.record({
  kubeconfig: kubeconfigArb,
  context: optional(fc.string({ minLength: 1, unit: "grapheme" })),
  allowInsecureKubeconfig: optional(fc.boolean()),
});

const productionArb = fc.record({
  common: commonClusterArb,
  podCIDRs: optional(cidrListArb),
  serviceCIDRs: optional(cidrListArb),
  nodeCIDRs: optional(cidrListArb),
});

const peakArb = fc.record({
  common: commonClusterArb,
  allowedCIDRs: cidrListArb,
  maxEndpointsPerService: optional(fc.integer({ min: 1, max: 100_000 })),
});

/** Copies the defined fields only, so absent settings are really absent from the YAML. */
function defined(fields: Record<string, unknown>): Settings {
  return Object.fromEntries(Object.entries(fields).filter(([, value]) => value !== undefined));
}

function productionModel(name: string, value: ValueOf<typeof productionArb>): ClusterModel {
  const { common } = value;
  return {
    entry: defined({
      name,
      role: "production",
      kubeconfig: common.kubeconfig,
      context: common.context,
      podCIDRs: value.podCIDRs?.texts,
      serviceCIDRs: value.serviceCIDRs?.texts,
      nodeCIDRs: value.nodeCIDRs?.texts,
      allowInsecureKubeconfig: common.allowInsecureKubeconfig,
    }),
    name,
    role: "production",
    kubeconfig: common.kubeconfig,
    context: common.context,
    allowedCIDRs: [],
    ranges: {
      podCIDRs: value.podCIDRs?.canonical ?? [],
      serviceCIDRs: value.serviceCIDRs?.canonical ?? [],
      nodeCIDRs: value.nodeCIDRs?.canonical ?? [],
    },
    maxEndpointsPerService: undefined,
    allowInsecureKubeconfig: common.allowInsecureKubeconfig,
  };
}

function peakModel(name: string, value: ValueOf<typeof peakArb>): ClusterModel {
  const { common } = value;
  return {
    entry: defined({
      name,
      role: "peak",
      kubeconfig: common.kubeconfig,
      context: common.context,
      allowedCIDRs: value.allowedCIDRs.texts,
      maxEndpointsPerService: value.maxEndpointsPerService,
      allowInsecureKubeconfig: common.allowInsecureKubeconfig,
    }),
    name,
    role: "peak",
    kubeconfig: common.kubeconfig,
    context: common.context,
    allowedCIDRs: value.allowedCIDRs.canonical,
    ranges: { podCIDRs: [], serviceCIDRs: [], nodeCIDRs: [] },
    maxEndpointsPerService: value.maxEndpointsPerService,
    allowInsecureKubeconfig: common.allowInsecureKubeconfig,
  };
}

const clustersArb: fc.Arbitrary<ClusterModel[]> = fc
  .uniqueArray(dnsLabelArb, { minLength: 1, maxLength: 5 })
  .chain(([productionName = "", ...peakNames]) =>
    fc
      .record({
        production: productionArb,
        peaks: fc.array(peakArb, { minLength: peakNames.length, maxLength: peakNames.length }),
        position: fc.integer({ min: 0, max: peakNames.length }),
      })
      .map(({ production, peaks, position }) => {
        const file = peakNames.map((name, index) => peakModel(name, peaks[index]!));
        file.splice(position, 0, productionModel(productionName, production));
        return file;
      }),
  );

const queueArb = fc
  .record({
    qps: optional(fc.double({ min: 0.01, max: 1e12, noNaN: true })),
    burst: optional(fc.integer({ min: 1, max: 2 ** 40 })),
    baseDelay: optional(durationArb(1, HOUR)),
    maxDelay: optional(durationArb(1, DAY)),
  })
  .filter(({ baseDelay, maxDelay }) => (baseDelay?.ms ?? 5) <= (maxDelay?.ms ?? 1_000_000));

interface ValidConfig {
  sourcePath: string;
  clusters: ClusterModel[];
  top: {
    namespace: string | undefined;
    discoveryInterval: Duration | undefined;
    resyncPeriod: Duration | undefined;
    workers: number | undefined;
    mode: "endpointslice" | "endpoints" | undefined;
    staleTTL: Duration | undefined;
    syncTimeout: Duration | undefined;
    channelCapacity: number | undefined;
    queue: ValueOf<typeof queueArb> | undefined;
    apiTimeout: Duration | undefined;
    metrics: { text: string; address: ListenAddress } | undefined;
  };
}

const validConfigArb: fc.Arbitrary<ValidConfig> = fc.record({
  sourcePath: fc.constantFrom(
    DEFAULT_SOURCE,
    "kubeburst.yaml",
    "conf/kubeburst.yaml",
    "../up/k.yml",
    "/srv/a b/ü/kubeburst.yaml",
    "/k.yaml",
  ),
  clusters: clustersArb,
  top: fc.record({
    namespace: optional(dnsLabelArb),
    discoveryInterval: optional(durationArb(1000, DAY)),
    resyncPeriod: optional(durationArb(0, DAY)),
    workers: optional(fc.integer({ min: 1, max: 64 })),
    mode: optional(fc.constantFrom("endpointslice" as const, "endpoints" as const)),
    staleTTL: optional(durationArb(0, DAY)),
    syncTimeout: optional(durationArb(1000, HOUR)),
    channelCapacity: optional(fc.integer({ min: 1, max: 1_000_000 })),
    queue: optional(queueArb),
    apiTimeout: optional(durationArb(1, HOUR)),
    metrics: optional(metricsArb),
  }),
});

function settingsOf(valid: ValidConfig): Settings {
  const { top } = valid;
  return defined({
    clusters: valid.clusters.map((cluster) => cluster.entry),
    namespace: top.namespace,
    discoveryInterval: top.discoveryInterval?.text,
    resyncPeriod: top.resyncPeriod?.text,
    workers: top.workers,
    mode: top.mode,
    staleTTL: top.staleTTL?.text,
    syncTimeout: top.syncTimeout?.text,
    channelCapacity: top.channelCapacity,
    queue:
      top.queue === undefined
        ? undefined
        : defined({
            qps: top.queue.qps,
            burst: top.queue.burst,
            baseDelay: top.queue.baseDelay?.text,
            maxDelay: top.queue.maxDelay?.text,
          }),
    api: top.apiTimeout === undefined ? undefined : { timeout: top.apiTimeout.text },
    metrics: top.metrics === undefined ? undefined : { address: top.metrics.text },
  });
}

function expectedConfig(valid: ValidConfig): Config {
  const { top } = valid;
  const sourcePath = path.resolve(valid.sourcePath);
  const folder = path.dirname(sourcePath);
  const spec = (cluster: ClusterModel): ClusterSpec => ({
    name: cluster.name,
    role: cluster.role,
    kubeconfig: { kind: "path", path: path.resolve(folder, cluster.kubeconfig) },
    context: cluster.context,
    allowedCIDRs: cluster.allowedCIDRs,
    ranges: cluster.ranges,
    maxEndpointsPerService: cluster.maxEndpointsPerService ?? 1000,
    allowInsecureKubeconfig: cluster.allowInsecureKubeconfig ?? false,
    source: "file",
  });
  return {
    sourcePath,
    clusters: [
      ...valid.clusters.filter((cluster) => cluster.role === "production").map(spec),
      ...valid.clusters.filter((cluster) => cluster.role === "peak").map(spec),
    ],
    namespace: top.namespace ?? "kubeburst",
    discoveryIntervalMs: top.discoveryInterval?.ms ?? 30_000,
    resyncPeriodMs: top.resyncPeriod?.ms ?? 600_000,
    workers: top.workers ?? 8,
    mode: top.mode ?? "endpointslice",
    staleTTLMs: top.staleTTL?.ms ?? 300_000,
    syncTimeoutMs: top.syncTimeout?.ms ?? 120_000,
    channelCapacity: top.channelCapacity ?? 1024,
    queue: {
      qps: top.queue?.qps ?? 10,
      burst: top.queue?.burst ?? 100,
      baseDelayMs: top.queue?.baseDelay?.ms ?? 5,
      maxDelayMs: top.queue?.maxDelay?.ms ?? 1_000_000,
    },
    api: { timeoutMs: top.apiTimeout?.ms ?? 30_000, probeIntervalMs: 5_000 },
    metrics: top.metrics?.address ?? { enabled: true, host: "127.0.0.1", port: 9090 },
    statusAPI: "loopback",
    leaderElection: {
      enabled: false,
      leaseName: "kubeburst",
      leaseDurationMs: 15_000,
      renewDeadlineMs: 10_000,
      retryPeriodMs: 2000,
    },
    burst: { defaultPolicy: "always", holdMs: 60_000, drainMs: 0, probeConcurrency: 64 },
  };
}

// ---------------------------------------------------------------------------------------------
// Mutations: one field of a valid config set to another value

type Kind = "string" | "number" | "boolean" | "list" | "mapping";

interface Target {
  path: Segment[];
  kind: Kind;
}

const TOP_TARGETS: Target[] = [
  { path: ["clusters"], kind: "list" },
  { path: ["namespace"], kind: "string" },
  { path: ["discoveryInterval"], kind: "string" },
  { path: ["resyncPeriod"], kind: "string" },
  { path: ["workers"], kind: "number" },
  { path: ["mode"], kind: "string" },
  { path: ["staleTTL"], kind: "string" },
  { path: ["syncTimeout"], kind: "string" },
  { path: ["channelCapacity"], kind: "number" },
  { path: ["queue"], kind: "mapping" },
  { path: ["queue", "qps"], kind: "number" },
  { path: ["queue", "burst"], kind: "number" },
  { path: ["queue", "baseDelay"], kind: "string" },
  { path: ["queue", "maxDelay"], kind: "string" },
  { path: ["api"], kind: "mapping" },
  { path: ["api", "timeout"], kind: "string" },
  { path: ["metrics"], kind: "mapping" },
  { path: ["metrics", "address"], kind: "string" },
];

const CLUSTER_FIELDS: [string, Kind][] = [
  ["name", "string"],
  ["role", "string"],
  ["kubeconfig", "string"],
  ["context", "string"],
  ["podCIDRs", "list"],
  ["serviceCIDRs", "list"],
  ["nodeCIDRs", "list"],
  ["allowedCIDRs", "list"],
  ["maxEndpointsPerService", "number"],
  ["allowInsecureKubeconfig", "boolean"],
];

/** Every field of `settings` that can be set, present or not, with the type it must have. */
function targetsOf(settings: Settings): Target[] {
  const targets = [...TOP_TARGETS];
  const clusters = settings.clusters as Settings[];
  clusters.forEach((cluster, index) => {
    targets.push({ path: ["clusters", index], kind: "mapping" });
    for (const [field, kind] of CLUSTER_FIELDS) {
      targets.push({ path: ["clusters", index, field], kind });
      const list = cluster[field];
      if (Array.isArray(list)) {
        list.forEach((_, item) => {
          targets.push({ path: ["clusters", index, field, item], kind: "string" });
        });
      }
    }
  });
  return targets;
}

function setIn(settings: Settings, segments: readonly Segment[], value: unknown): Settings {
  const copy = structuredClone(settings);
  let node: Record<Segment, unknown> = copy;
  for (const segment of segments.slice(0, -1)) {
    const next = node[segment];
    if (typeof next === "object" && next !== null) {
      node = next as Record<Segment, unknown>;
    } else {
      const created: Record<Segment, unknown> = {};
      node[segment] = created;
      node = created;
    }
  }
  node[segments.at(-1)!] = value;
  return copy;
}

const smallJson = fc.jsonValue({ maxDepth: 2 });

const WRONG_VALUES: Record<Kind | "any", fc.Arbitrary<unknown>> = (() => {
  const string = fc.string({ unit: "grapheme" });
  const number = fc.oneof(fc.integer(), fc.double());
  const boolean = fc.boolean();
  const nothing = fc.constant(null);
  const list = fc.array(smallJson, { maxLength: 3 });
  const mapping = fc.dictionary(fc.string(), smallJson, { maxKeys: 3 });
  return {
    string: fc.oneof(number, boolean, nothing, list, mapping),
    number: fc.oneof(string, boolean, nothing, list, mapping),
    boolean: fc.oneof(string, number, nothing, list, mapping),
    list: fc.oneof(string, number, boolean, nothing, mapping),
    mapping: fc.oneof(string, number, boolean, nothing, list),
    any: fc.oneof(
      fc.anything(),
      string,
      number,
      list,
      mapping,
      dnsLabelArb,
      durationArb(0, DAY).map((d) => d.text),
    ),
  };
})();

interface Mutation {
  settings: Settings;
  target: string;
}

/** A valid config with one field set to a value of the wrong type (`kind: "wrong"`) or any value. */
function mutatedArb(kind: "wrong" | "any"): fc.Arbitrary<Mutation> {
  return validConfigArb.chain((valid) => {
    const settings = settingsOf(valid);
    return fc.constantFrom(...targetsOf(settings)).chain((target) =>
      WRONG_VALUES[kind === "wrong" ? target.kind : "any"].map((value) => ({
        settings: setIn(settings, target.path, value),
        target: formatPath(target.path),
      })),
    );
  });
}

// ---------------------------------------------------------------------------------------------
// Random YAML formatting of the same data

function isPlainRecord(value: unknown): value is Settings {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function shuffle<T>(items: T[], g: fc.GeneratorValue): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = g(fc.integer, { min: 0, max: index });
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
  return items;
}

function shuffleKeys(value: unknown, g: fc.GeneratorValue): unknown {
  if (Array.isArray(value)) return value.map((item) => shuffleKeys(item, g));
  if (!isPlainRecord(value)) return value;
  const entries = shuffle(Object.entries(value), g);
  return Object.fromEntries(entries.map(([key, item]) => [key, shuffleKeys(item, g)]));
}

const SCALAR_TYPES: Scalar.Type[] = [
  "PLAIN",
  "QUOTE_DOUBLE",
  "QUOTE_SINGLE",
  "BLOCK_LITERAL",
  "BLOCK_FOLDED",
];

/** `value` with its keys shuffled, written with random collection and scalar styles. */
function reformat(value: unknown, g: fc.GeneratorValue): { text: string; data: unknown } {
  const data = shuffleKeys(value, g);
  const version = g(fc.constantFrom, "1.2" as const, "1.1" as const);
  const doc = new Document(data, { version, aliasDuplicateObjects: false });
  // Without an explicit directive, "%YAML 1.1" is left out and the text is read as 1.2.
  if (version === "1.1" && doc.directives !== undefined) doc.directives.yaml.explicit = true;
  visit(doc, {
    // The yaml package writes an empty collection in block style as broken YAML.
    Map: (_, node) => {
      node.flow = node.items.length === 0 || g(fc.boolean);
    },
    Seq: (_, node) => {
      node.flow = node.items.length === 0 || g(fc.boolean);
    },
    Scalar: (key, node) => {
      if (typeof node.value === "string") {
        // The yaml package writes block scalars with leading blanks wrongly (" a" comes back as
        // "a") and can garble a key it had to write in block style, so those keep to flow styles.
        const block = key !== "key" && /^\S/.test(node.value);
        const types = block ? SCALAR_TYPES : SCALAR_TYPES.slice(0, 3);
        node.type = g(fc.constantFrom, ...types);
      } else if (
        typeof node.value === "number" &&
        Number.isSafeInteger(node.value) &&
        node.value > 0 &&
        g(fc.boolean)
      ) {
        node.format = "HEX";
      }
    },
  });
  // Unusual writer options (indent 1 or 3, folding at 20 columns, flow padding) make the yaml
  // package write broken YAML, so only the common ones are varied.
  const text = doc.toString({
    directives: version === "1.1" ? true : g(fc.boolean),
    indent: g(fc.constantFrom, 2, 4),
    indentSeq: g(fc.boolean),
    lineWidth: g(fc.constantFrom, 0, 80),
  });
  return { text: `${g(fc.boolean) ? "# kubeburst\n" : ""}${text}`, data };
}

function plainYaml(value: unknown): string {
  return stringify(value, { aliasDuplicateObjects: false }) ?? "";
}

const TAGGED_NOT_MAPPINGS = [
  "!!omap [{qps: 0}, {timeout: 0s}, {address: nowhere}]",
  "!!set {qps, timeout, address}",
  "!!timestamp 2001-12-14",
];

/** YAML that no JSON value stringifies to: tags, a missing anchor, an unknown local tag. */
const RAW_SNIPPETS = [
  ...TAGGED_NOT_MAPPINGS,
  "!!binary aGVsbG8=",
  "!!pairs [{a: 1}]",
  "*missing",
  "!local x",
];

/** Anchors whose aliases point back into themselves; YAML allows these and they make cycles. */
const SELF_REFERENCES = ["&a [*a]", "&a {self: *a}", "&a [x, {k: *a}]"];

const PLACEHOLDER = "kubeburst-placeholder";

/** `settings` written as YAML with the value at `segments` replaced by raw YAML text. */
function withRawValue(settings: Settings, segments: readonly Segment[], snippet: string): string {
  return plainYaml(setIn(settings, segments, PLACEHOLDER)).replace(PLACEHOLDER, snippet);
}

/** A valid config with one field (present or not) written as one of `snippets`. */
function rawMutationArb(snippets: readonly string[]): fc.Arbitrary<string> {
  return validConfigArb.chain((valid) => {
    const settings = settingsOf(valid);
    return fc
      .tuple(fc.constantFrom(...targetsOf(settings)), fc.constantFrom(...snippets))
      .map(([target, snippet]) => withRawValue(settings, target.path, snippet));
  });
}

// ---------------------------------------------------------------------------------------------
// 1. Never throws; the result is always well formed

const YAML_TOKENS = [
  "clusters:",
  "- ",
  "name: a",
  "role: production",
  "role: peak",
  "kubeconfig: k",
  "allowedCIDRs: [0.0.0.0/0]",
  "podCIDRs:",
  "workers: 8",
  "queue:",
  "api:",
  "qps: 1",
  "metrics:",
  "address: off",
  "&a ",
  "*a",
  "<<: *a",
  "[",
  "]",
  "{",
  "}",
  ",",
  ": ",
  "? ",
  "\n",
  "\n  ",
  "\n    ",
  "\t",
  " #c",
  "---\n",
  "...\n",
  "%YAML 1.1\n",
  "%YAML 1.2\n",
  "%TAG !e! tag:example.com,2000:\n",
  "!!omap ",
  "!!set ",
  "!!pairs ",
  "!!binary ",
  "!!timestamp ",
  "!!str ",
  "!!int ",
  "!!float ",
  "!!map ",
  "!!seq ",
  "!e!x ",
  "|\n",
  ">-\n",
  '"',
  "'",
  "\\",
  "0x1F",
  "1e3",
  ".nan",
  "-.inf",
  "~",
  "null",
  "yes",
  "2001-12-14",
  "__proto__",
  "constructor",
  "aGVsbG8=",
];

const yamlSoupArb = fc
  .array(fc.oneof(fc.constantFrom(...YAML_TOKENS), fc.string({ maxLength: 3 })), {
    maxLength: 40,
  })
  .map((parts) => parts.join(""));

const anythingYamlArb = fc
  .oneof(
    fc.jsonValue(),
    fc.anything({
      withMap: true,
      withSet: true,
      withDate: true,
      withTypedArray: true,
      withNullPrototype: true,
      withBigInt: true,
      withSparseArray: true,
    }),
    fc.dictionary(fc.constantFrom("clusters", "queue", "api", "metrics", "workers"), fc.anything()),
  )
  .map((value) => {
    try {
      return plainYaml(value);
    } catch {
      return ""; // a value the yaml package cannot write is not the parser's concern
    }
  });

test("parseConfig never throws and always returns a config or usable errors", () => {
  const textArb = fc.oneof(
    fc.string({ unit: "binary" }),
    yamlSoupArb,
    anythingYamlArb,
    mutatedArb("any").map((mutation) => plainYaml(mutation.settings)),
    rawMutationArb(RAW_SNIPPETS),
  );
  fc.assert(
    fc.property(textArb, (text) => assertWellFormed(parseSafely(text))),
    RUNS,
  );
});

test("parseConfig does not throw on self-referencing anchors", () => {
  fc.assert(
    fc.property(rawMutationArb(SELF_REFERENCES), (text) => assertWellFormed(parseSafely(text))),
    RUNS,
  );
});

// ---------------------------------------------------------------------------------------------
// 2. Errors name the field that is wrong

test("a field set to a value of the wrong type gets an error at (or under) its path", () => {
  fc.assert(
    fc.property(mutatedArb("wrong"), ({ settings, target }) => {
      const result = parseSafely(plainYaml(settings));
      assertWellFormed(result);
      assert.equal(result.ok, false, `accepted a wrong-typed ${target}`);
      if (result.ok) return;
      assert.ok(
        result.errors.some((error) => isAtOrUnder(error.path, target)),
        `no error at ${target}: ${JSON.stringify(result.errors)}`,
      );
    }),
    RUNS,
  );
});

// Fixed in 88b0c34: these used to be read as empty mappings, so the defaults silently applied.
test("a YAML-tagged non-mapping (!!omap, !!set, !!timestamp) where queue, api or metrics goes is refused", () => {
  fc.assert(
    fc.property(
      validConfigArb,
      fc.constantFrom("queue", "api", "metrics"),
      fc.constantFrom(...TAGGED_NOT_MAPPINGS),
      (valid, field, snippet) => {
        const text = withRawValue(settingsOf(valid), [field], snippet);
        const result = parseSafely(text);
        assert.ok(
          !result.ok && result.errors.some((error) => isAtOrUnder(error.path, field)),
          `${JSON.stringify(text)} parsed as ${JSON.stringify(result.ok ? result.config[field] : result.errors)}`,
        );
      },
    ),
    RUNS,
  );
});

// ---------------------------------------------------------------------------------------------
// 3. Round trip of valid configs

test("a valid config parses to exactly the values it was written from", () => {
  fc.assert(
    fc.property(validConfigArb, (valid) => {
      const result = parseSafely(plainYaml(settingsOf(valid)), valid.sourcePath);
      assert.ok(result.ok, JSON.stringify(result));
      assert.deepEqual(result.config, expectedConfig(valid));
    }),
    RUNS,
  );
});

// ---------------------------------------------------------------------------------------------
// 4. Key order and YAML style do not matter

test("key order and YAML formatting do not change the result", () => {
  const settingsArb = fc.oneof(
    validConfigArb.map(settingsOf),
    mutatedArb("wrong").map((mutation) => mutation.settings),
  );
  fc.assert(
    fc.property(settingsArb, fc.gen(), (settings, g) => {
      const { text, data } = reformat(settings, g);
      // Guard: the formatted text must hold the same data, or this test proves nothing.
      let reparsed: unknown;
      try {
        reparsed = parse(text);
      } catch (error) {
        assert.fail(`the formatter wrote invalid YAML (${String(error)}):\n${text}`);
      }
      assert.deepEqual(reparsed, data, `formatting changed the data:\n${text}`);
      const plain = parseSafely(plainYaml(settings));
      const formatted = parseSafely(text);
      assert.equal(formatted.ok, plain.ok, text);
      if (plain.ok && formatted.ok) assert.deepEqual(formatted.config, plain.config, text);
      else assert.deepEqual(errorLines(formatted), errorLines(plain), text);
    }),
    RUNS,
  );
});

// ---------------------------------------------------------------------------------------------
// 5. Discovery Secrets

const SECRET_KEYS = [
  "kubeconfig",
  "name",
  "role",
  "allowedCIDRs",
  "maxEndpointsPerService",
  "context",
  "allowInsecureKubeconfig",
  "kubeConfig",
];

const secretValueArb = fc.oneof(
  fc.string({ unit: "binary" }),
  fc.constantFrom(
    "production",
    " production\n",
    "\tproduction ",
    "PRODUCTION",
    "peak",
    "true",
    "yes",
    "",
    "1000",
    "0",
    "[0.0.0.0/0, ::/0]",
    "- 10.0.0.0/8\n- fd00::/8",
    "10.0.0.0/8, fd00::/8",
    "-1",
    "[&a [*a]]",
    "apiVersion: v1\nkind: Config\n",
  ),
  yamlSoupArb,
);

const secretArb = fc.record({
  name: fc.oneof(dnsLabelArb, fc.string()),
  data: fc.oneof(
    fc.dictionary(fc.oneof(fc.constantFrom(...SECRET_KEYS), fc.string()), secretValueArb, {
      maxKeys: 8,
    }),
    // Start from a valid Secret so that accepted Secrets are common too.
    fc
      .dictionary(fc.constantFrom(...SECRET_KEYS), secretValueArb, { maxKeys: 4 })
      .map((extra) => ({ kubeconfig: "apiVersion: v1\n", allowedCIDRs: "10.0.0.0/8", ...extra })),
  ),
});

test("parseClusterSecret never throws and never yields production or an insecure kubeconfig", () => {
  let accepted = 0;
  fc.assert(
    fc.property(secretArb, (secret) => {
      let result: ReturnType<typeof parseClusterSecret>;
      try {
        result = parseClusterSecret(secret);
      } catch (error) {
        assert.fail(`parseClusterSecret threw: ${String(error)}`);
      }
      if (result.ok) {
        accepted++;
        assert.equal(result.spec.role, "peak");
        assert.equal(result.spec.allowInsecureKubeconfig, false);
        assert.equal(result.spec.source, "secret");
        assert.equal(result.spec.kubeconfig.kind, "inline");
      } else {
        assert.ok(result.errors.length > 0);
        for (const error of result.errors) {
          assert.ok(error.path.startsWith(`secret ${secret.name}:`), error.path);
          assert.notEqual(error.message, "");
        }
      }
    }),
    RUNS,
  );
  assert.ok(accepted > 0, "some generated Secrets are valid");
});
