import { execFile } from "node:child_process";
import path from "node:path";
import { promisify } from "node:util";

const bin = path.resolve(import.meta.dirname, "../../bin/kubeburst.js");

/** What one run of the CLI printed, and its exit code. */
export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the real CLI. `env` is added to this process's environment (`undefined` removes a
 * variable). A run that does not end within `timeoutMs` (default a minute) is killed, so a hang
 * fails the test.
 */
export async function runKubeburst(
  args: string[],
  env: Record<string, string | undefined> = {},
  timeoutMs = 60_000,
): Promise<CliResult> {
  const options = {
    env: { ...process.env, ...env },
    timeout: timeoutMs,
    maxBuffer: 64 * 1024 * 1024,
  };
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args], options);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}
