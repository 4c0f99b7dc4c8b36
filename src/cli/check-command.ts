import type { V1EndpointSlice } from "@kubernetes/client-node";
import type { ClusterSpec } from "../config/cluster-spec.ts";
import { type Config, formatConfigErrors, loadConfigFile } from "../config/load-config.ts";
import { logLevelFromEnv } from "../config/log-level.ts";
import { CLUSTER_SECRET_LABEL, readSecretClusters } from "../discovery/cluster-sources.ts";
import { apiServerRanges, nodeRanges, serviceCidrRanges } from "../discovery/production-ranges.ts";
import { canI } from "../kube/access-review.ts";
import type { CachedNode, CachedServiceCidr } from "../kube/cache-shapes.ts";
import { KubeApiError } from "../kube/kube-api-error.ts";
import { KubeClient } from "../kube/kube-client.ts";
import { loadKubeconfig } from "../kube/load-kubeconfig.ts";
import { type Permission, permissionsFor } from "../kube/required-permissions.ts";
import { EXPIRES_ANNOTATION } from "../link/peak-identity.ts";

/** One line of the table `check` prints. */
export interface CheckRow {
  cluster: string;
  role: string;
  check: string;
  ok: boolean;
  /** What was found (when ok) or what to do (when not). */
  detail: string;
}

/**
 * `kubeburst check --config FILE`: validates the file and `KUBEBURST_LOG_LEVEL` as `run` would
 * (exit 2 when invalid), loads every kubeconfig the way `run` would, reaches each API server,
 * asks it (SelfSubjectAccessReview) for every permission kubeburst needs there
 * (required-permissions.ts, watch included), reads production's own ranges and its discovery
 * Secrets as `run` does, and checks the peaks those Secrets register too. Prints one row per
 * check, with the fix for each failure. Exit 0 when every check passes, 1 otherwise. Writes
 * nothing.
 */
export async function checkCommand(configPath: string): Promise<number> {
  const loaded = await loadConfigFile(configPath);
  const level = logLevelFromEnv(process.env);
  if (!loaded.ok || !level.ok) {
    const errors = [...(loaded.ok ? [] : loaded.errors), ...(level.ok ? [] : level.errors)];
    process.stderr.write(`${formatConfigErrors(errors)}\n`);
    return 2;
  }
  const { config } = loaded;
  const [production, ...peaks] = config.clusters;
  const results = await Promise.all([
    checkProduction(production!, config),
    ...peaks.map((spec) => checkPeak(spec, config)),
  ]);
  const rows = results.flatMap((r) => r.rows);
  const fromSecrets = results[0]?.secretPeaks ?? [];
  const secretRows = await Promise.all(fromSecrets.map((spec) => checkPeak(spec, config)));
  rows.push(...secretRows.flatMap((r) => r.rows));
  process.stdout.write(formatCheckTable(rows));
  return rows.every((r) => r.ok) ? 0 : 1;
}

/** The rows as an aligned table with a header; the fix of a failure in the last column. */
export function formatCheckTable(rows: readonly CheckRow[]): string {
  const header = { cluster: "CLUSTER", role: "ROLE", check: "CHECK", result: "RESULT" };
  const width = (pick: (r: { cluster: string; role: string; check: string }) => string) =>
    Math.max(pick(header).length, ...rows.map((r) => pick(r).length));
  const [wc, wr, wk] = [width((r) => r.cluster), width((r) => r.role), width((r) => r.check)];
  const line = (c: string, r: string, k: string, res: string, d: string) =>
    `${c.padEnd(wc)}  ${r.padEnd(wr)}  ${k.padEnd(wk)}  ${res.padEnd(6)}  ${d}`.trimEnd();
  return `${[
    line(header.cluster, header.role, header.check, header.result, "DETAIL"),
    ...rows.map((r) => line(r.cluster, r.role, r.check, r.ok ? "ok" : "FAIL", r.detail)),
  ].join("\n")}\n`;
}

const INCOMPLETE = "the answer was empty or incomplete (the call may have been cut short)";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorText(err: unknown): string {
  const kind = err instanceof KubeApiError ? err.kind : "error";
  return `${kind}: ${err instanceof Error ? err.message : String(err)}`;
}

/** The question `check` shows for one verb of a permission. */
function permissionName(p: Permission, verb: string, namespace: string): string {
  const what = p.apiGroup === "" ? p.resource : `${p.resource}.${p.apiGroup}`;
  return `${verb} ${what} ${p.scope === "own" ? `in ${namespace}` : "(all namespaces)"}`;
}

function permissionFix(p: Permission, verb: string, spec: ClusterSpec, namespace: string): string {
  const manifest =
    spec.role === "production" ? "deploy/rbac-production.yaml" : "deploy/rbac-peak.yaml";
  const holder = p.scope === "own" ? `a Role in namespace ${namespace}` : "a ClusterRole";
  const remedy = spec.role === "peak" ? `, or run kubeburst link for ${spec.name} again` : "";
  return `needed for ${p.why}: grant verb ${verb} on ${JSON.stringify(p.resource)} of apiGroup ${JSON.stringify(p.apiGroup)} in ${holder} bound to this identity (as ${manifest}${remedy})`;
}

/** Adds one row of the cluster being checked. */
type Row = (check: string, ok: boolean, detail: string) => void;

interface ClusterResult {
  rows: CheckRow[];
  /** Production only: the peaks its discovery Secrets register. */
  secretPeaks?: ClusterSpec[];
}

/**
 * The checks every cluster gets: the kubeconfig, the API server's version, and each permission.
 * `more` adds the role's own checks with the connected client.
 */
async function checkCluster(
  spec: ClusterSpec,
  config: Config,
  more?: (client: KubeClient, row: Row) => Promise<void>,
): Promise<ClusterResult> {
  const rows: CheckRow[] = [];
  const name = spec.source === "secret" ? `${spec.name} (Secret)` : spec.name;
  const row = (check: string, ok: boolean, detail: string) =>
    rows.push({ cluster: name, role: spec.role, check, ok, detail });
  const kc = loadKubeconfig(spec.kubeconfig, {
    context: spec.context,
    allowInsecure: spec.allowInsecureKubeconfig,
    ...(spec.source === "secret" ? { refusalHint: "refused in a Secret" } : {}),
  });
  if (!kc.ok) {
    row("kubeconfig", false, kc.problems.join("; "));
    return { rows };
  }
  const how =
    spec.kubeconfig.kind === "in-cluster"
      ? "in-cluster ServiceAccount"
      : `user ${JSON.stringify(kc.kubeConfig.user.name)}`;
  row("kubeconfig", true, how);
  const client = new KubeClient(kc.kubeConfig, {
    timeoutMs: Math.min(config.api.timeoutMs, 10_000),
  });
  try {
    try {
      const version = await client.request<unknown>({ method: "GET", path: "/version" });
      const gitVersion = isRecord(version) ? version.gitVersion : undefined;
      if (typeof gitVersion !== "string" || gitVersion === "") {
        row(`reach ${client.server}`, false, `/version: ${INCOMPLETE}`);
        return { rows };
      }
      row(`reach ${client.server}`, true, gitVersion);
    } catch (err) {
      row(`reach ${client.server}`, false, errorText(err));
      return { rows };
    }
    const permissions = permissionsFor(spec.role, {
      literalMode: config.mode === "endpoints",
      leaderElection: config.leaderElection.enabled,
    });
    for (const p of permissions) {
      for (const verb of p.verbs) {
        const question = permissionName(p, verb, config.namespace);
        try {
          const answer = await canI(client, {
            group: p.apiGroup,
            resource: p.resource,
            verb,
            ...(p.scope === "own" ? { namespace: config.namespace } : {}),
          });
          row(
            question,
            answer.allowed,
            answer.allowed ? "" : permissionFix(p, verb, spec, config.namespace),
          );
        } catch (err) {
          row(question, false, `cannot ask (SelfSubjectAccessReview): ${errorText(err)}`);
        }
      }
    }
    await more?.(client, row);
    return { rows };
  } finally {
    client.close();
  }
}

/**
 * Production: the common checks, then its own ranges read as `run` reads them (nodes,
 * ServiceCIDRs, the API server's slices) and the discovery Secrets.
 */
async function checkProduction(spec: ClusterSpec, config: Config): Promise<ClusterResult> {
  let secretPeaks: ClusterSpec[] = [];
  const result = await checkCluster(spec, config, async (client, row) => {
    await readLists(client, row);
    try {
      const ranges = await productionRanges(client);
      const configured = [
        ...spec.ranges.podCIDRs,
        ...spec.ranges.serviceCIDRs,
        ...spec.ranges.nodeCIDRs,
      ].length;
      row(
        "read production's own ranges",
        true,
        `${ranges.nodes} from Nodes, ${ranges.services} from ServiceCIDRs, ${ranges.api} API server addresses, ${configured} configured`,
      );
    } catch (err) {
      row(
        "read production's own ranges",
        false,
        `${errorText(err)}; until they are read no peak endpoint is admitted (grant list and watch on nodes and servicecidrs)`,
      );
    }
    try {
      const read = await readSecretClusters(client, config.namespace, AbortSignal.timeout(10_000));
      const taken = new Set(config.clusters.map((c) => c.name));
      secretPeaks = read.found.filter((f) => !taken.has(f.spec.name)).map((f) => f.spec);
      const problems = read.problems.map((p) => `${p.path}: ${p.message}`);
      row(
        `discovery Secrets in ${config.namespace}`,
        problems.length === 0,
        problems.length === 0
          ? `${secretPeaks.length} peak(s): ${secretPeaks.map((s) => s.name).join(", ") || "none"}`
          : problems.join("; "),
      );
    } catch (err) {
      row(`discovery Secrets in ${config.namespace}`, false, errorText(err));
    }
    await tokenExpiryRows(client, config.namespace, row);
  });
  return { ...result, secretPeaks };
}

/** Less than this left of a linked peak's token fails `check`, ms. */
const EXPIRY_MARGIN_MS = 24 * 3600 * 1000;

/**
 * One row per discovery Secret written by `kubeburst link` with an expiring token: an expired
 * token makes the peak `refused` and, after staleTTL, withdrawn, so it fails a day ahead.
 */
async function tokenExpiryRows(client: KubeClient, namespace: string, row: Row): Promise<void> {
  let items: { metadata: { name: string; annotations?: Record<string, string> } }[];
  try {
    ({ items } = await client.request<{ items: typeof items }>({
      method: "GET",
      path: `/api/v1/namespaces/${namespace}/secrets`,
      query: { labelSelector: CLUSTER_SECRET_LABEL },
    }));
  } catch {
    return; // the discovery Secrets row has said why already
  }
  for (const item of items) {
    const expires = item.metadata.annotations?.[EXPIRES_ANNOTATION];
    if (expires === undefined) continue;
    const left = Date.parse(expires) - Date.now();
    const days = Math.floor(left / (24 * 3600 * 1000));
    const ok = left > EXPIRY_MARGIN_MS;
    row(
      `peak token of ${item.metadata.name}`,
      ok,
      ok
        ? `valid until ${expires} (${days} days)`
        : `${left > 0 ? "expires" : "expired"} ${expires}: run kubeburst link --name ${item.metadata.name} ... --apply --rotate`,
    );
  }
}

/** Lists what a cluster controller lists first, one item each: an answer cut short fails. */
async function readLists(client: KubeClient, row: Row): Promise<void> {
  for (const path of ["/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices"]) {
    const check = `read ${path}`;
    try {
      const list = await client.request<unknown>({ method: "GET", path, query: { limit: 1 } });
      const complete = isRecord(list) && Array.isArray(list.items);
      row(check, complete, complete ? "" : INCOMPLETE);
    } catch (err) {
      row(check, false, errorText(err));
    }
  }
}

/** How many ranges production's Nodes, ServiceCIDRs and API server slices give, as `run` reads them. */
async function productionRanges(
  client: KubeClient,
): Promise<{ nodes: number; services: number; api: number }> {
  const nodes = await client.request<{ items: CachedNode[] }>({
    method: "GET",
    path: "/api/v1/nodes",
  });
  let services = 0;
  try {
    const cidrs = await client.request<{ items: CachedServiceCidr[] }>({
      method: "GET",
      path: "/apis/networking.k8s.io/v1/servicecidrs",
    });
    services = cidrs.items.flatMap(serviceCidrRanges).length;
  } catch (err) {
    // Before Kubernetes 1.33 there are no ServiceCIDRs: the configured ranges stand, as in run.
    if (!(err instanceof KubeApiError && err.kind === "not-found")) throw err;
  }
  const slices = await client.request<{ items: V1EndpointSlice[] }>({
    method: "GET",
    path: "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
    query: { labelSelector: "kubernetes.io/service-name=kubernetes" },
  });
  return {
    nodes: new Set(nodes.items.flatMap(nodeRanges)).size,
    services,
    api: new Set(slices.items.flatMap(apiServerRanges)).size,
  };
}

/** The peak checks: the common ones and the two lists a peak controller starts with. */
async function checkPeak(spec: ClusterSpec, config: Config): Promise<ClusterResult> {
  return await checkCluster(spec, config, async (client, row) => {
    await readLists(client, row);
  });
}
