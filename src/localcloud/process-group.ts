import { type ChildProcess, spawn } from "node:child_process";
import { createWriteStream } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** A process the local cloud started, with where its output goes. */
export interface StartedProcess {
  name: string;
  pid: number;
  logFile: string;
  child: ChildProcess;
  /** Settles when the process has exited. */
  exited: Promise<number | null>;
}

/**
 * Starts processes with their output in log files and stops each by its own PID, never by
 * name. `stopAll` stops them in reverse start order: SIGTERM, then SIGKILL after a grace period.
 */
export class ProcessGroup {
  readonly #logDir: string;
  readonly #procs: StartedProcess[] = [];

  constructor(logDir: string) {
    this.#logDir = logDir;
  }

  /** Starts `command args`; its stdout and stderr go to `<logDir>/<name>.log`. */
  start(name: string, command: string, args: string[], env?: NodeJS.ProcessEnv): StartedProcess {
    const logFile = path.join(this.#logDir, `${name}.log`);
    const log = createWriteStream(logFile, { flags: "a" });
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: env ?? process.env,
    });
    child.stdout?.pipe(log);
    child.stderr?.pipe(log);
    const exited = new Promise<number | null>((resolve) => {
      child.once("exit", (code, sig) => resolve(code ?? (sig ? 128 : null)));
      child.once("error", (err) => {
        log.write(`spawn failed: ${err.message}\n`);
        resolve(127);
      });
    });
    if (child.pid === undefined) {
      // spawn failed synchronously (ENOENT): the error event says why.
      const proc: StartedProcess = { name, pid: -1, logFile, child, exited };
      return proc;
    }
    const proc: StartedProcess = { name, pid: child.pid, logFile, child, exited };
    this.#procs.push(proc);
    return proc;
  }

  /** Stops one process by PID and waits for it to exit. */
  async stop(proc: StartedProcess, graceMs = 5_000): Promise<void> {
    await stopProcess(proc, graceMs);
    const i = this.#procs.indexOf(proc);
    if (i >= 0) this.#procs.splice(i, 1);
  }

  /** Stops every process still running, newest first. */
  async stopAll(graceMs = 5_000): Promise<void> {
    while (this.#procs.length > 0) {
      const proc = this.#procs.pop()!;
      await stopProcess(proc, graceMs);
    }
  }

  /** PIDs of the processes still tracked. */
  pids(): number[] {
    return this.#procs.map((p) => p.pid);
  }
}

async function stopProcess(proc: StartedProcess, graceMs: number): Promise<void> {
  if (proc.child.exitCode !== null || proc.child.signalCode !== null) return;
  proc.child.kill("SIGTERM");
  const timer = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), graceMs).unref());
  if ((await Promise.race([proc.exited, timer])) === "timeout") {
    proc.child.kill("SIGKILL");
    await proc.exited;
  }
}

/** The last `lines` lines of a log file, for error messages. */
export async function tailLog(file: string, lines = 20): Promise<string> {
  try {
    const text = await readFile(file, "utf8");
    return text.trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "(no log)";
  }
}

export async function waitForOutput(
  proc: StartedProcess,
  text: string,
  timeoutMs: number,
): Promise<void> {
  await pollUntil(
    proc.name,
    proc,
    async () => (await tailLog(proc.logFile, 50)).includes(text),
    timeoutMs,
  );
}

export async function pollUntil(
  what: string,
  proc: StartedProcess,
  check: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${what} exited:\n${await tailLog(proc.logFile)}`);
    }
    try {
      if (await check()) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms:\n${await tailLog(proc.logFile)}`);
}

const nsForwarder = fileURLToPath(new URL("./ns-forwarder.ts", import.meta.url));

/**
 * Runs `ns-forwarder.ts` with `args` inside network namespace `netns` and resolves once it
 * forwards (it says so on its output); stops it and throws with its log if it exits or stays
 * silent for 20 s.
 */
export async function startNsForwarder(
  procs: ProcessGroup,
  name: string,
  netns: string,
  args: string[],
): Promise<StartedProcess> {
  const proc = procs.start(name, "ip", [
    "netns",
    "exec",
    netns,
    process.execPath,
    nsForwarder,
    ...args,
  ]);
  try {
    await waitForOutput(proc, "forwarding", 20_000);
  } catch (err) {
    await procs.stop(proc);
    throw err;
  }
  return proc;
}
