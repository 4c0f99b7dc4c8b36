import { spawn } from "node:child_process";
import { quote, shorten } from "../config/quote.ts";
import { type ExecCredentialResult, execInfo, parseExecCredential } from "./exec-credential.ts";
import type { ExecPlugin, KubeconfigCluster } from "./kubeconfig.ts";

export interface RunExecPluginOptions {
  /** The plugin is killed (SIGKILL) when it has not exited after this long, ms. */
  timeoutMs: number;
  /** The plugin is killed when it prints more than this on stdout, bytes. */
  maxOutputBytes: number;
  /** The environment the plugin's `env` is added to. Default: kubeburst's own. */
  baseEnv?: NodeJS.ProcessEnv;
}

/** What of stderr is kept for a message: its start says what went wrong. */
const STDERR_KEPT_BYTES = 4096;

function firstLine(text: string): string {
  const line = text.split("\n").find((l) => l.trim() !== "") ?? "";
  return shorten(line.trim());
}

/**
 * Runs an exec plugin once, as client-go does: its environment is `baseEnv` plus the plugin's
 * `env` plus KUBERNETES_EXEC_INFO; stdin is closed (kubeburst has no terminal); stdout must be
 * one ExecCredential. Within `timeoutMs` and `maxOutputBytes`, else the plugin is killed. Every
 * failure (command missing or not executable, non-zero exit, a signal, a deadline, too much
 * output, output that is not a usable ExecCredential) is a problem in words, never a throw.
 */
export function runExecPlugin(
  plugin: ExecPlugin,
  cluster: KubeconfigCluster,
  options: RunExecPluginOptions,
): Promise<ExecCredentialResult> {
  const env: NodeJS.ProcessEnv = { ...(options.baseEnv ?? process.env) };
  for (const { name, value } of plugin.env) env[name] = value;
  env.KUBERNETES_EXEC_INFO = execInfo(plugin, cluster);
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: ExecCredentialResult) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      resolve(result);
    };
    const fail = (problem: string) => finish({ ok: false, problem });
    const stdout: Buffer[] = [];
    let stdoutBytes = 0;
    let stderr = "";
    let stopped: string | undefined;
    const child = spawn(plugin.command, plugin.args, { env, stdio: ["ignore", "pipe", "pipe"] });
    const stop = (why: string) => {
      stopped ??= why;
      child.kill("SIGKILL");
    };
    const timer = setTimeout(
      () => stop(`the exec plugin did not finish within ${options.timeoutMs} ms and was stopped`),
      options.timeoutMs,
    );
    child.stdout.on("data", (chunk: Buffer) => {
      stdoutBytes += chunk.length;
      if (stdoutBytes > options.maxOutputBytes) {
        stop(
          `the exec plugin printed more than ${options.maxOutputBytes} bytes and was stopped (an ExecCredential takes a few KiB)`,
        );
      } else {
        stdout.push(chunk);
      }
    });
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      if (stderr.length < STDERR_KEPT_BYTES) stderr += chunk.slice(0, STDERR_KEPT_BYTES);
    });
    child.on("error", (err: NodeJS.ErrnoException) => {
      const command = quote(plugin.command);
      if (err.code === "ENOENT") {
        const hint = plugin.installHint === undefined ? "" : `; ${firstLine(plugin.installHint)}`;
        fail(`the exec plugin's command was not found (${command})${hint}`);
      } else if (err.code === "EACCES") {
        fail(`the exec plugin's command is not executable (${command})`);
      } else if (child.pid === undefined) {
        fail(
          `the exec plugin's command could not be started (${command}): ${err.code ?? err.message}`,
        );
      }
      // After a start, an error (a failed kill) is followed by "close", which settles.
    });
    child.on("close", (code, signal) => {
      if (stopped !== undefined) return fail(stopped);
      const said = firstLine(stderr);
      if (signal !== null) return fail(`the exec plugin was killed by ${signal}`);
      if (code !== 0) {
        return fail(`the exec plugin exited with code ${code}${said === "" ? "" : `: ${said}`}`);
      }
      finish(parseExecCredential(Buffer.concat(stdout).toString("utf8"), plugin));
    });
  });
}
