import { parseDuration } from "../config/duration.ts";

/**
 * When a production Service takes peak endpoints (SPEC B5): `always` (the union, as without a
 * policy), `manual` (an annotation turns it on and off), `threshold` (while production has too
 * few ready endpoints, with hysteresis), `hpa-saturated` (while production's autoscaler is at its
 * maximum and wants more).
 */
export const BURST_POLICIES = ["always", "manual", "threshold", "hpa-saturated"] as const;
export type BurstPolicyKind = (typeof BURST_POLICIES)[number];

/** Annotations on the production Service that choose and tune its burst policy. */
export const BURST_ANNOTATIONS = {
  policy: "kubeburst.io/burst-policy",
  manual: "kubeburst.io/burst",
  below: "kubeburst.io/burst-below",
  recoverAt: "kubeburst.io/burst-recover-at",
  hpa: "kubeburst.io/burst-hpa",
  hold: "kubeburst.io/burst-hold",
  shareCap: "kubeburst.io/burst-share-cap",
} as const;

/** Every annotation key starting with this is read into the production report. */
export const BURST_ANNOTATION_PREFIX = "kubeburst.io/burst";

/** The settings that apply when a Service's annotations say nothing. */
export interface BurstDefaults {
  policy: BurstPolicyKind;
  /** How long the way out must hold before a burst ends, ms. */
  holdMs: number;
}

/** A Service's burst policy, parsed. */
export interface BurstSpec {
  policy: BurstPolicyKind;
  /** `manual`: whether the burst is on. */
  on?: boolean;
  /** `threshold`: burst while production has fewer than this many ready endpoints. */
  below?: number;
  /** `threshold`: the burst may end once production has at least this many (≥ `below`). */
  recoverAt?: number;
  /** `hpa-saturated`: the production HorizontalPodAutoscaler (same namespace). */
  hpa?: string;
  /** ms the way out must hold before the burst ends (`threshold`, `hpa-saturated`). */
  holdMs: number;
  /** At most this percentage (0–100) of the Service's ready endpoints come from peaks. */
  shareCapPercent?: number;
}

/** A parsed spec, or every problem with the annotations (each naming its annotation). */
export type BurstSpecResult = { ok: true; spec: BurstSpec } | { ok: false; problems: string[] };

const MAX_HOLD_MS = 24 * 3_600_000;

/** Reads a Service's burst annotations over the defaults. Pure; every problem is reported. */
export function parseBurstSpec(
  annotations: Readonly<Record<string, string>>,
  defaults: BurstDefaults,
): BurstSpecResult {
  const problems: string[] = [];
  const A = BURST_ANNOTATIONS;
  const policyText = annotations[A.policy];
  let policy = defaults.policy;
  if (policyText !== undefined) {
    if ((BURST_POLICIES as readonly string[]).includes(policyText)) {
      policy = policyText as BurstPolicyKind;
    } else {
      problems.push(
        `annotation ${A.policy}: ${JSON.stringify(policyText.slice(0, 100))} is not a policy; use one of ${BURST_POLICIES.join(", ")}`,
      );
    }
  }
  const spec: BurstSpec = { policy, holdMs: defaults.holdMs };
  const holdText = annotations[A.hold];
  if (holdText !== undefined) {
    const hold = parseDuration(holdText);
    if (!hold.ok) problems.push(`annotation ${A.hold}: ${hold.message}`);
    else if (hold.ms > MAX_HOLD_MS) problems.push(`annotation ${A.hold}: at most 24h`);
    else spec.holdMs = hold.ms;
  }
  const capText = annotations[A.shareCap];
  if (capText !== undefined) {
    const m = /^(\d{1,3})%?$/.exec(capText);
    const percent = m ? Number(m[1]) : Number.NaN;
    if (!(percent >= 0 && percent <= 100)) {
      problems.push(
        `annotation ${A.shareCap}: ${JSON.stringify(capText.slice(0, 100))} is not a whole percentage from 0 to 100 (e.g. "40%")`,
      );
    } else spec.shareCapPercent = percent;
  }
  if (policy === "manual") {
    const text = annotations[A.manual];
    if (text === "on" || text === "off") spec.on = text === "on";
    else {
      problems.push(
        `annotation ${A.manual}: policy manual needs "on" or "off", got ${text === undefined ? "nothing" : JSON.stringify(text.slice(0, 100))}`,
      );
    }
  }
  if (policy === "threshold") {
    const below = count(annotations[A.below]);
    if (below === undefined) {
      problems.push(
        `annotation ${A.below}: policy threshold needs a whole number of ready production endpoints (at least 1) below which peaks join`,
      );
    } else {
      spec.below = below;
      const recoverText = annotations[A.recoverAt];
      const recoverAt = recoverText === undefined ? below : count(recoverText);
      if (recoverAt === undefined || recoverAt < below) {
        problems.push(
          `annotation ${A.recoverAt}: must be a whole number at least ${A.below} (${below})`,
        );
      } else spec.recoverAt = recoverAt;
    }
  }
  if (policy === "hpa-saturated") {
    const name = annotations[A.hpa];
    if (name === undefined || !/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(name) || name.length > 253) {
      problems.push(
        `annotation ${A.hpa}: policy hpa-saturated needs the name of a HorizontalPodAutoscaler in the Service's namespace`,
      );
    } else spec.hpa = name;
  }
  return problems.length > 0 ? { ok: false, problems } : { ok: true, spec };
}

function count(text: string | undefined): number | undefined {
  if (text === undefined || !/^\d{1,9}$/.test(text)) return undefined;
  const n = Number(text);
  return n >= 1 ? n : undefined;
}

/** What production's HorizontalPodAutoscaler says, as far as bursting cares. */
export interface HpaSignal {
  /** False when no HPA of that name exists. */
  found: boolean;
  currentReplicas: number;
  maxReplicas: number;
  /** Condition ScalingLimited is True with reason TooManyReplicas: it wants more than its max. */
  wantsMore: boolean;
}

/** Whether the HPA is at its maximum and asks for more (the hpa-saturated policy's signal). */
export function hpaSaturated(hpa: HpaSignal | undefined): boolean {
  return hpa?.found === true && hpa.currentReplicas >= hpa.maxReplicas && hpa.wantsMore;
}

/** Where a Service's burst stands. `since`: when `bursting` last changed (or was first decided). */
export interface BurstPhase {
  bursting: boolean;
  since: number;
  /** Why, in words (for Events, logs and status). */
  reason: string;
  /** While bursting: since when the way out has held without a break; undefined while it does not. */
  calmSince?: number;
}

/** What the policy reads besides its spec. */
export interface BurstSignals {
  /** Ready endpoints of production's own (not kubeburst's) slices of the Service. */
  productionReady: number | undefined;
  hpa: HpaSignal | undefined;
}

/** The decision and when it must be made again even if nothing else changes (hold time ends). */
export interface BurstDecision {
  phase: BurstPhase;
  /** Time (ms) at which the decision may change by itself; undefined when only input can change it. */
  wakeAt?: number;
}

/**
 * Decides whether Service's burst is on at `now` (SPEC B5). A burst starts as soon as its
 * condition holds; `threshold` and `hpa-saturated` end one only after the way out has held
 * continuously for `holdMs`, so no input sequence can end a burst inside the hold time.
 * An invalid spec keeps the previous decision (nothing from a peak on the first one): an
 * annotation typo never flips traffic. Pure.
 */
export function decideBurst(
  spec: BurstSpecResult,
  signals: BurstSignals,
  previous: BurstPhase | undefined,
  now: number,
): BurstDecision {
  if (!spec.ok) {
    const bursting = previous?.bursting ?? false;
    return {
      phase: {
        bursting,
        since: previous?.since ?? now,
        reason: `kept ${bursting ? "on" : "off"}: ${spec.problems.join("; ")}`,
      },
    };
  }
  const s = spec.spec;
  const to = (bursting: boolean, reason: string): BurstPhase => ({
    bursting,
    since: previous?.bursting === bursting ? previous.since : now,
    reason,
  });
  switch (s.policy) {
    case "always":
      return { phase: to(true, "peaks always take part") };
    case "manual":
      return {
        phase: to(s.on === true, `${BURST_ANNOTATIONS.manual} is ${s.on ? "on" : "off"}`),
      };
    case "threshold": {
      const ready = signals.productionReady;
      const below = s.below ?? 1;
      const recoverAt = s.recoverAt ?? below;
      if (ready === undefined) {
        return {
          phase: {
            ...to(previous?.bursting ?? false, "production's ready endpoints not known yet"),
          },
        };
      }
      if (ready < below) {
        return {
          phase: to(true, `production has ${ready} ready endpoint(s), fewer than ${below}`),
        };
      }
      return held(
        previous,
        ready >= recoverAt,
        now,
        s.holdMs,
        `production has ${ready} ready endpoint(s), at least ${recoverAt}`,
        `production has ${ready} ready endpoint(s), fewer than ${recoverAt} to end the burst`,
      );
    }
    case "hpa-saturated": {
      const hpa = signals.hpa;
      const name = s.hpa ?? "";
      if (hpaSaturated(hpa)) {
        return {
          phase: to(
            true,
            `HorizontalPodAutoscaler ${name} is at its maxReplicas (${hpa!.maxReplicas}) and wants more`,
          ),
        };
      }
      const why =
        hpa === undefined || !hpa.found
          ? `HorizontalPodAutoscaler ${name} does not exist`
          : `HorizontalPodAutoscaler ${name} is not saturated (${hpa.currentReplicas} of at most ${hpa.maxReplicas} replicas${hpa.wantsMore ? "" : ", not limited"})`;
      return held(previous, true, now, s.holdMs, why, why);
    }
  }
}

/**
 * The way out of a burst: off at once when not bursting; while bursting, off only once `calm`
 * has held for `holdMs` without a break.
 */
function held(
  previous: BurstPhase | undefined,
  calm: boolean,
  now: number,
  holdMs: number,
  calmReason: string,
  stormReason: string,
): BurstDecision {
  if (!previous?.bursting) {
    return {
      phase: {
        bursting: false,
        since: previous ? previous.since : now,
        reason: calm ? calmReason : stormReason,
      },
    };
  }
  if (!calm) return { phase: { bursting: true, since: previous.since, reason: stormReason } };
  const calmSince = previous.calmSince ?? now;
  if (now - calmSince >= holdMs) {
    return {
      phase: { bursting: false, since: now, reason: `${calmReason} for the hold time` },
    };
  }
  return {
    phase: {
      bursting: true,
      since: previous.since,
      reason: `${calmReason}; ending after the hold time`,
      calmSince,
    },
    wakeAt: calmSince + holdMs,
  };
}
