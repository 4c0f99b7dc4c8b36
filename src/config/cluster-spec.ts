import { createHash } from "node:crypto";
import { parse as parseYaml } from "yaml";
import { z } from "zod";
import { type ConfigError, configErrorsFromIssues, unknownFieldMessage } from "./config-error.ts";
import {
  ALLOWED_CIDRS_REQUIRED,
  CLUSTER_ROLES,
  cidrListSchema,
  clusterNameSchema,
  DEFAULT_MAX_ENDPOINTS_PER_SERVICE,
  maxEndpointsSchema,
} from "./config-schema.ts";
import { shorten } from "./quote.ts";

/** `production` (exactly one) or `peak`. */
export type ClusterRole = (typeof CLUSTER_ROLES)[number];

/** Where a cluster's settings came from. */
export type ClusterSource = "file" | "secret";

/**
 * A kubeconfig to load: a file (absolute path), inline YAML text (from a Secret), or none for
 * the production cluster kubeburst runs in as a pod (its ServiceAccount, see in-cluster.ts).
 */
export type KubeconfigSource =
  | { kind: "path"; path: string }
  | { kind: "inline"; text: string }
  | { kind: "in-cluster" };

/** The production cluster's own address ranges, always denied as peak endpoints (SPEC B1). */
export interface ProductionRanges {
  podCIDRs: readonly string[];
  serviceCIDRs: readonly string[];
  nodeCIDRs: readonly string[];
}

/**
 * One watched cluster's settings, normalised: CIDR lists are canonical, sorted and
 * de-duplicated; every optional setting has its default.
 */
export interface ClusterSpec {
  /** Unique DNS label. */
  name: string;
  role: ClusterRole;
  kubeconfig: KubeconfigSource;
  /** Kubeconfig context; `undefined`: the kubeconfig's current context. */
  context: string | undefined;
  /** Peak only: ranges its endpoints may use (`0.0.0.0/0`, `::/0` for all). `[]` for production. */
  allowedCIDRs: readonly string[];
  /** Production only: its own ranges. All empty for peaks. */
  ranges: ProductionRanges;
  /** Peak only: most endpoints imported per Service; default 1000. */
  maxEndpointsPerService: number;
  /** Whether exec plugins, auth providers, file references and insecure TLS are allowed; default false. */
  allowInsecureKubeconfig: boolean;
  /** Peak only, config file only: reachability probes of its endpoints (SPEC B4); off when absent. */
  probe?: ProbeSettings;
  source: ClusterSource;
}

/** A peak's reachability probes, durations in ms (see the config's `clusters[].probe`). */
export interface ProbeSettings {
  intervalMs: number;
  timeoutMs: number;
  failureThreshold: number;
  successThreshold: number;
  jitterMs: number;
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    const fields = Object.entries(value)
      .filter(([, field]) => field !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([key, field]) => `${JSON.stringify(key)}:${canonicalJson(field)}`);
    return `{${fields.join(",")}}`;
  }
  return JSON.stringify(value);
}

/**
 * A stable content hash of `spec` (sha256, 64 hex digits): equal for equal settings whatever
 * the key order, and an `undefined` field counts as absent. A cluster controller is restarted
 * only when this changes.
 */
export function clusterSpecHash(spec: ClusterSpec): string {
  return createHash("sha256").update(canonicalJson(spec)).digest("hex");
}

/** A discovery Secret (labelled `kubeburst.io/cluster`) with its data already base64-decoded. */
export interface ClusterSecret {
  name: string;
  data: Readonly<Record<string, string>>;
}

/** A cluster spec from a Secret, or every reason it is not one. */
export type ClusterSecretResult =
  | { ok: true; spec: ClusterSpec }
  | { ok: false; errors: ConfigError[] };

const secretFieldsSchema = z
  .strictObject({
    kubeconfig: z.string().refine((text) => text.trim() !== "", "must not be empty"),
    name: clusterNameSchema,
    role: z.enum(CLUSTER_ROLES),
    allowedCIDRs: cidrListSchema.optional(),
    maxEndpointsPerService: maxEndpointsSchema.optional(),
    context: z.string().optional(),
  })
  .superRefine(
    // Runs even when other fields are invalid, so every problem is reported at once.
    (fields: Partial<Record<string, unknown>>, ctx) => {
      if (fields.role === "production") {
        ctx.addIssue({
          code: "custom",
          message:
            '"production" cannot come from a Secret: the production cluster is declared in the config file; use "peak"',
          path: ["role"],
        });
      }
      if (fields.allowedCIDRs === undefined) {
        ctx.addIssue({ code: "custom", message: ALLOWED_CIDRS_REQUIRED, path: ["allowedCIDRs"] });
      }
    },
    { when: (payload) => typeof payload.value === "object" && payload.value !== null },
  );

const SECRET_KEYS = [
  "kubeconfig",
  "name",
  "role",
  "allowedCIDRs",
  "maxEndpointsPerService",
  "context",
];

/** `a, b c` or a YAML list (`[a, b]` or `- a` lines) → list; anything else is handed on for the schema to refuse. */
function splitList(text: string): unknown {
  const trimmed = text.trim();
  if (trimmed.startsWith("[") || trimmed.startsWith("-")) {
    try {
      return parseYaml(trimmed) as unknown;
    } catch {
      return text;
    }
  }
  return trimmed.split(/[\s,]+/).filter((part) => part !== "");
}

/**
 * Reads a discovery Secret's keys: `kubeconfig` (required, inline YAML), `name` (default: the
 * Secret's name), `role` (default and only accepted value `peak`), `allowedCIDRs` (required;
 * comma- or space-separated, or a YAML list), `maxEndpointsPerService` (default 1000), `context`.
 * Empty optional values count as absent; unknown keys are errors. A Secret can never allow an
 * insecure kubeconfig. Error paths start with `secret <name>:`.
 */
export function parseClusterSecret(secret: ClusterSecret): ClusterSecretResult {
  const prefix = `secret ${secret.name}:`;
  const errors: ConfigError[] = [];
  const fields: Record<string, unknown> = {};
  for (const [key, raw] of Object.entries(secret.data)) {
    if (!SECRET_KEYS.includes(key)) {
      errors.push({
        path: `${prefix} ${shorten(key)}`,
        message:
          key === "allowInsecureKubeconfig"
            ? "cannot be set from a Secret; a Secret's kubeconfig is always loaded safely"
            : unknownFieldMessage(key, SECRET_KEYS),
      });
      continue;
    }
    const text = key === "kubeconfig" ? raw : raw.trim();
    if (text === "" && key !== "kubeconfig") continue;
    if (key === "allowedCIDRs") fields[key] = splitList(text);
    else if (key === "maxEndpointsPerService")
      fields[key] = /^[0-9]+$/.test(text) ? Number(text) : text;
    else fields[key] = text;
  }
  const nameFromSecret = fields.name === undefined;
  fields.name ??= secret.name;
  fields.role ??= "peak";
  const parsed = secretFieldsSchema.safeParse(fields, { reportInput: true });
  if (!parsed.success) {
    for (const error of configErrorsFromIssues(parsed.error.issues, { prefix })) {
      const aboutName = nameFromSecret && error.path === `${prefix} name`;
      errors.push(
        aboutName
          ? {
              ...error,
              message: `${error.message} (the Secret's name; set the "name" key to choose another)`,
            }
          : error,
      );
    }
  }
  if (!parsed.success || errors.length > 0) return { ok: false, errors };
  const value = parsed.data;
  return {
    ok: true,
    spec: {
      name: value.name,
      role: value.role,
      kubeconfig: { kind: "inline", text: value.kubeconfig },
      context: value.context,
      allowedCIDRs: value.allowedCIDRs ?? [],
      ranges: { podCIDRs: [], serviceCIDRs: [], nodeCIDRs: [] },
      maxEndpointsPerService: value.maxEndpointsPerService ?? DEFAULT_MAX_ENDPOINTS_PER_SERVICE,
      allowInsecureKubeconfig: false,
      source: "secret",
    },
  };
}
