import type { V1EndpointSlice } from "@kubernetes/client-node";
import type { Aggregator, ClusterKnowledge } from "../aggregate/aggregator.ts";
import type { ServiceReport } from "../controller/report.ts";
import {
  NOT_OURS_SELECTOR,
  pairs,
  SERVICE_NAME_LABEL,
  SOURCE_CLUSTER_LABEL,
} from "../domain/labels.ts";
import { parseServiceKey, type ServiceKey } from "../domain/service-key.ts";
import type { KubeClient } from "../kube/kube-client.ts";
import { endpointGroupOf, writtenSliceOf } from "../kube/object-shapes.ts";
import { buildInfo } from "../observability/build-info.ts";
import type { Metrics } from "../observability/metrics.ts";
import {
  type ClusterStatus,
  type EndpointStatus,
  type LastChange,
  type LastWrite,
  type PeakPart,
  type PolicyStatus,
  type ServiceStatusDocument,
  type ServiceSummary,
  STATUS_API_VERSION,
  type StatusDocument,
  type WrittenSlice,
} from "../observability/status-model.ts";
import type { Clock } from "../runtime/clock.ts";
import type { LoopYielder } from "../runtime/loop-yielder.ts";
import type { BurstDecisionView } from "../writer/burst-stage.ts";
import type { WriteHistory } from "../writer/writer.ts";

/** How long the read of production's own slices for one Service may take, ms. */
const PRODUCTION_READ_TIMEOUT_MS = 5_000;

export interface StatusViewOptions {
  clock: Clock;
  metrics: Metrics;
  aggregator: Aggregator;
  /** Every declared cluster's status (the same list the cluster gauges read). */
  clusters: () => ClusterStatus[];
  readiness: () => { ready: boolean; reason: string };
  leader: () => boolean;
  productionRangesKnown: () => boolean;
  /** The production cluster's name, its client, and our slices of a Service from its cache. */
  production: () => {
    name: string;
    client: KubeClient | undefined;
    ourSlicesOf: (key: ServiceKey) => V1EndpointSlice[];
    /** Services with slices of ours (also those no cluster reports any more). */
    servicesWithOurSlices: () => ServiceKey[];
  };
  history: (key: ServiceKey) => WriteHistory | undefined;
  /** Lets the event loop breathe while the overview of many Services is made. */
  yielder: LoopYielder;
  /** The burst policy's decision for a Service (SPEC B5); null where this replica made none. */
  policyOf: (key: ServiceKey) => PolicyStatus | null;
}

/**
 * The status API's documents, made on request from the state the controller already keeps (the
 * aggregator's reports, the production cache of our slices, the writer's history and the cluster
 * list the gauges read), so the status API and `/metrics` cannot disagree. Making the overview
 * is linear in the Services and yields to the event loop as it goes; nothing is kept for it
 * between requests.
 */
export class StatusView {
  readonly #opts: StatusViewOptions;

  constructor(opts: StatusViewOptions) {
    this.#opts = opts;
  }

  /** `GET /status/v1`. */
  async overview(): Promise<StatusDocument> {
    const o = this.#opts;
    const readiness = o.readiness();
    const clusters = o.clusters();
    const prod = o.production();
    const keys = new Set(o.aggregator.keys());
    for (const key of prod.servicesWithOurSlices()) keys.add(key);
    const services: ServiceSummary[] = [];
    for (const key of [...keys].sort()) {
      const summary = serviceSummaryOf(
        key,
        o.aggregator.reportsOf(key),
        (c) => o.aggregator.knowledge(c),
        prod.ourSlicesOf(key),
        o.history(key),
        o.policyOf(key),
        prod.name,
      );
      if (summary) services.push(summary);
      await o.yielder.maybeYield();
    }
    const writes = await o.metrics.writes.get();
    const noop = await o.metrics.noopSyncs.get();
    const count = (result: string) =>
      writes.values.filter((v) => v.labels.result === result).reduce((n, v) => n + v.value, 0);
    return {
      apiVersion: STATUS_API_VERSION,
      kind: "Status",
      generatedAt: iso(o.clock.now()),
      kubeburst: { version: buildInfo().version },
      ready: readiness.ready,
      reason: readiness.reason,
      leader: o.leader(),
      productionRangesKnown: o.productionRangesKnown(),
      clusters,
      services,
      writes: {
        ok: count("ok"),
        failed: count("error"),
        noop: noop.values.reduce((n, v) => n + v.value, 0),
      },
    };
  }

  /**
   * `GET /status/v1/services/<namespace>/<name>`; undefined when no cluster reports the Service
   * and nothing is written for it. Reads production's own slices of the Service from its API.
   */
  async service(key: ServiceKey, signal: AbortSignal): Promise<ServiceStatusDocument | undefined> {
    const o = this.#opts;
    const prod = o.production();
    const reports = o.aggregator.reportsOf(key);
    const ours = prod.ourSlicesOf(key);
    const history = o.history(key);
    if (reports.length === 0 && ours.length === 0 && history === undefined) return undefined;
    const clusters = new Map(o.clusters().map((c) => [c.name, c]));
    const production = reports.find((r) => r.kind === "production" && r.cluster === prod.name);
    const conflicts = reports.flatMap((r) =>
      r.kind === "conflict" ? [{ cluster: r.cluster, reason: r.reason }] : [],
    );
    const peaks: PeakPart[] = reports.flatMap((r) => {
      if (r.kind !== "peak") return [];
      const cluster = clusters.get(r.cluster);
      const knowledge = o.aggregator.knowledge(r.cluster);
      const pairsWith =
        production?.kind === "production" &&
        pairs(production.role, r.role, production.cluster, r.cluster);
      const reason =
        production === undefined
          ? "production has no Service labelled to take part"
          : !pairsWith
            ? "a peer-cluster label pairs it with another cluster"
            : knowledge !== "ready"
              ? `the cluster is ${knowledge ?? "not declared"}; its first list is not aggregated yet`
              : undefined;
      const endpoints: EndpointStatus[] = [];
      const refused: PeakPart["refused"] = [];
      for (const source of r.sources.values()) {
        for (const e of source.group?.endpoints ?? []) {
          endpoints.push({ address: e.address, ...e.conditions, slice: source.name });
        }
        for (const x of source.refused) {
          refused.push({ address: x.address, reason: x.reason, slice: source.name });
        }
      }
      return [
        {
          cluster: r.cluster,
          state: cluster?.state ?? "stopped",
          withdrawn: cluster?.withdrawn ?? false,
          counted: reason === undefined,
          ...(reason === undefined ? {} : { reason }),
          endpoints,
          refused,
          ...(r.truncated ? { truncated: r.truncated } : {}),
        },
      ];
    });
    const read = await readProductionEndpoints(prod.client, key, signal);
    return {
      apiVersion: STATUS_API_VERSION,
      kind: "ServiceStatus",
      generatedAt: iso(o.clock.now()),
      service: key,
      takesPart: production !== undefined,
      ...(production === undefined
        ? {
            reason:
              conflicts.length > 0
                ? "its labels contradict each other"
                : `no Service labelled kubeburst.io/role: production in ${prod.name}`,
          }
        : {}),
      production: {
        cluster: prod.name,
        endpoints: read.endpoints,
        ...(read.error === undefined ? {} : { readError: read.error }),
      },
      peaks,
      conflicts,
      written: writtenSlices(ours),
      lastWrite: lastWriteOf(history),
      lastChange: lastChangeOf(history),
      policy: o.policyOf(key),
    };
  }
}

/**
 * One line of the overview for Service `key`, from every cluster's latest report, our slices in
 * production and the writer's history; undefined for a key that is neither a production Service
 * nor served by a peak nor written for (a peak Service with no production partner). Pure.
 */
export function serviceSummaryOf(
  key: ServiceKey,
  reports: readonly ServiceReport[],
  knowledge: (cluster: string) => ClusterKnowledge | undefined,
  ours: readonly V1EndpointSlice[],
  history: WriteHistory | undefined,
  policy: PolicyStatus | null,
  productionCluster: string,
): ServiceSummary | undefined {
  const production = reports.some(
    (r) => r.kind === "production" && r.cluster === productionCluster,
  );
  const conflicts = reports.filter((r) => r.kind === "conflict").length;
  if (!production && conflicts === 0 && ours.length === 0) return undefined;
  const peaks = reports.flatMap((r) => {
    if (r.kind !== "peak" || knowledge(r.cluster) !== "ready") return [];
    let endpoints = 0;
    let ready = 0;
    let refused = 0;
    for (const source of r.sources.values()) {
      for (const e of source.group?.endpoints ?? []) {
        endpoints++;
        if (e.conditions.ready) ready++;
      }
      refused += source.refused.length;
    }
    return [{ cluster: r.cluster, endpoints, ready, refused }];
  });
  const written = writtenSlices(ours);
  return {
    service: key,
    production,
    peaks,
    written: { slices: written.length, endpoints: written.reduce((n, s) => n + s.endpoints, 0) },
    lastWrite: lastWriteOf(history),
    lastChange: lastChangeOf(history),
    conflicts,
    policy,
  };
}

function writtenSlices(ours: readonly V1EndpointSlice[]): WrittenSlice[] {
  return ours
    .flatMap((slice) => {
      const written = writtenSliceOf(slice);
      if (!written) return [];
      return [
        {
          name: written.name,
          cluster: written.labels[SOURCE_CLUSTER_LABEL] ?? "",
          addressType: written.addressType,
          endpoints: written.endpoints.length,
          ready: written.endpoints.filter((e) => e.conditions.ready).length,
        },
      ];
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function lastWriteOf(history: WriteHistory | undefined): LastWrite | null {
  const w = history?.lastWrite;
  if (!w) return null;
  return { at: iso(w.at), result: w.result, ...(w.error === undefined ? {} : { error: w.error }) };
}

function lastChangeOf(history: WriteHistory | undefined): LastChange | null {
  const c = history?.lastChange;
  if (!c) return null;
  return {
    cluster: c.cluster,
    observedAt: iso(c.observedAt),
    writtenAt: iso(c.writtenAt),
    propagationSeconds: Math.max(0, c.writtenAt - c.observedAt) / 1000,
  };
}

/** Production's own slices of Service `key`, read from its API now (kubeburst keeps none). */
async function readProductionEndpoints(
  client: KubeClient | undefined,
  key: ServiceKey,
  signal: AbortSignal,
): Promise<{ endpoints: EndpointStatus[] | null; error?: string }> {
  const parsed = parseServiceKey(key);
  if (!client || !parsed) {
    return { endpoints: null, error: "the production cluster is not watched" };
  }
  const selector = `${SERVICE_NAME_LABEL}=${parsed.name},${NOT_OURS_SELECTOR}`;
  try {
    const list = await client.request<{ items?: V1EndpointSlice[] }>({
      method: "GET",
      path: `/apis/discovery.k8s.io/v1/namespaces/${encodeURIComponent(parsed.namespace)}/endpointslices?labelSelector=${encodeURIComponent(selector)}`,
      signal,
      timeoutMs: PRODUCTION_READ_TIMEOUT_MS,
    });
    const endpoints: EndpointStatus[] = [];
    for (const slice of list?.items ?? []) {
      const group = endpointGroupOf(slice);
      for (const e of group?.endpoints ?? []) {
        endpoints.push({ address: e.address, ...e.conditions, slice: slice.metadata?.name ?? "" });
      }
    }
    endpoints.sort((a, b) => (a.address < b.address ? -1 : a.address > b.address ? 1 : 0));
    return { endpoints };
  } catch (err) {
    return { endpoints: null, error: err instanceof Error ? err.message : String(err) };
  }
}

/** Clock ms as RFC 3339. */
function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** The status API's view of the burst stage's decision (null: this replica decided nothing). */
export function policyStatusOf(view: BurstDecisionView | undefined): PolicyStatus | null {
  if (view === undefined) return null;
  const { policy, bursting, reason, service: _service, ...details } = view;
  return { mode: policy, bursting, reason, details };
}
