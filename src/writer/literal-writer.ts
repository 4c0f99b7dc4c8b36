import type { V1Endpoints } from "@kubernetes/client-node";
import type { ServiceState } from "../aggregate/aggregator.ts";
import type { ClusterController } from "../controller/cluster-controller.ts";
import type { Contribution } from "../domain/endpoints.ts";
import type { ImportConflict } from "../domain/imported-groups.ts";
import { desiredEndpoints, literalKeys } from "../domain/literal-endpoints.ts";
import type { ProductionService } from "../domain/production-service.ts";
import { parseServiceKey, type ServiceKey } from "../domain/service-key.ts";
import { latestTriggerTime } from "../domain/trigger-time.ts";
import { KubeApiError } from "../kube/kube-api-error.ts";
import { endpointsUpdateBody, literalEndpointsOf } from "../kube/object-shapes.ts";
import { createObject, replaceObject } from "../kube/writes.ts";
import type { FencedWrites } from "./fenced-writes.ts";

/** Our cache is behind the server (a write conflicted): read again and recompute, rate limited. */
export class RetryLater extends Error {
  override readonly name = "RetryLater";
}

/**
 * Literal mode (SPEC M7): the Endpoints object of a selector-less production Service holds the
 * user's addresses plus the peaks'. Its record (an annotation) says which addresses, from which
 * peak, are ours; a marker label makes such objects selectable, so that whenever the Service
 * stops taking part, for any reason, or kubeburst runs in the other mode, the addresses we added
 * are taken out at once and the user's stay.
 */
export class LiteralWriter {
  readonly #writes: FencedWrites;
  readonly #keys: { recordKey: string; markerLabel: string };

  constructor(installation: string, writes: FencedWrites) {
    this.#writes = writes;
    this.#keys = literalKeys(installation);
  }

  /**
   * Makes the Endpoints object of `key` hold the union, or, with `service` undefined, only the
   * user's addresses. Returns whether it wrote and what could not be imported.
   */
  async reconcile(
    key: ServiceKey,
    state: ServiceState,
    service: ProductionService | undefined,
    prod: ClusterController,
    signal: AbortSignal,
  ): Promise<{ wrote: boolean; conflicts: ImportConflict[] }> {
    const current = prod.endpoints?.get(key) as V1Endpoints | undefined;
    if (current === undefined && service === undefined) return { wrote: false, conflicts: [] };
    const { recordKey, markerLabel } = this.#keys;
    const peaks: Contribution[] = state.peaks.map((peak) => {
      const sources = [...peak.sources.values()];
      const triggerTime = latestTriggerTime(sources.map((s) => s.triggerTime));
      return {
        cluster: peak.cluster,
        groups: sources.flatMap((s) => (s.group ? [s.group] : [])),
        ...(triggerTime === undefined ? {} : { triggerTime }),
      };
    });
    const desired = desiredEndpoints(literalEndpointsOf(current), service, peaks, {
      recordKey,
      keepClusters: state.unknown,
    });
    const ours = desired.annotations[recordKey] !== undefined;
    const labels = { ...(current?.metadata?.labels ?? {}) };
    const marked = labels[markerLabel] === "true";
    if (!desired.changed && marked === ours) return { wrote: false, conflicts: desired.conflicts };
    if (ours) labels[markerLabel] = "true";
    else delete labels[markerLabel];
    const { namespace, name } = parseServiceKey(key)!;
    const body = endpointsUpdateBody(current, namespace, name, desired, labels);
    try {
      if (current) {
        const path = `/api/v1/namespaces/${namespace}/endpoints/${name}`;
        await this.#writes.run("update", (o) => replaceObject(prod.client, path, body, o), signal);
      } else if (ours) {
        const collection = `/api/v1/namespaces/${namespace}/endpoints`;
        await this.#writes.run(
          "create",
          (o) => createObject(prod.client, collection, body, o),
          signal,
        );
      } else {
        return { wrote: false, conflicts: desired.conflicts };
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
    return { wrote: true, conflicts: desired.conflicts };
  }
}
