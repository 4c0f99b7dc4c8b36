// Runs bench/bare-relay.ts as a child process, stopped by its PID.
import path from "node:path";
import { fileURLToPath } from "node:url";
import { ProcessGroup, type StartedProcess, tailLog } from "../src/localcloud/process-group.ts";

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "bare-relay.ts");

export class RelayProcess {
  readonly #procs: ProcessGroup;
  readonly #proc: StartedProcess;

  private constructor(procs: ProcessGroup, proc: StartedProcess) {
    this.#procs = procs;
    this.#proc = proc;
  }

  /** Starts the relay; resolves once its watch is open. */
  static async start(
    peakKubeconfig: string,
    productionKubeconfig: string,
    selector: string,
    logDir: string,
  ): Promise<RelayProcess> {
    const procs = new ProcessGroup(logDir);
    const proc = procs.start("bare-relay", process.execPath, [
      script,
      peakKubeconfig,
      productionKubeconfig,
      selector,
    ]);
    const relay = new RelayProcess(procs, proc);
    const deadline = Date.now() + 30_000;
    while (!(await tailLog(proc.logFile, 5)).includes("relay: watching")) {
      if (proc.child.exitCode !== null || Date.now() > deadline) {
        const log = await tailLog(proc.logFile);
        await relay.stop();
        throw new Error(`the bare relay did not start:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return relay;
  }

  get pid(): number {
    return this.#proc.pid;
  }

  async stop(): Promise<void> {
    await this.#procs.stopAll();
  }
}
