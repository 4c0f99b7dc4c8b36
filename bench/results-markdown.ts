// The figures of one run as Markdown: what BENCHMARKS.md shows between its markers.
import type { BenchResults, ColdStartRun, LagFigures, LatencyPhase } from "./bench-results.ts";
import { evaluateGoals, linearity } from "./goals.ts";
import type { Summary } from "./summarize.ts";
import { ratio } from "./summarize.ts";

const dash = "—";
const num = (n: number | undefined, digits = 1) => (n === undefined ? dash : n.toFixed(digits));
const int = (n: number | undefined) =>
  n === undefined ? dash : Math.round(n).toLocaleString("en");
const pcts = (s: Summary | undefined) =>
  s ? `${num(s.p50)} / ${num(s.p95)} / ${num(s.p99)}` : dash;
const times = (r: number | undefined) => (r === undefined ? dash : `${r.toFixed(2)}×`);

function lagCells(lag: LagFigures): string[] {
  return [
    `${num(lag.probeP99Ms, 0)} / ${num(lag.probeMaxMs, 0)}`,
    `${num(lag.eventLoopP99Ms, 0)} / ${num(lag.eventLoopMaxMs, 0)}`,
  ];
}

/** A Markdown table with its columns padded to one width (as the repository's formatter writes it). */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => (r[i] ?? "").length)),
  );
  const line = (cells: string[]) =>
    `| ${widths.map((w, i) => (cells[i] ?? "").padEnd(w)).join(" | ")} |`;
  return [line(header), line(widths.map((w) => "-".repeat(w))), ...rows.map(line)].join("\n");
}

const coldHeader = [
  "Services × endpoints",
  "prod. nodes",
  "converged in (s)",
  "writes / minimum",
  "write errors",
  "Events",
  "peak RSS (MiB)",
  "CPU (s)",
  "/healthz p99 / longest unanswered (ms)",
  "event loop p99 / max (ms)",
];

function coldRow(r: ColdStartRun): string[] {
  return [
    `${int(r.services)} × ${r.endpointsPerService}`,
    int(r.productionNodes),
    r.converged ? num(r.convergedSeconds) : `not converged (${int(r.servicesConverged)} done)`,
    `${int(r.writes)} / ${int(r.minimumWrites)}`,
    int(r.writeErrors),
    int(r.events),
    num(r.peakRssMiB, 0),
    num(r.cpuSeconds),
    ...lagCells(r.lag),
  ];
}

function phaseRow(forwarder: string, phase: string, p: LatencyPhase): string[] {
  return [
    forwarder,
    phase,
    `${p.completed}/${p.changes}`,
    num(p.rate),
    pcts(p.inCluster),
    pcts(p.hop),
    pcts(p.endToEnd),
    num(p.cpuPerChangeMs, 2),
  ];
}

export function renderResultsMarkdown(r: BenchResults, chartPath: string): string {
  const out: string[] = [];
  const m = r.machine;
  out.push(
    `Run of ${r.startedAt} (\`${r.command}\`), sections: ${r.options.sections.join(", ")}.`,
    "",
    table(
      ["machine", ""],
      [
        ["CPUs (nproc)", String(m.nproc)],
        ["CPU model", m.cpuModel],
        ["memory", `${m.memoryGiB} GiB`],
        ["kernel", m.kernel],
        ["Node.js", m.node],
        ["Kubernetes", m.kubernetes ?? dash],
        ["load average (1 min) at start", String(m.loadAverageAtStart)],
      ],
    ),
    "",
    "Settings:",
    "",
    ...Object.entries(r.settings).map(([k, v]) => `- ${k}: ${v}`),
    "",
    "### Goals",
    "",
    table(
      ["goal", "measured", "status", "margin", "note"],
      evaluateGoals(r).map((g) => [g.goal, g.measured, g.status, g.margin || dash, g.note ?? ""]),
    ),
    "",
  );

  const p = r.propagation;
  if (p) {
    out.push(
      "### 1. Propagation latency",
      "",
      `${int(p.services)} Services with one peak Pod each; ${int(p.changesPerPhase)} changes per phase; churn at ${p.churnPerSecond} changes/s. Latencies in ms as p50 / p95 / p99.`,
      "",
      table(
        [
          "hop",
          "phase",
          "changes seen",
          "changes/s",
          "in-cluster (patch → peak slice)",
          "hop (peak slice → production slice)",
          "end to end (patch → production slice)",
          "CPU ms / change",
        ],
        [
          phaseRow("kubeburst", "idle", p.kubeburst.idle),
          phaseRow("kubeburst", "churn", p.kubeburst.churn),
          phaseRow("bare relay", "idle", p.relay.idle),
          phaseRow("bare relay", "churn", p.relay.churn),
        ],
      ),
      "",
      table(
        ["ratio", "idle", "churn"],
        [
          [
            "kubeburst p99 / in-cluster p99",
            times(ratio(p.kubeburst.idle.hop?.p99, p.kubeburst.idle.inCluster?.p99)),
            times(ratio(p.kubeburst.churn.hop?.p99, p.kubeburst.churn.inCluster?.p99)),
          ],
          [
            "kubeburst p99 / relay p99",
            times(ratio(p.kubeburst.idle.hop?.p99, p.relay.idle.hop?.p99)),
            times(ratio(p.kubeburst.churn.hop?.p99, p.relay.churn.hop?.p99)),
          ],
          [
            "kubeburst CPU per change / relay's",
            times(ratio(p.kubeburst.idle.cpuPerChangeMs, p.relay.idle.cpuPerChangeMs)),
            times(ratio(p.kubeburst.churn.cpuPerChangeMs, p.relay.churn.cpuPerChangeMs)),
          ],
        ],
      ),
      "",
      `Peak RSS: kubeburst ${num(p.kubeburst.peakRssMiB, 0)} MiB, bare relay ${num(p.relay.peakRssMiB, 0)} MiB.`,
      "",
    );
  }

  if (r.coldStart && r.coldStart.length > 0) {
    const lin = linearity(r.coldStart);
    out.push(
      "### 2. Cold start",
      "",
      table(coldHeader, r.coldStart.map(coldRow)),
      "",
      lin
        ? `Cost per Service from ${int(lin.from)} to ${int(lin.to)} Services (${lin.method === "marginal" ? "marginal: between the two largest sizes against between the two smallest" : "average"}): CPU ×${lin.cpu.toFixed(2)}, time ×${lin.time.toFixed(2)} (1.00 = linear).`
        : "Linearity: needs two converged sizes.",
      "",
      `![cold start scaling](${chartPath})`,
      "",
    );
  }
  if (r.endpoints) {
    out.push("### 3. 100,000 endpoints", "", table(coldHeader, [coldRow(r.endpoints)]), "");
  }
  if (r.nodes) {
    const n = r.nodes;
    out.push(
      `### 4. Production with ${int(n.nodes)} nodes`,
      "",
      table(coldHeader, [coldRow(n.coldStart)]),
      "",
      n.resync
        ? table(
            [
              "resync",
              "observed",
              "window (s)",
              "writes",
              "no-op reconciles",
              "/healthz p99 / longest unanswered (ms)",
              "event loop p99 / max (ms)",
            ],
            [
              [
                `resyncPeriod ${n.resyncPeriodSeconds} s`,
                String(n.resync.observed),
                num(n.resync.seconds),
                int(n.resync.writes),
                int(n.resync.noopReconciles),
                ...lagCells(n.resync.lag),
              ],
            ],
          )
        : "No resync measured: the cold start did not converge.",
      ...(n.resync?.problem ? ["", `Resync: ${n.resync.problem}.`] : []),
      "",
    );
  }
  if (r.steady) {
    const s = r.steady;
    out.push(
      `### 5. Steady state: one Service with ${int(s.endpoints)} endpoints`,
      "",
      `${s.slices} slices of ours; ${int(s.initialWrites)} writes to converge.`,
      "",
      table(
        ["change in the peak", "slice writes", "seen in production after (s)"],
        [
          ...s.steps.map((step) => [step.change, int(step.writes), num(step.seconds, 2)]),
          [
            `no-op resync (observed: ${s.resync.observed}${s.resync.problem ? `; ${s.resync.problem}` : ""})`,
            int(s.resync.writes),
            dash,
          ],
        ],
      ),
      "",
    );
  }
  if (r.core) {
    out.push(
      "### Pure core: mirroring one peak slice",
      "",
      table(
        ["endpoints in the peak slice", "slices of ours", "plan (µs)", "plan + no-op compare (µs)"],
        r.core.map((u) => [int(u.endpoints), String(u.slices), num(u.planUs), num(u.noopUs)]),
      ),
      "",
    );
  }
  if (r.burst) {
    out.push(
      "### Burst latency (data path)",
      "",
      `Peak Pod Ready → first request it serves through the production ClusterIP, ${r.burst.trials} trials: p50 ${r.burst.p50Ms} ms, max ${r.burst.maxMs} ms.`,
      "",
    );
  }
  const problems = Object.entries(r.problems);
  if (problems.length > 0) {
    out.push("### Problems", "", ...problems.map(([s, why]) => `- ${s}: ${why}`), "");
  }
  return out.join("\n").trimEnd();
}
