// Starts bench/healthz-probe.ts against kubeburst and keeps its probes, so that any window of
// the run can be asked how long kubeburst went unanswered.
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { ProcessGroup, StartedProcess } from "../src/localcloud/process-group.ts";
import { summarize } from "./summarize.ts";

const script = path.join(path.dirname(fileURLToPath(import.meta.url)), "healthz-probe.ts");

/** One probe: when it was sent (ms since epoch) and, once answered, after how long and whether 200. */
export interface Probe {
  sent: number;
  ms?: number;
  ok?: boolean;
}

export interface ProbeWindow {
  probes: number;
  /** 99th percentile of response times, ms (a probe still waiting counts its wait so far). */
  p99Ms?: number;
  /** The longest kubeburst went without a successful answer, ms: from the first probe left
   * unanswered (or failed) to the next answer, or to the window's end. */
  maxMs?: number;
}

/** The probes sent between `from` and `to` (ms since epoch), in order of sending. */
export function probeWindow(probes: readonly Probe[], from: number, to: number): ProbeWindow {
  const inWindow = probes.filter((p) => p.sent >= from && p.sent <= to);
  const waited = (p: Probe) =>
    p.ms !== undefined && p.sent + p.ms <= to ? p.ms : Math.max(0, to - p.sent);
  const summary = summarize(inWindow.map(waited));
  if (!summary) return { probes: 0 };
  let longest = 0;
  let since: number | undefined;
  for (const p of inWindow) {
    since ??= p.sent;
    const answered = p.ms !== undefined && p.sent + p.ms <= to;
    if (answered && p.ok !== false) {
      longest = Math.max(longest, p.sent + p.ms! - since);
      since = undefined;
    } else if (!answered) {
      break; // still waiting at `to`: counted below
    }
  }
  if (since !== undefined) longest = Math.max(longest, to - since);
  return { probes: summary.count, p99Ms: summary.p99, maxMs: longest };
}

/** The /healthz probes of one kubeburst process. */
export class LagProbe {
  readonly #probes = new Map<number, Probe>();
  readonly #procs: ProcessGroup;
  readonly #proc: StartedProcess;

  private constructor(procs: ProcessGroup, proc: StartedProcess) {
    this.#procs = procs;
    this.#proc = proc;
    const lines = createInterface({ input: proc.child.stdout! });
    lines.on("line", (line) => {
      try {
        const p = JSON.parse(line) as Probe;
        this.#probes.set(p.sent, p);
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
    return probeWindow([...this.#probes.values()], from, to);
  }

  async stop(): Promise<void> {
    await this.#procs.stop(this.#proc);
  }
}
