import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ProcessGroup, type StartedProcess, tailLog } from "./process-group.ts";

const binary = fileURLToPath(new URL("../../bin/kubeburst.js", import.meta.url));

/**
 * `kubeburst run` as a child process, the way an operator runs it: tests and the demo drive it
 * only through its config file, its metrics endpoint and the clusters. Stopped by its PID.
 */
export class KubeburstProcess {
  readonly logFile: string;
  readonly #procs: ProcessGroup;
  readonly #proc: StartedProcess;
  #metricsAddress: string | undefined;

  private constructor(procs: ProcessGroup, proc: StartedProcess) {
    this.#procs = procs;
    this.#proc = proc;
    this.logFile = proc.logFile;
  }

  /** Starts `kubeburst run --config <configPath>`, logging to `<logDir>/<name>.log`. */
  static async start(
    configPath: string,
    logDir: string,
    name = "kubeburst",
  ): Promise<KubeburstProcess> {
    const procs = new ProcessGroup(logDir);
    const proc = procs.start(name, process.execPath, [binary, "run", "--config", configPath], {
      ...process.env,
      KUBEBURST_LOG_LEVEL: process.env.KUBEBURST_LOG_LEVEL ?? "debug",
    });
    const kb = new KubeburstProcess(procs, proc);
    await kb.#waitForMetricsAddress();
    return kb;
  }

  /** `host:port` of its /metrics, /healthz and /readyz. */
  get address(): string {
    return this.#metricsAddress ?? "";
  }

  get pid(): number {
    return this.#proc.pid;
  }

  /** Resolves with the exit code once the process ended. */
  get exited(): Promise<number | null> {
    return this.#proc.exited;
  }

  /** GETs a path of the health server (`/metrics`, `/readyz`). */
  async get(urlPath: string): Promise<{ status: number; text: string }> {
    const res = await fetch(`http://${this.#metricsAddress}${urlPath}`);
    return { status: res.status, text: await res.text() };
  }

  /** The sum of a metric's samples (every label combination) matching `labels`, or 0. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number> {
    const { text } = await this.get("/metrics");
    let sum = 0;
    for (const line of text.split("\n")) {
      const m = /^([a-zA-Z_:][\w:]*)(\{[^}]*\})? ([^ ]+)$/.exec(line);
      if (!m || m[1] !== name) continue;
      const set = m[2] ?? "";
      if (Object.entries(labels).every(([k, v]) => set.includes(`${k}="${v}"`)))
        sum += Number(m[3]);
    }
    return sum;
  }

  /** Waits until /readyz answers 200. */
  async waitReady(timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < deadline) {
      if (this.#proc.child.exitCode !== null) break;
      const res = await this.get("/readyz").catch((err: unknown) => ({
        status: 0,
        text: String(err),
      }));
      if (res.status === 200) return;
      last = res.text;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(
      `kubeburst not ready after ${timeoutMs} ms (${last.trim()}):\n${await tailLog(this.logFile, 40)}`,
    );
  }

  /** The log lines (JSON) so far, parsed. */
  async logLines(): Promise<Record<string, unknown>[]> {
    const text = await readFile(this.logFile, "utf8").catch(() => "");
    return text
      .split("\n")
      .filter((l) => l.startsWith("{"))
      .map((l) => JSON.parse(l) as Record<string, unknown>);
  }

  /** SIGTERM (SIGKILL after the grace period); resolves once it exited. */
  async stop(graceMs = 10_000): Promise<void> {
    await this.#procs.stop(this.#proc, graceMs);
  }

  /** SIGKILL at once, as a crash would. */
  async kill(): Promise<void> {
    if (this.#proc.child.exitCode === null && this.#proc.child.signalCode === null) {
      this.#proc.child.kill("SIGKILL");
    }
    await this.#proc.exited;
    await this.#procs.stop(this.#proc);
  }

  async #waitForMetricsAddress(): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      for (const line of await this.logLines()) {
        if (typeof line.address === "string" && String(line.msg).startsWith("serving /metrics")) {
          this.#metricsAddress = line.address;
          return;
        }
      }
      if (this.#proc.child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const log = await tailLog(this.logFile, 40);
    await this.stop();
    throw new Error(
      `kubeburst did not start its metrics server (config in ${path.basename(this.logFile)}):\n${log}`,
    );
  }
}
