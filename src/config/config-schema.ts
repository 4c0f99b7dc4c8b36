import { z } from "zod";
import { BURST_POLICIES } from "../domain/burst-policy.ts";
import { parseCidr } from "./cidr.ts";
import { describeValue } from "./config-error.ts";
import { formatDuration, parseDuration } from "./duration.ts";
import { parseListenAddress } from "./listen-address.ts";
import { quote } from "./quote.ts";

/** Cluster roles: exactly one production cluster; any number of peak clusters. */
export const CLUSTER_ROLES = ["production", "peak"] as const;

/** What kubeburst writes into the production cluster (SPEC M7). */
export const ENDPOINT_MODES = ["endpointslice", "endpoints"] as const;

/**
 * Who may read the status API on `metrics.address`: `loopback` (default) only clients that connect
 * from a loopback address, `any` every client that reaches the address, `off` nobody.
 */
export const STATUS_API_ACCESS = ["loopback", "any", "off"] as const;

/** Default cap of endpoints imported per Service from one peak cluster. */
export const DEFAULT_MAX_ENDPOINTS_PER_SERVICE = 1000;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** Why `name` is not a DNS label (RFC 1123), or `undefined` if it is one. */
export function dnsLabelProblem(name: string, what: string): string | undefined {
  if (name.length <= 63 && DNS_LABEL.test(name)) return undefined;
  const length = name.length > 63 && name.length <= 100 ? ` (it has ${name.length})` : "";
  return `${quote(name)} is not a valid ${what}: use at most 63 lowercase letters, digits and "-", starting and ending with a letter or digit${length}`;
}

function dnsLabel(what: string) {
  return z.string().superRefine((name, ctx) => {
    const problem = dnsLabelProblem(name, what);
    if (problem !== undefined) ctx.addIssue({ code: "custom", message: problem, input: name });
  });
}

/** A cluster name: a DNS label (lowercase, at most 63 characters). */
export const clusterNameSchema = dnsLabel("cluster name");

const nonEmptyString = z.string().min(1);

/** One CIDR block, output in canonical form. */
export const cidrSchema = z.string().transform((text, ctx) => {
  const result = parseCidr(text);
  if (result.ok) return result.cidr.canonical;
  ctx.addIssue({ code: "custom", message: result.message, input: text });
  return z.NEVER;
});

/** A list of CIDR blocks, output canonical, de-duplicated and sorted (it is a set). */
export const cidrListSchema = z.array(cidrSchema).transform((cidrs) => [...new Set(cidrs)].sort());

/** The per-Service endpoint cap of a peak cluster: 1–100 000. */
export const maxEndpointsSchema = z.int().min(1).max(100_000);

/**
 * The longest a timer can wait: Node's setTimeout fires after 1 ms for any longer delay, so a
 * duration that ends up in a timer must stay below this (about 24.8 days).
 */
export const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration written with a unit (`500ms`, `30s`, `5m`, `1h30m`), output in milliseconds, from
 * `minMs` to `maxMs` (at most {@link MAX_TIMER_MS}: every duration ends up in a timer).
 */
export function durationSchema(minMs: number, maxMs: number) {
  if (!(maxMs <= MAX_TIMER_MS)) throw new RangeError(`maxMs ${maxMs} would overflow a timer`);
  return z.unknown().transform((input, ctx) => {
    if (typeof input === "number") {
      ctx.addIssue({
        code: "custom",
        message: `${input} has no unit; write e.g. "${input}s" or "${input}ms"`,
        input,
      });
      return z.NEVER;
    }
    if (typeof input !== "string") {
      ctx.addIssue({
        code: "custom",
        message: `expected a duration such as "30s", got ${describeValue(input)}`,
        input,
      });
      return z.NEVER;
    }
    const result = parseDuration(input);
    if (!result.ok) {
      ctx.addIssue({ code: "custom", message: result.message, input });
      return z.NEVER;
    }
    if (result.ms < minMs) {
      ctx.addIssue({
        code: "custom",
        message: `${quote(input)} is too short; it must be at least ${formatDuration(minMs)}`,
        input,
      });
      return z.NEVER;
    }
    if (result.ms > maxMs) {
      ctx.addIssue({
        code: "custom",
        message: `${quote(input)} is too long; it must be at most ${formatDuration(maxMs)}`,
        input,
      });
      return z.NEVER;
    }
    return result.ms;
  });
}

const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** The message for a peak cluster without `allowedCIDRs`. */
export const ALLOWED_CIDRS_REQUIRED =
  'required for a peak cluster: list the address ranges its endpoints may use (["0.0.0.0/0", "::/0"] allows every address, still minus the built-in deny list)';

const PRODUCTION_ONLY = ["podCIDRs", "serviceCIDRs", "nodeCIDRs"] as const;
const PEAK_ONLY = ["allowedCIDRs", "maxEndpointsPerService", "probe"] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

const whenRecord = { when: (payload: { value: unknown }) => isRecord(payload.value) };

/** Role rules of one cluster entry; reads the value defensively (other fields may be invalid). */
function checkRoleFields(value: unknown, ctx: z.RefinementCtx): void {
  if (!isRecord(value)) return;
  if (value.role === "peak") {
    if (value.kubeconfig === undefined) {
      ctx.addIssue({
        code: "custom",
        message:
          "required field is missing: a peak cluster is reached with a kubeconfig (only production may leave it out, to use the ServiceAccount of the pod kubeburst runs in)",
        path: ["kubeconfig"],
      });
    }
    if (value.allowedCIDRs === undefined) {
      ctx.addIssue({ code: "custom", message: ALLOWED_CIDRS_REQUIRED, path: ["allowedCIDRs"] });
    }
    for (const key of PRODUCTION_ONLY) {
      if (value[key] !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `only for the production cluster (it describes production's own ranges); a peak cluster's endpoints are limited by allowedCIDRs`,
          path: [key],
        });
      }
    }
  } else if (value.role === "production") {
    for (const key of PEAK_ONLY) {
      if (value[key] !== undefined) {
        ctx.addIssue({
          code: "custom",
          message: `only for peak clusters; the production cluster's own endpoints are not imported`,
          path: [key],
        });
      }
    }
  }
}

/**
 * A peak's reachability probes (SPEC B4): TCP connects to each peak endpoint on the Service's
 * first port, every `interval` (plus up to `jitter`); `failureThreshold` failures in a row make
 * an endpoint unreachable, `successThreshold` successes in a row reachable again.
 */
export const probeSchema = z
  .strictObject({
    interval: durationSchema(100, HOUR).default(5_000),
    timeout: durationSchema(10, HOUR).default(1_000),
    failureThreshold: z.int().min(1).max(100).default(3),
    successThreshold: z.int().min(1).max(100).default(1),
    jitter: durationSchema(0, HOUR).default(500),
  })
  .superRefine(
    (probe, ctx) => {
      if (probe.timeout > probe.interval) {
        ctx.addIssue({
          code: "custom",
          message: "must not be longer than interval",
          path: ["timeout"],
        });
      }
    },
    { when: (payload) => payload.issues.length === 0 },
  );

/** One entry of `clusters` in the config file. */
export const clusterEntrySchema = z
  .strictObject({
    name: clusterNameSchema,
    role: z.enum(CLUSTER_ROLES),
    // PATH_MAX: a longer path cannot be opened. Production without one: in-cluster credentials.
    kubeconfig: nonEmptyString.max(4096).optional(),
    context: nonEmptyString.optional(),
    podCIDRs: cidrListSchema.optional(),
    serviceCIDRs: cidrListSchema.optional(),
    nodeCIDRs: cidrListSchema.optional(),
    allowedCIDRs: cidrListSchema.optional(),
    maxEndpointsPerService: maxEndpointsSchema.optional(),
    allowInsecureKubeconfig: z.boolean().optional(),
    probe: probeSchema.optional(),
  })
  .superRefine(checkRoleFields, whenRecord);

/** Names unique, exactly one production cluster; reads entries defensively. */
function checkClusterList(value: unknown, ctx: z.RefinementCtx): void {
  if (!Array.isArray(value)) return;
  const firstUse = new Map<string, number>();
  const production: number[] = [];
  value.forEach((entry: unknown, index) => {
    if (!isRecord(entry)) return;
    if (typeof entry.name === "string") {
      const first = firstUse.get(entry.name);
      if (first === undefined) {
        firstUse.set(entry.name, index);
      } else {
        ctx.addIssue({
          code: "custom",
          message: `${quote(entry.name)} is used by clusters[${first}] too; cluster names must be unique`,
          path: [index, "name"],
        });
      }
    }
    if (entry.role === "production") production.push(index);
  });
  if (production.length === 0) {
    ctx.addIssue({
      code: "custom",
      message: 'no cluster has role "production"; exactly one production cluster is required',
    });
  }
  for (const index of production.slice(1)) {
    ctx.addIssue({
      code: "custom",
      message: `clusters[${production[0]}] is already the production cluster; exactly one is allowed`,
      path: [index, "role"],
    });
  }
}

const queueSchema = z
  .strictObject({
    // Below 0.01 a retry would wait minutes for a token; Infinity is refused as not finite.
    qps: z.number().min(0.01).default(10),
    burst: z.int().min(1).default(100),
    baseDelay: durationSchema(1, HOUR).default(5),
    maxDelay: durationSchema(1, DAY).default(1_000_000),
  })
  .superRefine(
    (queue, ctx) => {
      if (queue.maxDelay < queue.baseDelay) {
        ctx.addIssue({
          code: "custom",
          message: "must not be shorter than baseDelay",
          path: ["maxDelay"],
        });
      }
    },
    { when: (payload) => payload.issues.length === 0 },
  )
  .prefault({});

const leaderElectionSchema = z
  .strictObject({
    enabled: z.boolean().default(false),
    leaseName: z
      .string()
      .superRefine((name, ctx) => {
        if (name.length > 253 || !DNS_SUBDOMAIN.test(name)) {
          ctx.addIssue({
            code: "custom",
            message: `${quote(name)} is not a valid Lease name: use lowercase letters, digits, "-" and ".", at most 253 characters`,
            input: name,
          });
        }
      })
      .default("kubeburst"),
    leaseDuration: durationSchema(1000, HOUR).default(15_000),
    renewDeadline: durationSchema(1000, HOUR).default(10_000),
    retryPeriod: durationSchema(100, HOUR).default(2000),
  })
  .superRefine(
    (election, ctx) => {
      if (election.renewDeadline >= election.leaseDuration) {
        ctx.addIssue({
          code: "custom",
          message: "must be shorter than leaseDuration",
          path: ["renewDeadline"],
        });
      }
      if (election.retryPeriod >= election.renewDeadline) {
        ctx.addIssue({
          code: "custom",
          message: "must be shorter than renewDeadline",
          path: ["retryPeriod"],
        });
      }
    },
    { when: (payload) => payload.issues.length === 0 },
  )
  .prefault({});

/** Burst policy defaults and the drain of leaving peak endpoints (SPEC B5). */
const burstSchema = z
  .strictObject({
    defaultPolicy: z.enum(BURST_POLICIES).default("always"),
    holdTime: durationSchema(0, DAY).default(60_000),
    drainPeriod: durationSchema(0, HOUR).default(0),
    probeConcurrency: z.int().min(1).max(10_000).default(64),
  })
  .prefault({});

/** Validated content of the config file, durations in milliseconds (see `load-config.ts`). */
export const configFileSchema = z.strictObject({
  clusters: z.array(clusterEntrySchema).superRefine(checkClusterList, {
    when: (payload) => Array.isArray(payload.value),
  }),
  namespace: dnsLabel("namespace").default("kubeburst"),
  discoveryInterval: durationSchema(1000, DAY).default(30_000),
  resyncPeriod: durationSchema(0, DAY).default(600_000),
  workers: z.int().min(1).max(64).default(8),
  mode: z.enum(ENDPOINT_MODES).default("endpointslice"),
  staleTTL: durationSchema(0, DAY).default(300_000),
  syncTimeout: durationSchema(1000, HOUR).default(120_000),
  channelCapacity: z.int().min(1).max(1_000_000).default(1024),
  queue: queueSchema,
  api: z
    .strictObject({
      timeout: durationSchema(1, HOUR).default(30_000),
      probeInterval: durationSchema(500, HOUR).default(5_000),
    })
    .prefault({}),
  metrics: z
    .strictObject({
      address: z
        .string()
        .transform((text, ctx) => {
          const result = parseListenAddress(text);
          if (result.ok) return result.address;
          ctx.addIssue({ code: "custom", message: result.message, input: text });
          return z.NEVER;
        })
        .prefault("127.0.0.1:9090"),
      statusAPI: z.enum(STATUS_API_ACCESS).default("loopback"),
    })
    .prefault({}),
  leaderElection: leaderElectionSchema,
  burst: burstSchema,
});

/** The config file after validation (before paths are resolved). */
export type ConfigFile = z.output<typeof configFileSchema>;

/** One cluster entry after validation. */
export type ClusterEntry = z.output<typeof clusterEntrySchema>;
