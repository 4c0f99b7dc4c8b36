import { writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { stringify } from "yaml";
import { freePorts } from "./control-plane.ts";
import { ProcessGroup, type StartedProcess, tailLog } from "./process-group.ts";

/** One sample of an instant query: its labels and its value (as Prometheus prints it). */
export interface PromSample {
  metric: Record<string, string>;
  value: string;
}

/** An alert as `/api/v1/alerts` shows it. */
export interface PromAlert {
  labels: Record<string, string>;
  state: "pending" | "firing";
  value: string;
}

export interface LocalPrometheusOptions {
  /** A folder of the caller's: config, data and log go here. */
  dir: string;
  /** `host:port` targets scraped as job `kubeburst`. */
  targets: string[];
  /** Rule files (absolute paths). */
  ruleFiles: string[];
  /** Scrape and rule evaluation interval, seconds; default 1. */
  intervalSeconds?: number;
}

/**
 * A real Prometheus server (Debian's `prometheus` package) on a loopback port, with its config
 * and data in the caller's folder, stopped by its PID. Tests use it to prove the alerting rules
 * and the dashboard's queries against what kubeburst really exports.
 */
export class LocalPrometheus {
  readonly address: string;
  readonly #procs: ProcessGroup;
  readonly #proc: StartedProcess;

  private constructor(address: string, procs: ProcessGroup, proc: StartedProcess) {
    this.address = address;
    this.#procs = procs;
    this.#proc = proc;
  }

  /** Starts it and resolves once `/-/ready` answers 200 (at most 60 s; then it is stopped). */
  static async start(opts: LocalPrometheusOptions): Promise<LocalPrometheus> {
    const [port] = await freePorts(1);
    const interval = `${opts.intervalSeconds ?? 1}s`;
    const configFile = path.join(opts.dir, "prometheus.yml");
    await writeFile(
      configFile,
      stringify({
        global: { scrape_interval: interval, evaluation_interval: interval },
        rule_files: opts.ruleFiles,
        scrape_configs: [{ job_name: "kubeburst", static_configs: [{ targets: opts.targets }] }],
      }),
    );
    const procs = new ProcessGroup(opts.dir);
    const proc = procs.start("prometheus", "prometheus", [
      `--config.file=${configFile}`,
      `--storage.tsdb.path=${path.join(opts.dir, "prometheus-data")}`,
      `--web.listen-address=127.0.0.1:${port}`,
      "--log.level=warn",
    ]);
    const prom = new LocalPrometheus(`127.0.0.1:${port}`, procs, proc);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline && proc.child.exitCode === null) {
      const ok = await fetch(`http://${prom.address}/-/ready`, {
        signal: AbortSignal.timeout(2_000),
      }).then(
        (r) => r.status === 200,
        () => false,
      );
      if (ok) return prom;
      await sleep(200);
    }
    const log = await tailLog(proc.logFile, 30);
    await prom.stop();
    throw new Error(`prometheus did not get ready on ${prom.address}:\n${log}`);
  }

  /** An instant query; throws with Prometheus's error for an invalid expression. */
  async query(expr: string): Promise<PromSample[]> {
    const data = await this.#get<{ resultType: string; result: unknown }>(
      `/api/v1/query?query=${encodeURIComponent(expr)}`,
    );
    if (data.resultType === "scalar") {
      const [, value] = data.result as [number, string];
      return [{ metric: {}, value }];
    }
    return data.result as PromSample[];
  }

  /** The alerts pending or firing now. */
  async alerts(): Promise<PromAlert[]> {
    return (await this.#get<{ alerts: PromAlert[] }>("/api/v1/alerts")).alerts;
  }

  /** Stops the server by its PID. */
  async stop(): Promise<void> {
    await this.#procs.stop(this.#proc);
  }

  async #get<T>(urlPath: string): Promise<T> {
    const res = await fetch(`http://${this.address}${urlPath}`, {
      signal: AbortSignal.timeout(30_000),
    });
    const body = (await res.json()) as { status: string; data?: T; error?: string };
    if (body.status !== "success" || body.data === undefined) {
      throw new Error(`prometheus ${urlPath}: ${body.error ?? res.status}`);
    }
    return body.data;
  }
}
