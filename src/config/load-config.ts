import path from "node:path";
import { parseDocument } from "yaml";
import type { BurstPolicyKind } from "../domain/burst-policy.ts";
import type { ClusterSpec } from "./cluster-spec.ts";
import { type ConfigError, configErrorsFromIssues, formatConfigPath } from "./config-error.ts";
import {
  type ClusterEntry,
  configFileSchema,
  DEFAULT_MAX_ENDPOINTS_PER_SERVICE,
  type ENDPOINT_MODES,
  type STATUS_API_ACCESS,
} from "./config-schema.ts";
import type { ListenAddress } from "./listen-address.ts";
import { quote, shorten } from "./quote.ts";
import { MIB, readBoundedFile } from "./read-bounded-file.ts";

/**
 * The largest config file read: a config with a thousand clusters is under 200 KiB, and a
 * bound keeps a wrong path (a device, a log file) from filling memory.
 */
export const CONFIG_MAX_BYTES = MIB;

/** `endpointslice` (default: extra EndpointSlices) or `endpoints` (literal Endpoints rewrite). */
export type EndpointMode = (typeof ENDPOINT_MODES)[number];

/** Who may read the status API (see {@link Config.statusAPI}). */
export type StatusApiAccess = (typeof STATUS_API_ACCESS)[number];

/** kubeburst's validated settings; every duration in milliseconds, every default filled in. */
export interface Config {
  /** Absolute path of the file the settings came from. */
  sourcePath: string;
  /** Exactly one production cluster, then the peaks, in file order; kubeconfig paths absolute. */
  clusters: readonly ClusterSpec[];
  /** Namespace of the discovery Secrets in the production cluster; default `kubeburst`. */
  namespace: string;
  /** How often cluster sources are re-read; default 30 000 (30 s), at least 1 s. */
  discoveryIntervalMs: number;
  /** Informer full-resync period; default 600 000 (600 s); 0 disables resync. */
  resyncPeriodMs: number;
  /** Worker pool size per cluster controller, 1–64; default 8. */
  workers: number;
  /** Default `endpointslice`. */
  mode: EndpointMode;
  /** How long an unreachable peer's endpoints are kept; default 300 000 (5 min). */
  staleTTLMs: number;
  /** How long to wait for a peer's first sync; default 120 000 (2 min). */
  syncTimeoutMs: number;
  /** Capacity of the aggregation channel; default 1024. */
  channelCapacity: number;
  /** Work queue rate limiting; defaults 10 qps, burst 100, 5 ms to 1 000 000 ms back-off. */
  queue: { qps: number; burst: number; baseDelayMs: number; maxDelayMs: number };
  /**
   * Per-request deadline for API calls; default 30 000 (30 s). Every cluster's API server is
   * probed every `probeIntervalMs` (default 5 000); two probes in a row without an answer make it
   * unreachable, so a frozen API server is found out within about three intervals.
   */
  api: { timeoutMs: number; probeIntervalMs: number };
  /** Address of /metrics, /healthz and /readyz; default 127.0.0.1:9090. */
  metrics: ListenAddress;
  /**
   * Who may read the status API served beside /metrics: `loopback` (default) only clients
   * connecting from a loopback address, `any` everyone who reaches `metrics.address`, `off` nobody.
   * The status API shows endpoint addresses and cluster names: `any` on a non-loopback address
   * shows them to the network.
   */
  statusAPI: StatusApiAccess;
  /**
   * Lease-based leader election in `namespace` of the production cluster (SPEC B10); off by
   * default; 15 s lease, 10 s renew deadline, 2 s retry.
   */
  leaderElection: {
    enabled: boolean;
    leaseName: string;
    leaseDurationMs: number;
    renewDeadlineMs: number;
    retryPeriodMs: number;
  };
  /**
   * Burst policy (SPEC B5): the policy of a Service without `kubeburst.io/burst-policy` (default
   * `always`), the hold time before a threshold or hpa-saturated burst ends (default 60 s), how
   * long leaving peak endpoints are written terminating before they go (default 0: at once), and
   * how many reachability probes run at once (default 64).
   */
  burst: {
    defaultPolicy: BurstPolicyKind;
    holdMs: number;
    drainMs: number;
    probeConcurrency: number;
  };
}

/** Settings, or every reason they are invalid. */
export type ConfigResult = { ok: true; config: Config } | { ok: false; errors: ConfigError[] };

function clusterSpecFromEntry(entry: ClusterEntry, folder: string): ClusterSpec {
  return {
    name: entry.name,
    role: entry.role,
    kubeconfig:
      entry.kubeconfig === undefined
        ? { kind: "in-cluster" }
        : { kind: "path", path: path.resolve(folder, entry.kubeconfig) },
    context: entry.context,
    allowedCIDRs: entry.allowedCIDRs ?? [],
    ranges: {
      podCIDRs: entry.podCIDRs ?? [],
      serviceCIDRs: entry.serviceCIDRs ?? [],
      nodeCIDRs: entry.nodeCIDRs ?? [],
    },
    maxEndpointsPerService: entry.maxEndpointsPerService ?? DEFAULT_MAX_ENDPOINTS_PER_SERVICE,
    allowInsecureKubeconfig: entry.allowInsecureKubeconfig ?? false,
    ...(entry.probe === undefined
      ? {}
      : {
          probe: {
            intervalMs: entry.probe.interval,
            timeoutMs: entry.probe.timeout,
            failureThreshold: entry.probe.failureThreshold,
            successThreshold: entry.probe.successThreshold,
            jitterMs: entry.probe.jitter,
          },
        }),
    source: "file",
  };
}

/**
 * Where YAML tags produced values that are not plain data (Map, Set, Date, binary), which the
 * schema would otherwise read as empty mappings and silently replace with defaults.
 */
function typedValuePaths(
  value: unknown,
  at: (string | number)[],
  seen = new WeakSet<object>(),
): [(string | number)[], string][] {
  if (value === null || typeof value !== "object") return [];
  // An alias of its own anchor (`a: &a [*a]`) makes a cycle; the schema reports what is wrong.
  if (seen.has(value)) return [];
  seen.add(value);
  if (Array.isArray(value)) return value.flatMap((v, i) => typedValuePaths(v, [...at, i], seen));
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    const what =
      value instanceof Map
        ? "ordered map"
        : value instanceof Set
          ? "set"
          : value instanceof Date
            ? "timestamp"
            : "typed value";
    return [[at, what]];
  }
  return Object.entries(value).flatMap(([k, v]) => typedValuePaths(v, [...at, k], seen));
}

/**
 * Parses and validates config file text. Reports every problem at once: YAML syntax errors
 * (with line and column), unknown fields (with a did-you-mean), and each invalid value with its
 * field path. Kubeconfig paths are resolved against the folder of `sourcePath`. Does no I/O.
 */
export function parseConfig(text: string, sourcePath: string): ConfigResult {
  const doc = parseDocument(text, { uniqueKeys: true });
  if (doc.errors.length > 0) {
    return {
      ok: false,
      errors: doc.errors.map((error) => {
        const where = error.linePos?.[0];
        const at = where === undefined ? "" : ` at line ${where.line}, column ${where.col}`;
        if (error.code === "MULTIPLE_DOCS") {
          return {
            path: "",
            message: `the config file must be one YAML document; a second one starts${at} (a "---" line separates documents)`,
          };
        }
        const reason = shorten(error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, ""));
        return { path: "", message: `YAML syntax error${at}: ${reason}` };
      }),
    };
  }
  let data: unknown;
  try {
    data = doc.toJS({ maxAliasCount: 100 });
  } catch (error) {
    const reason = shorten(error instanceof Error ? error.message : String(error));
    return { ok: false, errors: [{ path: "", message: `YAML error: ${reason}` }] };
  }
  if (data === null || data === undefined) {
    return {
      ok: false,
      errors: [
        { path: "", message: "the config file is empty; it needs at least a clusters list" },
      ],
    };
  }
  const tagged = typedValuePaths(data, []);
  if (tagged.length > 0) {
    return {
      ok: false,
      errors: tagged.map(([where, what]) => ({
        path: formatConfigPath(where),
        message: `a YAML ${what} (from a tag such as !!omap, !!set or !!timestamp) is not a setting; write a plain mapping, list or string`,
      })),
    };
  }
  if (typeof data !== "object" || Array.isArray(data)) {
    return {
      ok: false,
      errors: [{ path: "", message: "the config file must be a mapping of settings (key: value)" }],
    };
  }
  const parsed = configFileSchema.safeParse(data, { reportInput: true });
  if (!parsed.success) {
    return {
      ok: false,
      errors: configErrorsFromIssues(parsed.error.issues, { schema: configFileSchema }),
    };
  }
  const file = parsed.data;
  const absolute = path.resolve(sourcePath);
  const folder = path.dirname(absolute);
  const clusters = file.clusters.map((entry) => clusterSpecFromEntry(entry, folder));
  clusters.sort((a, b) => (a.role === b.role ? 0 : a.role === "production" ? -1 : 1));
  return {
    ok: true,
    config: {
      sourcePath: absolute,
      clusters,
      namespace: file.namespace,
      discoveryIntervalMs: file.discoveryInterval,
      resyncPeriodMs: file.resyncPeriod,
      workers: file.workers,
      mode: file.mode,
      staleTTLMs: file.staleTTL,
      syncTimeoutMs: file.syncTimeout,
      channelCapacity: file.channelCapacity,
      queue: {
        qps: file.queue.qps,
        burst: file.queue.burst,
        baseDelayMs: file.queue.baseDelay,
        maxDelayMs: file.queue.maxDelay,
      },
      api: { timeoutMs: file.api.timeout, probeIntervalMs: file.api.probeInterval },
      metrics: file.metrics.address,
      statusAPI: file.metrics.statusAPI,
      leaderElection: {
        enabled: file.leaderElection.enabled,
        leaseName: file.leaderElection.leaseName,
        leaseDurationMs: file.leaderElection.leaseDuration,
        renewDeadlineMs: file.leaderElection.renewDeadline,
        retryPeriodMs: file.leaderElection.retryPeriod,
      },
      burst: {
        defaultPolicy: file.burst.defaultPolicy,
        holdMs: file.burst.holdTime,
        drainMs: file.burst.drainPeriod,
        probeConcurrency: file.burst.probeConcurrency,
      },
    },
  };
}

/**
 * Reads and parses the config file at `filePath` (see {@link parseConfig}). A file that cannot
 * be read, is not a regular file (a device, a pipe) or is larger than {@link CONFIG_MAX_BYTES}
 * is one error with path `""` naming the file and the reason. Never rejects.
 */
export async function loadConfigFile(filePath: string): Promise<ConfigResult> {
  const absolute = path.resolve(filePath);
  const read = await readBoundedFile(absolute, CONFIG_MAX_BYTES);
  if (!read.ok) {
    return {
      ok: false,
      errors: [{ path: "", message: `cannot read config file ${quote(absolute)}: ${read.reason}` }],
    };
  }
  return parseConfig(read.bytes.toString("utf8"), absolute);
}

/** One line per error: `config error: <path>: <message>` (no path part for file-level errors). */
export function formatConfigErrors(errors: readonly ConfigError[]): string {
  return errors
    .map((error) =>
      error.path === ""
        ? `config error: ${error.message}`
        : `config error: ${error.path}: ${error.message}`,
    )
    .join("\n");
}
