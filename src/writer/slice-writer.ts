import type { V1EndpointSlice } from "@kubernetes/client-node";
import { type ServiceState, sameProduction } from "../aggregate/aggregator.ts";
import type { ClusterController } from "../controller/cluster-controller.ts";
import type { ImportConflict } from "../domain/imported-groups.ts";
import { SOURCE_CLUSTER_LABEL } from "../domain/labels.ts";
import type { ProductionService } from "../domain/production-service.ts";
import { parseServiceKey, type ServiceKey } from "../domain/service-key.ts";
import { sliceContentEqual, type WrittenSlice } from "../domain/slice-content-equal.ts";
import { splitSliceName } from "../domain/slice-name.ts";
import type { Source } from "../domain/source.ts";
import { type DesiredSlice, sourceSlices } from "../domain/source-slices.ts";
import { sliceApplyBody, writtenSliceOf } from "../kube/object-shapes.ts";
import { deleteWithUid, endpointSlicePath, serverSideApply } from "../kube/writes.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Clock } from "../runtime/clock.ts";
import type { FencedWrites } from "./fenced-writes.ts";

export interface SliceWriterOptions {
  installation: string;
  writes: FencedWrites;
  metrics: Metrics;
  logger: Logger;
  clock: Clock;
  /** Endpoints per slice, default 100. */
  maxPerSlice?: number;
}

/** What one reconcile found: the writes it made and what production cannot import. */
export interface SliceReconcile {
  wrote: boolean;
  conflicts: ImportConflict[];
}

/** The slices of one source, as last planned: the source object and our slices' names. */
interface Mirrored {
  source: Source;
  names: readonly string[];
  conflicts: readonly ImportConflict[];
}

/** What the writer believes production holds for one Service. */
interface ServiceMemo {
  production: ProductionService;
  /** By `cluster\0source`. */
  mirrored: Map<string, Mirrored>;
}

/**
 * What we know of one of our slices: the resourceVersion it had when we last wrote it or found it
 * as it should be; and, while the cache has not shown our write yet, what we wrote (or that we
 * deleted it) and the resourceVersion the cache showed before (`before`).
 */
interface WriteRecord {
  resourceVersion: string;
  at: number;
  pending: WrittenSlice | "deleted" | undefined;
  before?: string | undefined;
}

/** How long our own write shadows a cache that has not caught up with it, ms. */
const PENDING_TTL_MS = 30_000;

/**
 * Makes production hold, for one Service, one set of slices per peak slice (SPEC M7, B2, B13):
 * each source's endpoints in chunks that keep their place, so one change in a peak re-writes
 * only the slices of the source it happened in. A source whose object and production Service are
 * unchanged since the last plan, and whose slices production still holds as we wrote them, is
 * not planned again. Writes that add endpoints go first and deletes last, so an endpoint that
 * moves is never missing from every slice. Slices of a peak that has not synced since start keep
 * what they hold (SPEC B3).
 */
export class SliceWriter {
  readonly #opts: SliceWriterOptions;
  readonly #memos = new Map<ServiceKey, ServiceMemo>();
  readonly #records = new Map<ServiceKey, Map<string, WriteRecord>>();

  constructor(opts: SliceWriterOptions) {
    this.#opts = opts;
  }

  /**
   * Makes production's slices of Service `key` match `state` (nothing, when the Service does not
   * take part or is not ours to write slices for). `deep`: plan every source again and compare
   * with the cache (resync, start, leadership gained).
   */
  async reconcile(
    key: ServiceKey,
    state: ServiceState,
    service: ProductionService | undefined,
    prod: Pick<ClusterController, "client" | "ourSlicesOf">,
    deep: boolean,
    signal: AbortSignal,
  ): Promise<SliceReconcile> {
    const cached = new Map<string, V1EndpointSlice>();
    for (const slice of prod.ourSlicesOf(key)) cached.set(slice.metadata?.name ?? "", slice);
    const records = this.#records.get(key) ?? new Map<string, WriteRecord>();
    this.#settle(records, cached);
    const conflicts: ImportConflict[] = [];
    const keep = new Set<string>();
    const apply: { slice: DesiredSlice; adds: boolean }[] = [];
    const memo = this.#memos.get(key);
    const mirrored = new Map<string, Mirrored>();
    if (service) {
      const replan = deep || !memo || !sameProduction(memo.production, service);
      const existing = existingChunks(cached, records);
      for (const peak of state.peaks) {
        for (const source of peak.sources.values()) {
          const id = `${peak.cluster}\u0000${source.name}`;
          const before = memo?.mirrored.get(id);
          if (
            !replan &&
            before?.source === source &&
            before.names.every((n) => this.#holds(records, cached, n))
          ) {
            mirrored.set(id, before);
            for (const name of before.names) keep.add(name);
            conflicts.push(...before.conflicts);
            continue;
          }
          const planned = sourceSlices({
            service,
            cluster: peak.cluster,
            installation: this.#opts.installation,
            source,
            existing,
            ...(this.#opts.maxPerSlice === undefined
              ? {}
              : { maxPerSlice: this.#opts.maxPerSlice }),
          });
          conflicts.push(...planned.conflicts);
          for (const slice of planned.slices) {
            keep.add(slice.name);
            const current = this.#current(records, cached, slice.name);
            if (current !== "absent" && sliceContentEqual(slice, current)) {
              this.#seen(records, cached, slice.name);
              continue;
            }
            const had = new Set(
              current === "absent" ? [] : current.endpoints.map((e) => e.address),
            );
            apply.push({ slice, adds: slice.endpoints.some((e) => !had.has(e.address)) });
          }
          mirrored.set(id, {
            source,
            names: planned.slices.map((s) => s.name),
            conflicts: planned.conflicts,
          });
        }
      }
      // A peak not yet known since start keeps what was written for it (SPEC B3).
      for (const [name, slice] of cached) {
        const from = slice.metadata?.labels?.[SOURCE_CLUSTER_LABEL] ?? "";
        if (state.unknown.includes(from)) keep.add(name);
      }
      this.#memos.set(key, { production: service, mirrored });
    } else {
      this.#memos.delete(key);
    }
    const remove = [...cached.entries()]
      .filter(([name]) => !keep.has(name) && records.get(name)?.pending !== "deleted")
      .map(([name, slice]) => ({ name, uid: slice.metadata?.uid ?? "" }));
    apply.sort((a, b) => Number(b.adds) - Number(a.adds));

    const { writes } = this.#opts;
    const { namespace } = parseServiceKey(key)!;
    for (const { slice } of apply) {
      const applied = await writes.run(
        "apply",
        (o) =>
          serverSideApply<V1EndpointSlice>(
            prod.client,
            endpointSlicePath(namespace, slice.name),
            sliceApplyBody(slice),
            o,
          ),
        signal,
      );
      const back = writtenSliceOf(applied);
      records.set(slice.name, {
        resourceVersion: applied.metadata?.resourceVersion ?? "",
        at: this.#opts.clock.now(),
        pending: back ?? undefined,
        before: cached.get(slice.name)?.metadata?.resourceVersion,
      });
      this.#observePropagation(slice);
    }
    for (const { name, uid } of remove) {
      await writes.run(
        "delete",
        (o) => deleteWithUid(prod.client, endpointSlicePath(namespace, name), uid, o),
        signal,
      );
      const before = cached.get(name)?.metadata?.resourceVersion;
      records.set(name, {
        resourceVersion: "",
        at: this.#opts.clock.now(),
        pending: "deleted",
        before,
      });
    }
    if (records.size > 0) this.#records.set(key, records);
    else this.#records.delete(key);
    const wrote = apply.length + remove.length > 0;
    if (wrote) {
      this.#opts.logger.debug(
        { service: key, applied: apply.length, deleted: remove.length },
        "production slices written",
      );
    }
    return { wrote, conflicts };
  }

  /** Forgets what was planned (leadership lost and regained: plan everything again). */
  forgetAll(): void {
    this.#memos.clear();
  }

  /**
   * Brings the records up to date with the cache. A pending write stops shadowing the cache once
   * the cache shows anything but what it showed before the write: our write (settled), or a later
   * change by someone else (the watch delivers in order), or when it is too old to trust.
   */
  #settle(records: Map<string, WriteRecord>, cached: ReadonlyMap<string, V1EndpointSlice>): void {
    const now = this.#opts.clock.now();
    for (const [name, record] of records) {
      const rv = cached.get(name)?.metadata?.resourceVersion;
      const moved = rv !== record.before || now - record.at > PENDING_TTL_MS;
      if (record.pending === "deleted") {
        if (moved) records.delete(name);
      } else if (record.pending !== undefined) {
        if (moved) record.pending = undefined;
      } else if (rv === undefined) {
        records.delete(name);
      }
    }
  }

  /** Records that the cache holds slice `name` as it should be. */
  #seen(
    records: Map<string, WriteRecord>,
    cached: ReadonlyMap<string, V1EndpointSlice>,
    name: string,
  ): void {
    const record = records.get(name);
    if (record?.pending !== undefined) return;
    const rv = cached.get(name)?.metadata?.resourceVersion;
    if (rv !== undefined)
      records.set(name, { resourceVersion: rv, at: this.#opts.clock.now(), pending: undefined });
  }

  /**
   * Whether production still holds slice `name` as we last wrote or saw it: our write is pending,
   * or the cache shows the resourceVersion we recorded. Anything else (someone else's change, a
   * deletion) makes the writer plan the source again.
   */
  #holds(
    records: ReadonlyMap<string, WriteRecord>,
    cached: ReadonlyMap<string, V1EndpointSlice>,
    name: string,
  ): boolean {
    const record = records.get(name);
    if (record === undefined || record.pending === "deleted") return false;
    if (record.pending !== undefined) return true;
    return cached.get(name)?.metadata?.resourceVersion === record.resourceVersion;
  }

  /** Slice `name` as production holds it: our pending write if the cache is behind, else the cache. */
  #current(
    records: ReadonlyMap<string, WriteRecord>,
    cached: ReadonlyMap<string, V1EndpointSlice>,
    name: string,
  ): WrittenSlice | "absent" {
    const pending = records.get(name)?.pending;
    if (pending === "deleted") return "absent";
    if (pending !== undefined) return pending;
    const slice = cached.get(name);
    return (slice && writtenSliceOf(slice)) ?? "absent";
  }

  /** The coarse end-to-end figure: from the peak slice's trigger time (1 s precision). */
  #observePropagation(slice: DesiredSlice): void {
    const trigger = slice.annotations["endpoints.kubernetes.io/last-change-trigger-time"];
    if (!trigger) return;
    const seconds = (Date.now() - Date.parse(trigger)) / 1000;
    if (seconds >= 0 && Number.isFinite(seconds)) {
      this.#opts.metrics.triggerToWrite.observe({ cluster: slice.sourceCluster }, seconds);
    }
  }
}

/** The addresses of our slices by name prefix and chunk index (what a source's layout keeps). */
function existingChunks(
  cached: ReadonlyMap<string, V1EndpointSlice>,
  records: ReadonlyMap<string, WriteRecord>,
): (prefix: string) => ReadonlyMap<number, readonly string[]> | undefined {
  let byPrefix: Map<string, Map<number, string[]>> | undefined;
  return (prefix) => {
    if (byPrefix === undefined) {
      byPrefix = new Map();
      const names = new Set([...cached.keys(), ...records.keys()]);
      for (const name of names) {
        const parts = splitSliceName(name);
        const pending = records.get(name)?.pending;
        if (!parts || pending === "deleted") continue;
        const slice = cached.get(name);
        const addresses =
          pending?.endpoints.map((e) => e.address) ??
          (slice?.endpoints ?? []).flatMap((e) => e.addresses.slice(0, 1));
        let chunks = byPrefix.get(parts.prefix);
        if (!chunks) {
          chunks = new Map();
          byPrefix.set(parts.prefix, chunks);
        }
        chunks.set(parts.index, addresses);
      }
    }
    return byPrefix.get(prefix);
  };
}
