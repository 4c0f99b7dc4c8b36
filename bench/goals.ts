// The goals of kubeburst issue #10, judged against one run's figures. Figures, not assertions:
// a missed goal is a row in the report, never a failure of the run.
import type { BenchResults, ColdStartRun, LagFigures } from "./bench-results.ts";
import { ratio } from "./summarize.ts";

export interface GoalRow {
  goal: string;
  measured: string;
  status: "met" | "missed" | "not measured";
  /** How far from the target: "by 1.8×", "by 12 s", or "" when met exactly or not measured. */
  margin: string;
  /** Set when the figure comes from a smaller run than the goal names. */
  note?: string;
}

/** Growth of the cost per Service (see {@link linearity}) within this factor counts as linear. */
export const linearTolerance = 1.25;

const fmt = (n: number, digits = 2) => n.toFixed(digits);

function judgeAtMost(
  goal: string,
  measured: number | undefined,
  limit: number,
  show: (n: number) => string,
  note?: string,
): GoalRow {
  if (measured === undefined || !Number.isFinite(measured)) {
    return { goal, measured: "—", status: "not measured", margin: "", ...(note ? { note } : {}) };
  }
  const met = measured <= limit;
  const margin = met
    ? ""
    : limit > 0
      ? `by ${fmt(measured / limit)}× the limit`
      : `by ${fmt(measured, Number.isInteger(measured) ? 0 : 2)}`;
  return {
    goal,
    measured: show(measured),
    status: met ? "met" : "missed",
    margin,
    ...(note ? { note } : {}),
  };
}

/** The worse of two optional figures. */
function worst(...values: (number | undefined)[]): number | undefined {
  const present = values.filter((v): v is number => v !== undefined && Number.isFinite(v));
  return present.length === 0 ? undefined : Math.max(...present);
}

/** Event-loop lag p99 of a window: prom-client's figure when exported, else the /healthz probe's. */
export function lagP99Ms(lag: LagFigures): number | undefined {
  return lag.eventLoopP99Ms ?? lag.probeP99Ms;
}

function sizeNote(actual: number, goal: number, what: string): string | undefined {
  return actual === goal ? undefined : `measured at ${actual} ${what}, not ${goal}`;
}

/** Judges every goal that the run's sections measured. */
export function evaluateGoals(r: BenchResults): GoalRow[] {
  const rows: GoalRow[] = [];
  const p = r.propagation;
  for (const phase of ["idle", "churn"] as const) {
    const kb = p?.kubeburst[phase].hop?.p99;
    rows.push(
      judgeAtMost(
        `propagation p99 ≤ 1.0× the in-cluster controller's (${phase})`,
        ratio(kb, p?.kubeburst[phase].inCluster?.p99),
        1.0,
        (x) => `${fmt(x)}×`,
      ),
    );
    rows.push(
      judgeAtMost(
        `propagation p99 ≤ 1.2× the bare relay's (${phase})`,
        ratio(kb, p?.relay[phase].hop?.p99),
        1.2,
        (x) => `${fmt(x)}×`,
      ),
    );
  }
  rows.push(
    judgeAtMost(
      "CPU per change ≤ 1.5× the bare relay's",
      ratio(p?.kubeburst.churn.cpuPerChangeMs, p?.relay.churn.cpuPerChangeMs),
      1.5,
      (x) => `${fmt(x)}×`,
    ),
  );

  const cold = r.coldStart ?? [];
  const largest: ColdStartRun | undefined = cold.at(-1);
  const coldNote = largest ? sizeNote(largest.services, 10_000, "Services") : undefined;
  rows.push(
    judgeAtMost(
      "10,000 × 10 cold start converged in ≤ 30 s",
      largest
        ? largest.converged
          ? largest.convergedSeconds
          : Number.POSITIVE_INFINITY
        : undefined,
      30,
      (s) => (Number.isFinite(s) ? `${fmt(s, 1)} s` : "did not converge"),
      coldNote,
    ),
  );
  rows.push(
    judgeAtMost(
      "10,000 × 10 cold start: writes equal to the minimum",
      largest?.writes === undefined ? undefined : largest.writes - largest.minimumWrites,
      0,
      (extra) =>
        `${(largest?.writes ?? 0).toLocaleString("en")} writes for a minimum of ${(largest?.minimumWrites ?? 0).toLocaleString("en")} (${extra >= 0 ? "+" : ""}${extra})`,
      coldNote,
    ),
  );

  const wide = r.endpoints;
  rows.push(
    judgeAtMost(
      "RSS ≤ 300 MiB at 100,000 endpoints",
      wide?.peakRssMiB,
      300,
      (m) => `${fmt(m, 0)} MiB`,
      wide ? sizeNote(wide.services * wide.endpointsPerService, 100_000, "endpoints") : undefined,
    ),
  );

  const n = r.nodes;
  rows.push(
    judgeAtMost(
      "event-loop lag p99 ≤ 50 ms throughout, with 1,000 production nodes",
      n ? worst(lagP99Ms(n.coldStart.lag), n.resync && lagP99Ms(n.resync.lag)) : undefined,
      50,
      (ms) => {
        const longest = worst(n?.coldStart.lag.probeMaxMs, n?.resync?.lag.probeMaxMs);
        return `${fmt(ms, 0)} ms${longest === undefined ? "" : ` (longest unanswered ${fmt(longest, 0)} ms)`}`;
      },
      n
        ? [
            sizeNote(n.nodes, 1000, "nodes"),
            sizeNote(n.coldStart.services, 10_000, "Services"),
            n.coldStart.lag.eventLoopP99Ms === undefined
              ? "nodejs_eventloop_lag_p99_seconds not exported: /healthz probe p99"
              : undefined,
          ]
            .filter(Boolean)
            .join("; ") || undefined
        : undefined,
    ),
  );

  const s = r.steady;
  rows.push(
    judgeAtMost(
      "≤ 2 slice writes per endpoint change in a 3,000-endpoint Service",
      s ? worst(...s.steps.map((step) => step.writes)) : undefined,
      2,
      (w) =>
        `${s?.steps.map((step) => `${step.change}: ${step.writes ?? "?"}`).join(", ")} (worst ${w})`,
      s ? sizeNote(s.endpoints, 3000, "endpoints") : undefined,
    ),
  );
  // A window that did not see every Service's no-op reconcile still spans a resync period.
  const resyncs = [
    ["steady", s?.resync],
    ["nodes", n?.resync],
  ] as const;
  const counted = resyncs.filter(([, x]) => x?.writes !== undefined);
  rows.push(
    judgeAtMost(
      "0 writes on a no-op resync",
      worst(...counted.map(([, x]) => x!.writes)),
      0,
      () => counted.map(([name, x]) => `${name}: ${x!.writes}`).join(", "),
      counted.some(([, x]) => !x!.observed)
        ? "resync not confirmed by kubeburst_writer_noop_syncs_total; the window spanned a resync period"
        : undefined,
    ),
  );

  const linear = linearity(cold);
  rows.push(
    judgeAtMost(
      `cost linear in Services (cost per added Service at the largest sizes ≤ ${linearTolerance}× that at the smallest)`,
      linear ? Math.max(linear.cpu, linear.time) : undefined,
      linearTolerance,
      () =>
        linear
          ? `CPU/Service ×${fmt(linear.cpu)}, time/Service ×${fmt(linear.time)} from ${linear.from} to ${linear.to} Services (${linear.method})`
          : "",
    ),
  );
  return rows;
}

/**
 * How the cost per Service grows from the smallest to the largest converged cold start
 * (1.00 = linear). With three sizes or more it compares the marginal cost per Service between
 * the two largest sizes with that between the two smallest, so a fixed start-up cost (Node.js
 * starting, the first lists) does not count; with two, the average cost per Service.
 * Undefined with fewer than two converged runs.
 */
export function linearity(
  runs: readonly ColdStartRun[],
):
  | { cpu: number; time: number; from: number; to: number; method: "marginal" | "average" }
  | undefined {
  const ok = runs.filter((x) => x.converged && x.cpuSeconds !== undefined);
  if (ok.length < 2) return undefined;
  const [a, b] = [ok[0]!, ok[1]!];
  const [y, z] = [ok.at(-2)!, ok.at(-1)!];
  const cpu = (r: ColdStartRun) => r.cpuSeconds!;
  const time = (r: ColdStartRun) => r.convergedSeconds;
  if (ok.length >= 3) {
    const slope = (f: (r: ColdStartRun) => number, p: ColdStartRun, q: ColdStartRun) =>
      (f(q) - f(p)) / (q.services - p.services);
    return {
      cpu: slope(cpu, y, z) / slope(cpu, a, b),
      time: slope(time, y, z) / slope(time, a, b),
      from: a.services,
      to: z.services,
      method: "marginal",
    };
  }
  const per = (f: (r: ColdStartRun) => number, r: ColdStartRun) => f(r) / r.services;
  return {
    cpu: per(cpu, b) / per(cpu, a),
    time: per(time, b) / per(time, a),
    from: a.services,
    to: b.services,
    method: "average",
  };
}
