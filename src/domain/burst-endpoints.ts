import { compareText } from "./compare-text.ts";
import type { AddressFamily, Endpoint, EndpointGroup, EndpointPort } from "./endpoints.ts";
import { fnv1a32 } from "./hash.ts";

/** One peak source (a peak slice after the address policy) as the burst stage sees it. */
export interface PeakSourceInput {
  cluster: string;
  /** The source slice's name. */
  source: string;
  group: EndpointGroup;
}

/** A peak endpoint written ready last time: where it came from, to drain it when it leaves. */
export interface AdmittedEndpoint {
  cluster: string;
  source: string;
  address: string;
  addressType: AddressFamily;
  ports: EndpointPort[];
}

/** A peak endpoint written serving but terminating until `until` (ms), then removed. */
export interface DrainingEndpoint extends AdmittedEndpoint {
  until: number;
}

/** What the burst stage remembers of one Service between decisions. */
export interface BurstMemory {
  /** By {@link endpointId}. */
  admitted: ReadonlyMap<string, AdmittedEndpoint>;
  draining: ReadonlyMap<string, DrainingEndpoint>;
}

export const EMPTY_MEMORY: BurstMemory = { admitted: new Map(), draining: new Map() };

export interface BurstEndpointsInput {
  bursting: boolean;
  /** Percentage (0–100) of the Service's ready endpoints that may come from peaks. */
  shareCapPercent: number | undefined;
  /** Production's own ready endpoints (the cap's base); 0 when unknown. */
  productionReady: number;
  /** Every source of every ready peak that pairs with the Service, now. */
  sources: readonly PeakSourceInput[];
  /** Whether probes found `address` of `cluster` unreachable (undefined/false: reachable). */
  unreachable: (cluster: string, address: string) => boolean;
  /** Clusters whose draining endpoints may stay (ready peaks); others are dropped at once (SPEC B3). */
  live: (cluster: string) => boolean;
  drainMs: number;
  now: number;
  memory: BurstMemory;
}

export interface BurstEndpoints {
  /** The endpoints to write, by {@link sourceId}; a source with none maps to an empty group. */
  groups: Map<string, EndpointGroup>;
  memory: BurstMemory;
  /** Earliest end of a drain, ms; undefined when nothing drains. */
  wakeAt?: number;
  counts: { admitted: number; draining: number; unreachable: number; capped: number };
}

export const endpointId = (cluster: string, address: string): string =>
  `${cluster}\u0000${address}`;
export const sourceId = (cluster: string, source: string): string => `${cluster}\u0000${source}`;

/**
 * How many peak endpoints may be ready so that they are at most `percent`% of all ready
 * endpoints: k ≤ p·(P + k)/100, i.e. k = ⌊p·P / (100 − p)⌋; no limit at 100%. Pure.
 */
export function shareCapLimit(percent: number | undefined, productionReady: number): number {
  if (percent === undefined || percent >= 100) return Number.POSITIVE_INFINITY;
  if (percent <= 0) return 0;
  return Math.floor((percent * Math.max(0, productionReady)) / (100 - percent));
}

/** The order in which ready peak endpoints are taken under a share cap: by a hash, then name. */
function rank(
  a: { hash: number; cluster: string; address: string },
  b: { hash: number; cluster: string; address: string },
): number {
  return a.hash - b.hash || compareText(a.cluster, b.cluster) || compareText(a.address, b.address);
}

const DRAINING = { ready: false, serving: true, terminating: true } as const;
const UNREACHABLE = { ready: false, serving: false, terminating: false } as const;

/**
 * The peak endpoints a production Service holds now (SPEC B4, B5): while bursting, every peak
 * endpoint as the peak reports it, except that ready ones beyond the share cap are left out (a
 * deterministic subset: ranked by a hash of cluster and address, so every replica and every
 * restart picks the same) and ones the probes cannot reach are written not ready. An endpoint
 * written ready before that is no longer admitted (policy, cap, scale-in, unlabelling) is written
 * serving and terminating for `drainMs`, then removed, unless its cluster is no longer live.
 * Pure; linear in the Service's peak endpoints (plus a sort under a cap).
 */
export function burstEndpoints(input: BurstEndpointsInput): BurstEndpoints {
  const { now } = input;
  const groups = new Map<string, EndpointGroup>();
  const admitted = new Map<string, AdmittedEndpoint>();
  const counts = { admitted: 0, draining: 0, unreachable: 0, capped: 0 };
  // Candidates for "ready": ready in the peak and reachable.
  const candidates: {
    hash: number;
    cluster: string;
    address: string;
    src: PeakSourceInput;
    e: Endpoint;
  }[] = [];
  const written = new Map<string, Endpoint[]>();
  /** Endpoints not ready in the peak, or unreachable: never drained, whatever was written before. */
  const writtenOther = new Set<string>();
  for (const src of input.sources) {
    const list: Endpoint[] = [];
    written.set(sourceId(src.cluster, src.source), list);
    for (const e of src.group.endpoints) {
      if (!e.conditions.ready) {
        // The peak's own word on it stands (and such an endpoint is never drained by us).
        if (input.bursting) list.push(e);
        writtenOther.add(endpointId(src.cluster, e.address));
        continue;
      }
      if (!input.bursting) continue;
      if (input.unreachable(src.cluster, e.address)) {
        counts.unreachable++;
        list.push({ address: e.address, conditions: { ...UNREACHABLE } });
        writtenOther.add(endpointId(src.cluster, e.address));
        continue;
      }
      candidates.push({ hash: 0, cluster: src.cluster, address: e.address, src, e });
    }
  }
  const limit = shareCapLimit(input.shareCapPercent, input.productionReady);
  if (candidates.length > limit) {
    // Hashed once each, not per comparison.
    for (const c of candidates) c.hash = fnv1a32(`${c.cluster}/${c.address}`);
    candidates.sort(rank);
    counts.capped = candidates.length - limit;
  }
  candidates.forEach((c, i) => {
    if (i >= limit) return;
    written.get(sourceId(c.cluster, c.src.source))!.push(c.e);
    admitted.set(endpointId(c.cluster, c.address), {
      cluster: c.cluster,
      source: c.src.source,
      address: c.address,
      addressType: c.src.group.addressType,
      ports: c.src.group.ports,
    });
  });
  counts.admitted = admitted.size;

  // Leaving: written ready before, not now; and drains still under way.
  const draining = new Map<string, DrainingEndpoint>();
  const drain = (id: string, d: DrainingEndpoint) => {
    if (d.until <= now || !input.live(d.cluster) || admitted.has(id)) return;
    // Still in the peak and written there as not ready or unreachable: that state wins.
    if (writtenOther.has(id)) return;
    draining.set(id, d);
  };
  for (const [id, d] of input.memory.draining) drain(id, d);
  if (input.drainMs > 0) {
    for (const [id, a] of input.memory.admitted) {
      if (admitted.has(id) || draining.has(id)) continue;
      // A peak endpoint that turned unready or unreachable is the peak's (or probe's) to tell.
      if (writtenOther.has(id)) continue;
      drain(id, { ...a, until: now + input.drainMs });
    }
  }
  const extra = new Map<string, { addressType: AddressFamily; ports: EndpointPort[] }>();
  let wakeAt: number | undefined;
  for (const d of draining.values()) {
    const sid = sourceId(d.cluster, d.source);
    let list = written.get(sid);
    if (!list) {
      list = [];
      written.set(sid, list);
      extra.set(sid, { addressType: d.addressType, ports: d.ports });
    }
    list.push({ address: d.address, conditions: { ...DRAINING } });
    wakeAt = wakeAt === undefined ? d.until : Math.min(wakeAt, d.until);
  }
  counts.draining = draining.size;

  const shapeOf = new Map(input.sources.map((s) => [sourceId(s.cluster, s.source), s.group]));
  for (const [sid, list] of written) {
    const shape = shapeOf.get(sid) ?? extra.get(sid)!;
    groups.set(sid, {
      addressType: shape.addressType,
      ports: shape.ports,
      endpoints: list.sort((a, b) => compareText(a.address, b.address)),
    });
  }
  return {
    groups,
    memory: { admitted, draining },
    ...(wakeAt === undefined ? {} : { wakeAt }),
    counts,
  };
}
