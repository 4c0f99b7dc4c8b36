// The machine a run measured on, read at run time.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import os from "node:os";
import { promisify } from "node:util";
import type { MachineInfo } from "./bench-results.ts";

const run = promisify(execFile);

/** nproc, CPU model, memory, kernel, Node.js version and the load when the run started. */
export async function readMachineInfo(): Promise<MachineInfo> {
  const cpuinfo = await readFile("/proc/cpuinfo", "utf8").catch(() => "");
  const meminfo = await readFile("/proc/meminfo", "utf8").catch(() => "");
  const nproc = Number((await run("nproc").catch(() => ({ stdout: "" }))).stdout.trim());
  const memKiB = Number(/^MemTotal:\s+(\d+) kB$/m.exec(meminfo)?.[1] ?? 0);
  return {
    nproc: nproc > 0 ? nproc : os.availableParallelism(),
    cpuModel:
      /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown",
    memoryGiB: Math.round((memKiB / 1024 / 1024) * 10) / 10,
    kernel: `${os.type()} ${os.release()}`,
    node: process.version,
    loadAverageAtStart: Math.round(os.loadavg()[0]! * 100) / 100,
  };
}
