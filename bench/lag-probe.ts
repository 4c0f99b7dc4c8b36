// Starts bench/healthz-probe.ts against kubeburst and keeps its answers, so that any window of
// the run can be asked how long kubeburst went unanswered.
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { ProcessGroup, StartedProcess } from "../src/localcloud/process-group.ts";
import { summarize } from "./summarize.ts";

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "healthz-probe.ts");

export interface ProbeWindow {
  probes: number;
  p99Ms?: number;
  maxMs?: number;
}

/** Response times of /healthz probes, by when each was sent (ms since epoch). */
export class LagProbe {
  readonly #samples: { sent: number; ms: number }[] = [];
  readonly #procs: ProcessGroup;
  readonly #proc: StartedProcess;

  private constructor(procs: ProcessGroup, proc: StartedProcess) {
    this.#procs = procs;
    this.#proc = proc;
    const lines = createInterface({ input: proc.child.stdout! });
    lines.on("line", (line) => {
      try {
        const s = JSON.parse(line) as { sent: number; ms: number };
        this.#samples.push({ sent: s.sent, ms: s.ms });
      } catch {
        // not a probe line
      }
    });
  }

  /** Starts probing `http://<address>/healthz` every 100 ms, as process `name` of `procs`. */
  static start(procs: ProcessGroup, address: string, name: string): LagProbe {
    const proc = procs.start(name, process.execPath, [script, `http://${address}/healthz`, "100"]);
    return new LagProbe(procs, proc);
  }

  /** The probes sent between `from` and `to` (ms since epoch; `to` defaults to now). */
  window(from: number, to = Date.now()): ProbeWindow {
    const ms = this.#samples.filter((s) => s.sent >= from && s.sent <= to).map((s) => s.ms);
    const summary = summarize(ms);
    return summary
      ? { probes: summary.count, p99Ms: summary.p99, maxMs: summary.max }
      : { probes: 0 };
  }

  async stop(): Promise<void> {
    await this.#procs.stop(this.#proc);
  }
}
