// `kubeburst run` as the benchmark sees it: a child process started from a config file, whose
// CPU time and memory come from /proc, whose responsiveness comes from a /healthz probe and
// prom-client's event-loop metrics, and whose writes come from /metrics. Black box: nothing
// here depends on kubeburst's internals.
import { performance } from "node:perf_hooks";
import { KubeburstProcess } from "../src/localcloud/kubeburst-process.ts";
import { ProcessGroup } from "../src/localcloud/process-group.ts";
import type { LagFigures } from "./bench-results.ts";
import { LagProbe } from "./lag-probe.ts";
import { type ProcessUsage, readProcessUsage } from "./process-usage.ts";
import { parsePromText, sumSamples } from "./prom-text.ts";

/** The figures of one /metrics scrape the benchmark uses (undefined: not exported). */
export interface Scrape {
  writes: number | undefined;
  writeErrors: number | undefined;
  noopSyncs: number | undefined;
  queueDepth: number | undefined;
}

const LAG_P99 = "nodejs_eventloop_lag_p99_seconds";
const LAG_MAX = "nodejs_eventloop_lag_max_seconds";

export class KubeburstUnderTest {
  /** performance.now() just before the process was spawned. */
  readonly startedAt: number;
  /** Date.now() at the same moment, for probe windows. */
  readonly startedAtEpoch: number;
  readonly process: KubeburstProcess;
  readonly #probe: LagProbe | undefined;
  readonly #procs: ProcessGroup;
  /**
   * prom-client resets its event-loop histogram at every scrape, so each scrape covers the time
   * since the previous one: kept by scrape time (epoch ms) to answer for any window.
   */
  readonly #lagScrapes: { at: number; p99?: number; max?: number }[] = [];

  private constructor(
    startedAt: number,
    startedAtEpoch: number,
    proc: KubeburstProcess,
    probe: LagProbe | undefined,
    procs: ProcessGroup,
  ) {
    this.startedAt = startedAt;
    this.startedAtEpoch = startedAtEpoch;
    this.process = proc;
    this.#probe = probe;
    this.#procs = procs;
  }

  /**
   * Starts `kubeburst run --config <configPath>` and, unless `probe` is false, its /healthz
   * probe (which costs kubeburst a little CPU: off where CPU per change is measured).
   */
  static async start(
    configPath: string,
    logDir: string,
    name: string,
    opts: { probe?: boolean } = {},
  ): Promise<KubeburstUnderTest> {
    const startedAt = performance.now();
    const startedAtEpoch = Date.now();
    const proc = await KubeburstProcess.start(configPath, logDir, name);
    const procs = new ProcessGroup(logDir);
    const probe =
      (opts.probe ?? true)
        ? LagProbe.start(procs, proc.address, `${name}-healthz-probe`)
        : undefined;
    const kb = new KubeburstUnderTest(startedAt, startedAtEpoch, proc, probe, procs);
    await kb.scrape(); // starts prom-client's lag window at (about) the process start
    return kb;
  }

  get pid(): number {
    return this.process.pid;
  }

  usage(): Promise<ProcessUsage> {
    return readProcessUsage(this.pid);
  }

  /**
   * Scrapes /metrics once; throws after `timeoutMs` (a kubeburst whose event loop is blocked
   * never answers, and must not hold the benchmark up).
   */
  async scrape(timeoutMs = 10_000): Promise<Scrape> {
    const res = await fetch(`http://${this.process.address}/metrics`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    const samples = parsePromText(text);
    const p99 = sumSamples(samples, LAG_P99);
    const max = sumSamples(samples, LAG_MAX);
    this.#lagScrapes.push({
      at: Date.now(),
      ...(p99 === undefined ? {} : { p99: p99 * 1000 }),
      ...(max === undefined ? {} : { max: max * 1000 }),
    });
    return {
      writes: sumSamples(samples, "kubeburst_writer_writes_total"),
      writeErrors: sumSamples(samples, "kubeburst_writer_writes_total", { result: "error" }),
      noopSyncs: sumSamples(samples, "kubeburst_writer_noop_syncs_total"),
      queueDepth: sumSamples(samples, "kubeburst_queue_depth"),
    };
  }

  /**
   * Lag over the window [from, to] (epoch ms): the /healthz probes sent in it, and the highest
   * event-loop p99 and max of the scrapes that cover it (scrape once at `to` first). The p99 of
   * a window made of several scrapes is the highest of theirs: an upper bound.
   */
  lag(from: number, to = Date.now()): LagFigures {
    const probe = this.#probe?.window(from, to) ?? { probes: 0 };
    const covering = this.#lagScrapes.filter((s, i) => {
      const previous = this.#lagScrapes[i - 1]?.at ?? this.startedAtEpoch;
      return s.at > from && previous < to;
    });
    const highest = (values: (number | undefined)[]) => {
      const present = values.filter((v): v is number => v !== undefined);
      return present.length === 0 ? undefined : Math.max(...present);
    };
    const p99 = highest(covering.map((s) => s.p99));
    const max = highest(covering.map((s) => s.max));
    return {
      probes: probe.probes,
      ...(probe.p99Ms === undefined ? {} : { probeP99Ms: probe.p99Ms }),
      ...(probe.maxMs === undefined ? {} : { probeMaxMs: probe.maxMs }),
      ...(p99 === undefined ? {} : { eventLoopP99Ms: p99 }),
      ...(max === undefined ? {} : { eventLoopMaxMs: max }),
    };
  }

  /**
   * Waits until kubeburst has gone quiet: its write count unchanged for `stableMs` and its
   * queues empty (when it reports them). A scrape that goes unanswered (a blocked event loop)
   * counts as not quiet. Returns the last scrape; throws after `timeoutMs`.
   */
  async waitQuiet(stableMs = 2000, timeoutMs = 300_000): Promise<Scrape> {
    const deadline = Date.now() + timeoutMs;
    let last: Scrape | undefined;
    let since = Date.now();
    while (Date.now() < deadline) {
      const now = await this.scrape().catch(() => undefined);
      if (!now || !last || now.writes !== last.writes || (now.queueDepth ?? 0) > 0) {
        since = Date.now();
      }
      last = now;
      if (last && Date.now() - since >= stableMs) return last;
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(`kubeburst not quiet after ${timeoutMs} ms (writes ${last?.writes ?? "?"})`);
  }

  /** Stops the probe and kubeburst (SIGTERM, then SIGKILL after 10 s). */
  async stop(): Promise<void> {
    await this.#probe?.stop().catch(() => {});
    await this.#procs.stopAll();
    await this.process.stop();
  }
}
