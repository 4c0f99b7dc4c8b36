// `make bench`: runs the benchmark's sections and prints their figures and ratios, never
// asserting a timing. Writes bench/results/latest.json, latest.md and scaling.svg (and, with
// --update-doc, the figures in BENCHMARKS.md). See BENCHMARKS.md for the method.
//
//   npx node bench/run.ts --help
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { BenchCloud, maxEndpointsPerService, peakControllerManagerArgs } from "./bench-cloud.ts";
import { cloudSections, parseBenchOptions, type SectionName, usage } from "./bench-options.ts";
import type { BenchResults } from "./bench-results.ts";
import { run as burstLatency } from "./burst-latency.ts";
import { Cleanup } from "./cleanup.ts";
import type { BenchContext } from "./cold-start.ts";
import { readMachineInfo } from "./machine-info.ts";
import { run as coreCost } from "./mirror.bench.ts";
import { runPropagationSection } from "./propagation.ts";
import { formatJson } from "./results-json.ts";
import { renderResultsMarkdown } from "./results-markdown.ts";
import { ScaleSections } from "./scale-sections.ts";
import { renderScalingChart } from "./scaling-chart.ts";
import { runSteadySection } from "./steady-state.ts";

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const resultsDir = path.join(repo, "bench/results");
const FIGURES_BEGIN = "<!-- figures:begin (written by `npx node bench/run.ts --update-doc`) -->";
const FIGURES_END = "<!-- figures:end -->";

const parsed = parseBenchOptions(process.argv.slice(2));
if (parsed.ok === "help") {
  process.stdout.write(usage);
  process.exit(0);
}
if (parsed.ok === false) {
  process.stderr.write(`bench: ${parsed.message}\n\n${usage}`);
  process.exit(2);
}
const options = parsed.options;
// kubeburst's default level: the benchmark measures the product as operators run it.
process.env.KUBEBURST_LOG_LEVEL ??= "info";

const t0 = Date.now();
const log = (line: string) => {
  const s = ((Date.now() - t0) / 1000).toFixed(0).padStart(5);
  process.stdout.write(`[${s} s] ${line}\n`);
};

const cleanup = new Cleanup();
let stopping = false;
for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    log(`${signal}: stopping every process and deleting what the benchmark made`);
    void cleanup.runAll(log).finally(() => process.exit(130));
  });
}

const results: BenchResults = {
  startedAt: new Date(t0).toISOString(),
  command: `npx node bench/run.ts ${process.argv.slice(2).join(" ")}`.trim(),
  options,
  machine: await readMachineInfo(),
  settings: {
    "kubeburst client":
      "no client-side rate limit: src/kube/kube-client.ts has no QPS or burst setting; one keep-alive https.Agent per API server with at most 32 sockets; 30 s deadline per call",
    "kubeburst config": `defaults (workers 8, queue.qps 10 / burst 100 for retries only, discoveryInterval 30 s, endpointslice mode, 100 endpoints per slice) except resyncPeriod (600 s; nodes section: see there; steady: ${options.steady.resyncSeconds} s), peak maxEndpointsPerService ${maxEndpointsPerService}, metrics.address 127.0.0.1:0`,
    "kubeburst log level": process.env.KUBEBURST_LOG_LEVEL,
    "kubeburst process":
      "`node bin/kubeburst.js run --config …` (TypeScript run by Node's type stripping), one fresh process per measurement",
    "peak kube-controller-manager": `endpointslice-controller and endpointslice-mirroring-controller, ${peakControllerManagerArgs.join(" ")} (defaults 20 / 30 would throttle the baseline under churn), other flags default (5 concurrent syncs, batch period 0)`,
    "bare relay":
      "bench/bare-relay.ts: one watch on the peak's kcm slices, one server-side apply per event (in order per slice), same Node.js and src/kube/kube-client.ts as kubeburst",
    "API servers":
      "per cluster one etcd (tmpfs, --unsafe-no-fsync) and one kube-apiserver on loopback, priority and fairness off, no kubelet; each cluster has an extra ServiceCIDR (production 198.19.128.0/18, peak 198.19.192.0/18) beside its /24",
    "set-up clients": "the benchmark's own KubeClient, 12 to 24 requests in flight",
    lag: "/healthz probed every 100 ms from a separate process, each probe after the previous answered; prom-client's nodejs_eventloop_lag_* read from /metrics when exported (each scrape covers the time since the previous one)",
    timestamps:
      "performance.now() in the benchmark process when a watch event arrives; a change's start is just before its PATCH is sent",
  },
  problems: {},
};

async function writeOutputs(): Promise<void> {
  await mkdir(resultsDir, { recursive: true });
  results.finishedAt = new Date().toISOString();
  await writeFile(path.join(resultsDir, "latest.json"), formatJson(results));
  const points = (results.coldStart ?? [])
    .filter((r) => r.converged && r.cpuSeconds !== undefined)
    .map((r) => ({
      services: r.services,
      convergedSeconds: r.convergedSeconds,
      cpuSeconds: r.cpuSeconds!,
    }));
  await writeFile(
    path.join(resultsDir, "scaling.svg"),
    renderScalingChart(
      points,
      `${results.machine.nproc} CPUs, ${results.machine.cpuModel}; ${results.startedAt}`,
    ),
  );
  const markdown = renderResultsMarkdown(results, "bench/results/scaling.svg");
  await writeFile(path.join(resultsDir, "latest.md"), `${markdown}\n`);
  if (options.updateDoc) {
    const doc = path.join(repo, "BENCHMARKS.md");
    const text = await readFile(doc, "utf8");
    const begin = text.indexOf(FIGURES_BEGIN);
    const end = text.indexOf(FIGURES_END);
    if (begin < 0 || end < begin) {
      log(`BENCHMARKS.md has no figure markers; figures only in bench/results/latest.md`);
    } else {
      const updated = `${text.slice(0, begin + FIGURES_BEGIN.length)}\n\n${markdown}\n\n${text.slice(end)}`;
      await writeFile(doc, updated);
    }
  }
}

/** Runs section `name` if selected, keeps its figures with `store`, and writes the outputs. */
async function section<T>(
  name: SectionName,
  f: () => Promise<T | undefined>,
  store: (figures: T) => void,
): Promise<void> {
  if (!options.sections.includes(name) || stopping) return;
  log(`── ${name}`);
  try {
    const figures = await f();
    if (figures !== undefined) store(figures);
  } catch (err) {
    if (stopping) return;
    results.problems[name] = (err as Error).message.split("\n")[0]!;
    log(`${name} failed: ${(err as Error).stack ?? err}`);
  } finally {
    await writeOutputs();
  }
}

try {
  await section("core", coreCost, (f) => {
    results.core = f;
  });
  if (options.sections.some((s) => cloudSections.includes(s))) {
    log("starting the local cloud (production and peak)");
    const bc = await BenchCloud.start({
      peakControllerManager: options.sections.includes("propagation"),
      log,
    });
    const unregister = cleanup.add("local cloud", () => bc.close());
    log(`local cloud ${bc.cloud.runId}: logs in ${bc.dir} (kept with KUBEBURST_KEEP_LOGS=1)`);
    try {
      results.machine.kubernetes = await bc.kubernetesVersion();
      const ctx: BenchContext = { bc, cleanup, log };
      const scale = new ScaleSections(ctx, options.coldStartEndpoints);
      // Small sets first, each removed after its section; the cold-start set grows and stays
      // for the nodes section, which is last.
      await section(
        "propagation",
        () => runPropagationSection(ctx, options.propagation),
        (f) => {
          results.propagation = f;
        },
      );
      await section(
        "steady",
        () => runSteadySection(ctx, options.steady.endpoints, options.steady.resyncSeconds),
        (f) => {
          results.steady = f;
        },
      );
      await section(
        "endpoints",
        () => scale.endpoints(options.endpoints.services, options.endpoints.perService),
        (f) => {
          results.endpoints = f;
        },
      );
      await section(
        "cold-start",
        () => scale.coldStart(options.coldStartSizes),
        (f) => {
          results.coldStart = f;
        },
      );
      await section(
        "nodes",
        () => scale.nodes(options.nodes.count, options.nodes.services, options.nodes.resyncSeconds),
        (f) => {
          results.nodes = f;
        },
      );
    } finally {
      log("stopping the local cloud");
      await bc.close();
      unregister();
    }
  }
  await section(
    "burst",
    () => burstLatency(options.burstTrials, options.ipFamily),
    (f) => {
      results.burst = f;
    },
  );
} catch (err) {
  log(`bench failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  await cleanup.runAll(log);
  await writeOutputs();
}
if (!stopping) {
  process.stdout.write(`\n${await readFile(path.join(resultsDir, "latest.md"), "utf8")}`);
  log(
    `results in ${path.relative(process.cwd(), resultsDir)}/ (latest.json, latest.md, scaling.svg)`,
  );
}
