import type { V1EndpointSlice, V1Service } from "@kubernetes/client-node";
import {
  BURST_ANNOTATION_PREFIX,
  type BurstDefaults,
  type HpaSignal,
  parseBurstSpec,
} from "../domain/burst-policy.ts";
import type { CachedHpa } from "../kube/cache-shapes.ts";

/**
 * What a production Service's burst policy reads from production (SPEC B5): its burst
 * annotations, and only what its policy needs: production's own ready endpoints (threshold, share
 * cap) and its HorizontalPodAutoscaler (hpa-saturated). Leaving out what is not needed keeps a
 * production pod's readiness change from touching Services that do not care.
 */
export interface BurstInputs {
  annotations: Readonly<Record<string, string>>;
  productionReady?: number;
  hpa?: HpaSignal;
}

/** The burst annotations of a Service (every `kubeburst.io/burst*` key). */
export function burstAnnotationsOf(svc: V1Service): Record<string, string> {
  return Object.fromEntries(
    Object.entries(svc.metadata?.annotations ?? {}).filter(([k]) =>
      k.startsWith(BURST_ANNOTATION_PREFIX),
    ),
  );
}

/** What a Service's policy asks for: its ready count, and the name of its HPA. */
export function burstNeeds(
  annotations: Readonly<Record<string, string>>,
  defaults: BurstDefaults,
): { readyCount: boolean; hpa: string | undefined } {
  const parsed = parseBurstSpec(annotations, defaults);
  if (!parsed.ok) return { readyCount: false, hpa: undefined };
  const { policy, shareCapPercent, hpa } = parsed.spec;
  return {
    readyCount: policy === "threshold" || shareCapPercent !== undefined,
    hpa: policy === "hpa-saturated" ? hpa : undefined,
  };
}

/**
 * Distinct addresses that are ready (a missing `ready` counts as ready, as kube-proxy reads it),
 * leaving out `added`: in literal mode the mirrored slices also carry the peak addresses
 * kubeburst added to the Endpoints object, which are not production's own.
 */
export function readyAddresses(
  slices: readonly V1EndpointSlice[],
  added: ReadonlySet<string> = new Set(),
): number {
  const ready = new Set<string>();
  for (const slice of slices) {
    for (const e of slice.endpoints ?? []) {
      const address = e.addresses?.[0];
      if (address !== undefined && e.conditions?.ready !== false && !added.has(address)) {
        ready.add(address);
      }
    }
  }
  return ready.size;
}

/** An HPA's saturation signal; `found: false` when it does not exist. */
export function hpaSignalOf(hpa: CachedHpa | undefined): HpaSignal {
  if (!hpa) return { found: false, currentReplicas: 0, maxReplicas: 0, wantsMore: false };
  const limited = (hpa.status?.conditions ?? []).some(
    (c) => c.type === "ScalingLimited" && c.status === "True" && c.reason === "TooManyReplicas",
  );
  const max = hpa.spec?.maxReplicas ?? 0;
  const desired = hpa.status?.desiredReplicas ?? 0;
  return {
    found: true,
    currentReplicas: hpa.status?.currentReplicas ?? 0,
    maxReplicas: max,
    // The HPA controller caps desiredReplicas at max and says so with ScalingLimited.
    wantsMore: limited || desired > max,
  };
}

/** Whether two inputs mean the same to the policy. */
export function sameBurstInputs(a: BurstInputs, b: BurstInputs): boolean {
  const ka = Object.keys(a.annotations);
  return (
    ka.length === Object.keys(b.annotations).length &&
    ka.every((k) => a.annotations[k] === b.annotations[k]) &&
    a.productionReady === b.productionReady &&
    a.hpa?.found === b.hpa?.found &&
    a.hpa?.currentReplicas === b.hpa?.currentReplicas &&
    a.hpa?.maxReplicas === b.hpa?.maxReplicas &&
    a.hpa?.wantsMore === b.hpa?.wantsMore
  );
}
