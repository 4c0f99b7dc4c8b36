import { readFile } from "node:fs/promises";
import http from "node:http";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ProcessGroup, type StartedProcess, startNsForwarder, tailLog } from "./process-group.ts";

const binary = fileURLToPath(new URL("../../bin/kubeburst.js", import.meta.url));

/**
 * How `kubeburst run --config <configPath>` is started: a command and its arguments, given the
 * config file and the environment kubeburst should see. The default runs this clone's
 * `bin/kubeburst.js` with the current Node; the image test runs the built image instead.
 */
export type KubeburstLauncher = (
  configPath: string,
  env: NodeJS.ProcessEnv,
) => Promise<{ command: string; args: string[] }>;

/** How {@link KubeburstProcess.start} runs kubeburst: with which launcher, in which namespace. */
export interface KubeburstStart {
  launch?: KubeburstLauncher | undefined;
  netns?: string | undefined;
  /** Added to this process's environment (a pod's, for in-cluster credentials). */
  env?: Record<string, string>;
}

const runFromClone: KubeburstLauncher = async (configPath) => ({
  command: process.execPath,
  args: [binary, "run", "--config", configPath],
});

/**
 * `kubeburst run` as a child process, the way an operator runs it: tests and the demo drive it
 * only through its config file, its metrics endpoint and the clusters. Stopped by its PID.
 */
export class KubeburstProcess {
  readonly logFile: string;
  readonly #procs: ProcessGroup;
  readonly #proc: StartedProcess;
  #metricsAddress: string | undefined;
  /** In a namespace: the Unix socket its metrics are reached through from the host. */
  #metricsSocket: string | undefined;
  /** Stopped with SIGSTOP and not continued yet. */
  #frozen = false;

  private constructor(procs: ProcessGroup, proc: StartedProcess) {
    this.#procs = procs;
    this.#proc = proc;
    this.logFile = proc.logFile;
  }

  /**
   * Starts `kubeburst run --config <configPath>` (by default from this clone; `launch` can run
   * it otherwise, e.g. in a container), logging to `<logDir>/<name>.log`. With `netns` it runs
   * inside that network namespace (as on a production node, where it reaches pod addresses:
   * reachability probes need that), and its metrics are read through a Unix socket.
   * `env` is added to this process's environment (a pod's, for in-cluster credentials).
   */
  static async start(
    configPath: string,
    logDir: string,
    name = "kubeburst",
    { launch = runFromClone, netns, env: extraEnv = {} }: KubeburstStart = {},
  ): Promise<KubeburstProcess> {
    const procs = new ProcessGroup(logDir);
    const env = {
      ...process.env,
      KUBEBURST_LOG_LEVEL: process.env.KUBEBURST_LOG_LEVEL ?? "debug",
      ...extraEnv,
    };
    const { command, args } = await launch(configPath, env);
    // `ip netns exec` execs the command: the PID stays kubeburst's own.
    const proc =
      netns === undefined
        ? procs.start(name, command, args, env)
        : procs.start(name, "ip", ["netns", "exec", netns, command, ...args], env);
    const kb = new KubeburstProcess(procs, proc);
    await kb.#waitForMetricsAddress();
    if (netns !== undefined) {
      const socket = path.join(logDir, `${name}-metrics.sock`);
      const port = kb.address.slice(kb.address.lastIndexOf(":") + 1);
      try {
        kb.#bridge = await startNsForwarder(procs, `${name}-metrics-forwarder`, netns, [
          "--to-tcp",
          socket,
          port,
        ]);
      } catch (err) {
        await kb.stop();
        throw new Error(`metrics forwarder did not start: ${String(err)}`);
      }
      kb.#metricsSocket = socket;
    }
    return kb;
  }

  #bridge: StartedProcess | undefined;

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

  /**
   * GETs a path of the health server (`/metrics`, `/readyz`); fails after `timeoutMs` (a frozen
   * process accepts the connection but never answers).
   */
  async get(urlPath: string, timeoutMs = 30_000): Promise<{ status: number; text: string }> {
    const socketPath = this.#metricsSocket;
    if (socketPath !== undefined) {
      return new Promise((resolve, reject) => {
        const req = http.get({ socketPath, path: urlPath, timeout: timeoutMs }, (res) => {
          let text = "";
          res.setEncoding("utf8");
          res.on("data", (chunk: string) => {
            text += chunk;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
          res.on("error", reject);
        });
        req.on("timeout", () =>
          req.destroy(new Error(`GET ${urlPath}: no answer in ${timeoutMs} ms`)),
        );
        req.on("error", reject);
      });
    }
    const res = await fetch(`http://${this.#metricsAddress}${urlPath}`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
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

  /** SIGTERM (SIGKILL after the grace period); resolves once it exited. A frozen process is continued first. */
  async stop(graceMs = 10_000): Promise<void> {
    this.thaw(); // a stopped process would not see SIGTERM until its grace ran out
    await this.#procs.stop(this.#proc, graceMs);
    if (this.#bridge) await this.#procs.stop(this.#bridge);
  }

  /**
   * Freezes the process with SIGSTOP, by its PID: its timers, sockets and Lease renewals all
   * stand still while the API servers carry on, as on a paused VM or a long GC pause. Always
   * {@link thaw} it (stop() does).
   */
  freeze(): void {
    if (!this.#running()) throw new Error(`kubeburst (pid ${this.pid}) is not running`);
    process.kill(this.pid, "SIGSTOP");
    this.#frozen = true;
  }

  /** Continues a process frozen by {@link freeze}. */
  thaw(): void {
    if (!this.#frozen) return;
    this.#frozen = false;
    if (this.#running()) process.kill(this.pid, "SIGCONT");
  }

  #running(): boolean {
    return this.#proc.child.exitCode === null && this.#proc.child.signalCode === null;
  }

  /** SIGKILL at once, as a crash would. */
  async kill(): Promise<void> {
    if (this.#proc.child.exitCode === null && this.#proc.child.signalCode === null) {
      this.#proc.child.kill("SIGKILL");
    }
    await this.#proc.exited;
    await this.#procs.stop(this.#proc);
    if (this.#bridge) await this.#procs.stop(this.#bridge);
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
