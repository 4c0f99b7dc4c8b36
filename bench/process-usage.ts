// CPU time and memory of a process, from /proc (Linux), for the figures of the benchmark.
import { execFileSync } from "node:child_process";
import { readFile } from "node:fs/promises";

/** What /proc says about one process now. */
export interface ProcessUsage {
  /** User plus system CPU time of every thread, seconds. */
  cpuSeconds: number;
  /** Resident set size now, bytes (VmRSS). */
  rssBytes: number;
  /** Peak resident set size since the process started, bytes (VmHWM). */
  peakRssBytes: number;
}

/**
 * utime + stime (fields 14 and 15 of /proc/<pid>/stat), in clock ticks. The command name in
 * field 2 may hold spaces and parentheses, so fields are counted after its last ")".
 */
export function parseCpuTicks(stat: string): number {
  const close = stat.lastIndexOf(")");
  if (close < 0) throw new Error(`not a /proc/<pid>/stat line: ${stat.slice(0, 80)}`);
  // After ")": field 3 (state) is the first; utime is field 14, stime field 15.
  const fields = stat
    .slice(close + 2)
    .trim()
    .split(/\s+/);
  const utime = Number(fields[11]);
  const stime = Number(fields[12]);
  if (!Number.isFinite(utime) || !Number.isFinite(stime)) {
    throw new Error(`no utime/stime in /proc/<pid>/stat: ${stat.slice(0, 80)}`);
  }
  return utime + stime;
}

/** A `kB` line of /proc/<pid>/status (`VmRSS`, `VmHWM`), in bytes; undefined if absent. */
export function parseStatusBytes(status: string, field: string): number | undefined {
  const m = new RegExp(`^${field}:\\s+(\\d+)\\s+kB$`, "m").exec(status);
  return m ? Number(m[1]) * 1024 : undefined;
}

let ticksPerSecond: number | undefined;

/** Clock ticks per second (`getconf CLK_TCK`; 100 on every Linux we know if that fails). */
export function clockTicksPerSecond(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim());
    } catch {
      ticksPerSecond = 100;
    }
    if (!(ticksPerSecond > 0)) ticksPerSecond = 100;
  }
  return ticksPerSecond;
}

/** Reads /proc/<pid>/stat and /proc/<pid>/status. Throws if the process is gone. */
export async function readProcessUsage(pid: number): Promise<ProcessUsage> {
  const [stat, status] = await Promise.all([
    readFile(`/proc/${pid}/stat`, "utf8"),
    readFile(`/proc/${pid}/status`, "utf8"),
  ]);
  return {
    cpuSeconds: parseCpuTicks(stat) / clockTicksPerSecond(),
    rssBytes: parseStatusBytes(status, "VmRSS") ?? 0,
    peakRssBytes: parseStatusBytes(status, "VmHWM") ?? 0,
  };
}
