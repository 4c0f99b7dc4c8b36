import type { V1EndpointSlice, V1Endpoints } from "@kubernetes/client-node";
import type { Aggregator } from "../aggregate/aggregator.ts";
import type { ServiceInfo } from "../controller/aggregation-info.ts";
import type { ClusterController } from "../controller/cluster-controller.ts";
import { type DesiredSlice, desiredSlices } from "../domain/desired-slices.ts";
import type { Contribution } from "../domain/endpoints.ts";
import type { ImportConflict } from "../domain/imported-groups.ts";
import { pairs } from "../domain/labels.ts";
import { desiredEndpoints, literalModeRefusal } from "../domain/literal-endpoints.ts";
import type { ProductionService } from "../domain/production-service.ts";
import { parseServiceKey, type ServiceKey } from "../domain/service-key.ts";
import type { WrittenSlice } from "../domain/slice-content-equal.ts";
import { summariseUnion } from "../domain/union.ts";
import { planSliceWrites } from "../domain/write-plan.ts";
import type { EventRecorder } from "../kube/events.ts";
import { KubeApiError } from "../kube/kube-api-error.ts";
import {
  endpointsUpdateBody,
  literalEndpointsOf,
  sliceApplyBody,
  writtenSliceOf,
} from "../kube/object-shapes.ts";
import {
  createObject,
  deleteWithUid,
  endpointSlicePath,
  replaceObject,
  serverSideApply,
} from "../kube/writes.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Clock } from "../runtime/clock.ts";
import type { HandleResult } from "../runtime/worker-pool.ts";

export type WriteMode = "endpointslice" | "endpoints";

export interface ServiceWriterOptions {
  mode: WriteMode;
  aggregator: Aggregator;
  /** The production cluster's controller (its caches hold what we wrote). */
  production: () => ClusterController | undefined;
  events: () => EventRecorder | undefined;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** Endpoints per slice, default 100. */
  maxPerSlice?: number;
}

/** Our cache is behind the server (a write conflicted): read again and recompute, rate limited. */
class RetryLater extends Error {}

/** How long a write we made shadows the cache, ms: until the watch has brought it back. */
const memoTtlMs = 30_000;

/**
 * The only component that writes (SPEC M7, M8). For one production Service it asks the pure
 * core what production should hold, compares that with what we wrote (the production cache of
 * our own slices, or the Endpoints object in literal mode) and makes only the writes that change
 * something: server-side apply with our field manager, deletes with a UID precondition.
 */
export class ServiceWriter {
  readonly #opts: ServiceWriterOptions;
  /** Slices we just wrote, by `namespace/name`, until the cache shows the same version. */
  readonly #memo = new Map<string, { slice: WrittenSlice | "deleted"; at: number }>();

  constructor(opts: ServiceWriterOptions) {
    this.#opts = opts;
  }

  /** Makes production hold the union for Service `key`. "retry" asks for a rate-limited retry. */
  async reconcile(key: ServiceKey, signal: AbortSignal): Promise<HandleResult> {
    const prod = this.#opts.production();
    if (!prod?.hasSynced) return "retry";
    const views = this.#opts.aggregator.views(key);
    for (const v of views) {
      if (v.role.kind === "conflict") {
        this.#opts.logger.warn(
          { service: key, cluster: v.cluster, reason: v.role.reason },
          "Service labels contradict each other; it does not take part",
        );
      }
    }
    const production = views.find((v) => v.cluster === prod.name && v.production !== undefined) as
      | (ServiceInfo & { production: ProductionService })
      | undefined;
    const paired = production
      ? views.filter(
          (v) => v.clusterRole === "peak" && pairs(production.role, v.role, prod.name, v.cluster),
        )
      : [];
    const peaks: Contribution[] = paired.flatMap((v) => v.contribution ?? []);
    if (production) await this.#reportLeftOut(production.production, paired, signal);
    try {
      let wrote: boolean;
      if (this.#opts.mode === "endpoints") {
        wrote = await this.#reconcileEndpoints(key, prod, production?.production, peaks, signal);
        // Slices of ours are leftovers of endpointslice mode: they would double the peak's share.
        wrote = (await this.#reconcileSlices(key, prod, undefined, [], signal)) || wrote;
      } else {
        wrote = await this.#reconcileSlices(key, prod, production?.production, peaks, signal);
      }
      if (!wrote) this.#opts.metrics.noopSyncs.inc();
      return "ok";
    } catch (err) {
      if (err instanceof RetryLater) return "retry";
      if (signal.aborted) throw err;
      const kind = err instanceof KubeApiError ? err.kind : "bug";
      this.#opts.logger.warn({ service: key, kind, err }, "write failed; will retry");
      return "retry";
    }
  }

  async #reconcileSlices(
    key: ServiceKey,
    prod: ClusterController,
    service: ProductionService | undefined,
    peaks: Contribution[],
    signal: AbortSignal,
  ): Promise<boolean> {
    let desired: DesiredSlice[] = [];
    if (service?.type === "ExternalName") {
      const message =
        "an ExternalName Service has no endpoints for kube-proxy to balance; kubeburst imports nothing for it (use a ClusterIP Service)";
      this.#opts.logger.warn({ service: key }, message);
      await this.#event(service, "Warning", "ExternalNameNotSupported", message, signal);
    } else if (service) {
      const result = desiredSlices(service, peaks, this.#maxPerSlice());
      desired = result.slices;
      await this.#reportConflicts(service, result.conflicts, signal);
    }
    const written = this.#written(key, prod);
    const plan = planSliceWrites(desired, written);
    if (plan.apply.length === 0 && plan.delete.length === 0) return false;
    const { logger } = this.#opts;
    for (const slice of plan.apply) {
      const applied = await this.#counted("apply", () =>
        serverSideApply<V1EndpointSlice>(
          prod.client,
          endpointSlicePath(slice.namespace, slice.name),
          sliceApplyBody(slice),
          signal,
        ),
      );
      const back = writtenSliceOf(applied);
      if (back)
        this.#memo.set(`${slice.namespace}/${slice.name}`, { slice: back, at: this.#now() });
      this.#observePropagation(slice);
    }
    const { namespace } = parseServiceKey(key)!;
    for (const del of plan.delete) {
      await this.#counted("delete", () =>
        deleteWithUid(prod.client, endpointSlicePath(namespace, del.name), del.uid, signal),
      );
      this.#memo.set(`${namespace}/${del.name}`, { slice: "deleted", at: this.#now() });
    }
    logger.info(
      {
        service: key,
        applied: plan.apply.length,
        deleted: plan.delete.length,
        union: summariseUnion(peaks, desired),
      },
      "production slices written",
    );
    return true;
  }

  async #reconcileEndpoints(
    key: ServiceKey,
    prod: ClusterController,
    service: ProductionService | undefined,
    peaks: Contribution[],
    signal: AbortSignal,
  ): Promise<boolean> {
    if (!service) return false; // not (or no longer) production: the user's object is theirs
    const refusal = literalModeRefusal(service);
    if (refusal) {
      this.#opts.logger.warn({ service: key, reason: refusal }, "literal mode refused");
      await this.#event(service, "Warning", "LiteralModeRefused", refusal, signal);
      return false;
    }
    const current = prod.endpoints?.get(key) as V1Endpoints | undefined;
    const desired = desiredEndpoints(literalEndpointsOf(current), service, peaks);
    await this.#reportConflicts(service, desired.conflicts, signal);
    if (!desired.changed) return false;
    const path = `/api/v1/namespaces/${service.namespace}/endpoints/${service.name}`;
    const body = endpointsUpdateBody(current, service.namespace, service.name, desired);
    try {
      if (current) {
        await this.#counted("update", () => replaceObject(prod.client, path, body, signal));
      } else {
        const collection = `/api/v1/namespaces/${service.namespace}/endpoints`;
        await this.#counted("create", () => createObject(prod.client, collection, body, signal));
      }
    } catch (err) {
      // Someone changed the object since our cache saw it: read again and recompute.
      if (
        err instanceof KubeApiError &&
        (err.kind === "conflict" || err.kind === "already-exists")
      ) {
        throw new RetryLater();
      }
      throw err;
    }
    this.#opts.logger.info({ service: key }, "production endpoints written");
    return true;
  }

  /** Makes one write, counted by verb and result. */
  async #counted<T>(
    verb: "apply" | "delete" | "update" | "create",
    write: () => Promise<T>,
  ): Promise<T> {
    try {
      const result = await write();
      this.#opts.metrics.writes.inc({ verb, result: "ok" });
      return result;
    } catch (err) {
      this.#opts.metrics.writes.inc({ verb, result: "error" });
      throw err;
    }
  }

  /** What we wrote for `key`: the cache, overridden by our own recent writes it has not shown yet. */
  #written(key: ServiceKey, prod: ClusterController): WrittenSlice[] {
    const { namespace } = parseServiceKey(key)!;
    const byName = new Map<string, WrittenSlice>();
    for (const s of prod.ourSlicesOf(key)) {
      const w = writtenSliceOf(s);
      if (w) byName.set(w.name, w);
    }
    const now = this.#now();
    for (const [memoKey, memo] of this.#memo) {
      if (now - memo.at > memoTtlMs) {
        this.#memo.delete(memoKey);
        continue;
      }
      const [ns, name] = memoKey.split("/") as [string, string];
      if (ns !== namespace) continue;
      const cached = byName.get(name);
      if (memo.slice === "deleted") {
        if (!cached) this.#memo.delete(memoKey);
        else byName.delete(name);
      } else if (memo.slice.labels["kubernetes.io/service-name"] === parseServiceKey(key)!.name) {
        if (cached?.resourceVersion === memo.slice.resourceVersion) this.#memo.delete(memoKey);
        else byName.set(name, memo.slice);
      }
    }
    return [...byName.values()];
  }

  /** Peak endpoints the address policy refused or the cap dropped: log and Event (SPEC B1, B2). */
  async #reportLeftOut(
    service: ProductionService,
    peaks: readonly ServiceInfo[],
    signal: AbortSignal,
  ): Promise<void> {
    const subject = `${service.namespace}/${service.name}`;
    for (const peak of peaks) {
      const refused = peak.refused ?? [];
      if (refused.length > 0) {
        const shown = refused.slice(0, 5).map((r) => `${r.address} (${r.reason})`);
        const more = refused.length > 5 ? ` and ${refused.length - 5} more` : "";
        const message = `${refused.length} endpoint(s) from cluster ${peak.cluster} refused: ${shown.join(", ")}${more}`;
        this.#opts.logger.warn(
          { service: subject, cluster: peak.cluster, refused },
          "peak endpoints refused",
        );
        await this.#event(service, "Warning", "PeakEndpointsRefused", message, signal);
      }
      if (peak.truncated) {
        const { kept, dropped } = peak.truncated;
        const message = `cluster ${peak.cluster} has more endpoints than its maxEndpointsPerService: ${kept} kept, ${dropped} left out`;
        this.#opts.logger.warn(
          { service: subject, cluster: peak.cluster, kept, dropped },
          "peak endpoints truncated",
        );
        await this.#event(service, "Warning", "PeakEndpointsTruncated", message, signal);
      }
    }
  }

  async #reportConflicts(
    service: ProductionService,
    conflicts: readonly ImportConflict[],
    signal: AbortSignal,
  ): Promise<void> {
    for (const c of conflicts) {
      const message = JSON.stringify(c);
      this.#opts.logger.warn(
        { service: `${service.namespace}/${service.name}`, conflict: c },
        "peak endpoints left out",
      );
      await this.#event(service, "Warning", "PeakEndpointsLeftOut", message, signal);
    }
  }

  /** The production Services that peak `cluster` contributes to now. */
  servicesServedBy(cluster: string): ProductionService[] {
    const prod = this.#opts.production();
    if (!prod) return [];
    const { aggregator } = this.#opts;
    return aggregator.keys().flatMap((key) => {
      const views = aggregator.views(key);
      const production = views.find((v) => v.cluster === prod.name && v.production !== undefined);
      const peak = views.find((v) => v.cluster === cluster && v.clusterRole === "peak");
      if (!production?.production || !peak) return [];
      return pairs(production.role, peak.role, prod.name, cluster) ? [production.production] : [];
    });
  }

  /** Records an Event on each of `services` (how a peer's state reaches their owners, SPEC B3). */
  async announce(
    services: readonly ProductionService[],
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    signal: AbortSignal,
  ): Promise<void> {
    for (const service of services) await this.#event(service, type, reason, message, signal);
  }

  async #event(
    service: ProductionService,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    signal: AbortSignal,
  ): Promise<void> {
    const recorder = this.#opts.events();
    if (!recorder) return;
    const subject = {
      kind: "Service",
      apiVersion: "v1",
      namespace: service.namespace,
      name: service.name,
      uid: service.uid,
    };
    const err = await recorder.record(subject, type, reason, message, signal);
    if (err) this.#opts.logger.debug({ err }, "event not recorded");
  }

  #observePropagation(slice: DesiredSlice): void {
    const trigger = slice.annotations["endpoints.kubernetes.io/last-change-trigger-time"];
    if (!trigger) return;
    const seconds = (Date.now() - Date.parse(trigger)) / 1000;
    if (seconds >= 0 && Number.isFinite(seconds)) {
      this.#opts.metrics.propagation.observe({ cluster: slice.sourceCluster }, seconds);
    }
  }

  #maxPerSlice(): { maxPerSlice?: number } {
    return this.#opts.maxPerSlice === undefined ? {} : { maxPerSlice: this.#opts.maxPerSlice };
  }

  #now(): number {
    return this.#opts.clock.now();
  }
}
