import path from "node:path";
import { kindOf } from "../config/config-error.ts";
import { quote } from "../config/quote.ts";
import { EXEC_API_VERSIONS, type ExecApiVersion, type ExecPlugin } from "./kubeconfig.ts";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function isExecApiVersion(value: string): value is ExecApiVersion {
  return (EXEC_API_VERSIONS as readonly string[]).includes(value);
}

function readApiVersion(value: unknown, where: string, problems: string[]): ExecApiVersion {
  const use = `use ${EXEC_API_VERSIONS.map(quote).join(" or ")}`;
  if (typeof value === "string" && isExecApiVersion(value)) return value;
  if (value === undefined || value === null || value === "") {
    problems.push(`${where}: required field is missing; ${use}`);
  } else if (typeof value !== "string") {
    problems.push(`${where}: expected a string, got ${kindOf(value)}`);
  } else {
    problems.push(`${where}: ${quote(value)} is not supported; ${use}`);
  }
  return EXEC_API_VERSIONS[0];
}

function readArgs(value: unknown, where: string, problems: string[]): string[] {
  if (!isSet(value)) return [];
  if (!Array.isArray(value)) {
    problems.push(`${where}: expected a list of strings, got ${kindOf(value)}`);
    return [];
  }
  const args: string[] = [];
  for (const [index, arg] of value.entries()) {
    if (typeof arg === "string") args.push(arg);
    else problems.push(`${where}[${index}]: expected a string, got ${kindOf(arg)}`);
  }
  return args;
}

function readEnv(value: unknown, where: string, problems: string[]): ExecPlugin["env"] {
  if (!isSet(value)) return [];
  if (!Array.isArray(value)) {
    problems.push(`${where}: expected a list of {name, value}, got ${kindOf(value)}`);
    return [];
  }
  const env: { name: string; value: string }[] = [];
  for (const [index, item] of value.entries()) {
    const at = `${where}[${index}]`;
    if (!isRecord(item)) {
      problems.push(`${at}: expected a mapping with name and value, got ${kindOf(item)}`);
      continue;
    }
    const name = item.name;
    const text = item.value ?? "";
    if (typeof name !== "string" || name === "" || name.includes("=")) {
      problems.push(
        name === undefined || name === null || name === ""
          ? `${at}.name: required field is missing`
          : `${at}.name: expected a variable name (a string without "=")`,
      );
    } else if (typeof text !== "string") {
      problems.push(`${at}.value: expected a string, got ${kindOf(text)}`);
    } else {
      env.push({ name, value: text });
    }
  }
  return env;
}

/**
 * Reads a user's `exec` block (`where` is its field path, e.g. `users[0].user.exec`), pushing a
 * problem naming the field for each thing wrong with it. `folder`: the kubeconfig file's folder,
 * against which a relative command with a `/` in it is resolved, as kubectl does (a bare name is
 * looked up in PATH). `interactiveMode: Always` is refused: kubeburst runs without a terminal.
 * Returns undefined when a problem was found.
 */
export function readExecPlugin(
  value: unknown,
  where: string,
  folder: string | undefined,
  problems: string[],
): ExecPlugin | undefined {
  if (!isRecord(value)) {
    problems.push(`${where}: expected a mapping, got ${kindOf(value)}`);
    return undefined;
  }
  const before = problems.length;
  const apiVersion = readApiVersion(value.apiVersion, `${where}.apiVersion`, problems);
  let command = value.command;
  if (typeof command !== "string" || command === "") {
    problems.push(
      command === undefined || command === null || command === ""
        ? `${where}.command: required field is missing`
        : `${where}.command: expected a string, got ${kindOf(command)}`,
    );
    command = "";
  } else if (folder !== undefined && command.includes("/") && !path.isAbsolute(command)) {
    command = path.resolve(folder, command);
  }
  const args = readArgs(value.args, `${where}.args`, problems);
  const env = readEnv(value.env, `${where}.env`, problems);
  const provideClusterInfo = value.provideClusterInfo ?? false;
  if (typeof provideClusterInfo !== "boolean") {
    problems.push(
      `${where}.provideClusterInfo: expected true or false, got ${kindOf(provideClusterInfo)}`,
    );
  }
  const mode = value.interactiveMode;
  if (mode === "Always") {
    problems.push(
      `${where}.interactiveMode: "Always" needs a terminal, and kubeburst runs without one; use a plugin that runs unattended (interactiveMode Never or IfAvailable)`,
    );
  } else if (isSet(mode) && mode !== "Never" && mode !== "IfAvailable") {
    problems.push(
      `${where}.interactiveMode: ${typeof mode === "string" ? quote(mode) : kindOf(mode)} is not allowed; use one of: Never, IfAvailable`,
    );
  }
  const installHint = value.installHint;
  if (isSet(installHint) && typeof installHint !== "string") {
    problems.push(`${where}.installHint: expected a string, got ${kindOf(installHint)}`);
  }
  if (problems.length > before) return undefined;
  return {
    apiVersion,
    command: command as string,
    args,
    env,
    provideClusterInfo: provideClusterInfo === true,
    installHint: typeof installHint === "string" && installHint !== "" ? installHint : undefined,
  };
}
