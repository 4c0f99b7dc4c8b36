import { readFileSync } from "node:fs";
import path from "node:path";
import { KubeConfig } from "@kubernetes/client-node";
import { parseDocument } from "yaml";
import type { KubeconfigSource } from "../config/cluster-spec.ts";

/** A loaded kubeconfig set to the chosen context, or every reason it was refused. */
export type LoadResult = { ok: true; kubeConfig: KubeConfig } | { ok: false; problems: string[] };

export interface LoadKubeconfigOptions {
  /** Context to use; `undefined`: the kubeconfig's `current-context`. */
  context: string | undefined;
  /** Allow exec plugins, auth providers, file references, non-https servers and skipped TLS checks. */
  allowInsecure: boolean;
  /**
   * How each refusal ends. Default: which setting would allow it. A kubeconfig from a Secret
   * can never be allowed, so its caller says so instead.
   */
  refusalHint?: string;
}

const INSECURE_HINT = "refused unless allowInsecureKubeconfig: true";

/** File-reference fields and the inline field to use instead. */
const FILE_FIELDS: Readonly<Record<string, string>> = {
  "certificate-authority": "certificate-authority-data",
  "client-certificate": "client-certificate-data",
  "client-key": "client-key-data",
  tokenFile: "token",
  "token-file": "token",
};

/** Any other cluster or user field whose name ends in `file` or `path` is taken to name a local file. */
const FILE_LIKE_KEY = /(file|path)$/i;

type Doc = Record<string, unknown>;

interface Entry {
  /** Where the entry is, e.g. `clusters[2]`. */
  at: string;
  name: string;
  /** The entry's body: `context`, `cluster` or `user`. */
  body: Doc;
}

function isRecord(value: unknown): value is Doc {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function isSet(value: unknown): boolean {
  return value !== undefined && value !== null && value !== "";
}

function readReason(error: unknown): string {
  const code = error instanceof Error && "code" in error ? error.code : undefined;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  if (code === "EISDIR") return "it is a directory";
  return error instanceof Error ? error.message : String(error);
}

function parseKubeconfigText(
  text: string,
): { ok: true; doc: Doc } | { ok: false; problem: string } {
  // `merge`: kubectl's YAML reader honours `<<` merge keys, so the checks must see them merged.
  const parsed = parseDocument(text, { uniqueKeys: true, merge: true });
  const error = parsed.errors[0];
  if (error !== undefined) {
    const where = error.linePos?.[0];
    const reason = error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, "");
    const at = where === undefined ? "" : ` at line ${where.line}, column ${where.col}`;
    return { ok: false, problem: `kubeconfig YAML syntax error${at}: ${reason}` };
  }
  let data: unknown;
  try {
    data = parsed.toJS({ maxAliasCount: 100 });
  } catch (error) {
    return { ok: false, problem: `kubeconfig YAML error: ${readReason(error)}` };
  }
  if (data === null || data === undefined) return { ok: false, problem: "kubeconfig is empty" };
  if (!isRecord(data)) {
    return {
      ok: false,
      problem:
        "kubeconfig must be a mapping (apiVersion, clusters, contexts, users, current-context)",
    };
  }
  return { ok: true, doc: data };
}

function namesIn(list: unknown): string {
  const names = Array.isArray(list)
    ? list.flatMap((item: unknown) =>
        isRecord(item) && typeof item.name === "string" ? [JSON.stringify(item.name)] : [],
      )
    : [];
  return names.length === 0 ? "it has none" : `it has ${names.join(", ")}`;
}

/**
 * The entry of `doc[listKey]` called `name`. The first of duplicates would win in client-node,
 * while kubectl refuses duplicates, so they are a problem.
 */
function findEntry(
  doc: Doc,
  listKey: "contexts" | "clusters" | "users",
  bodyKey: "context" | "cluster" | "user",
  name: string,
  referredBy: string,
  problems: string[],
): Entry | undefined {
  const list: unknown = doc[listKey];
  const matches: number[] = [];
  if (Array.isArray(list)) {
    list.forEach((item: unknown, index) => {
      if (isRecord(item) && item.name === name) matches.push(index);
    });
  }
  const [index, ...others] = matches;
  if (index === undefined) {
    problems.push(
      `${referredBy}: ${JSON.stringify(name)} names no entry in ${listKey}; ${namesIn(list)}`,
    );
    return undefined;
  }
  const at = `${listKey}[${index}]`;
  if (others.length > 0) {
    const also = others.map((other) => `${listKey}[${other}]`).join(", ");
    problems.push(
      `${at}.name: ${JSON.stringify(name)} is also the name of ${also}; names must be unique`,
    );
  }
  const item = (list as unknown[])[index] as Doc;
  const body: unknown = item[bodyKey];
  if (body === undefined || body === null) {
    // A user without credentials (anonymous) is valid; a context or cluster needs its fields.
    if (bodyKey === "user") return { at, name, body: {} };
    problems.push(`${at}.${bodyKey}: required field is missing`);
    return undefined;
  }
  if (!isRecord(body)) {
    problems.push(`${at}.${bodyKey}: expected a mapping`);
    return undefined;
  }
  return { at, name, body };
}

function requiredName(entry: Entry, key: string, problems: string[]): string | undefined {
  const value = entry.body[key];
  if (typeof value === "string" && value !== "") return value;
  const where = `${entry.at}.context.${key}`;
  problems.push(
    value === undefined || value === null || value === ""
      ? `${where}: required field is missing`
      : `${where}: expected a name (a string)`,
  );
  return undefined;
}

function checkServer(
  cluster: Entry,
  allowInsecure: boolean,
  hint: string,
  problems: string[],
): void {
  const where = `${cluster.at}.cluster.server`;
  const server = cluster.body.server;
  if (typeof server !== "string" || server === "") {
    problems.push(
      isSet(server) ? `${where}: expected a URL (a string)` : `${where}: required field is missing`,
    );
    return;
  }
  if (!URL.canParse(server)) {
    problems.push(`${where}: ${JSON.stringify(server)} is not a URL`);
    return;
  }
  if (!allowInsecure && new URL(server).protocol !== "https:") {
    problems.push(
      `${where}: ${JSON.stringify(server)} is not an https:// URL; without TLS the credentials travel unprotected; ${hint}`,
    );
  }
}

function fileReferenceProblems(
  entry: Entry,
  bodyKey: "cluster" | "user",
  sourceKind: KubeconfigSource["kind"],
  hint: string,
): string[] {
  const problems: string[] = [];
  for (const [key, value] of Object.entries(entry.body)) {
    if (!isSet(value)) continue;
    const instead = FILE_FIELDS[key];
    if (instead === undefined && !FILE_LIKE_KEY.test(key)) continue;
    const file = typeof value === "string" ? JSON.stringify(value) : "a path";
    const whose =
      sourceKind === "inline"
        ? " on kubeburst's own filesystem (an inline kubeconfig cannot carry files)"
        : "";
    const use = instead === undefined ? "an inline -data field or token" : instead;
    problems.push(
      `${entry.at}.${bodyKey}.${key}: file reference ${file} reads a local file${whose}; put the content inline with ${use}; ${hint}`,
    );
  }
  return problems;
}

function insecureClusterProblems(
  cluster: Entry,
  sourceKind: KubeconfigSource["kind"],
  hint: string,
): string[] {
  const problems: string[] = [];
  if (cluster.body["insecure-skip-tls-verify"] === true) {
    problems.push(
      `${cluster.at}.cluster.insecure-skip-tls-verify: true turns off the check of the server's certificate; ${hint}`,
    );
  }
  problems.push(...fileReferenceProblems(cluster, "cluster", sourceKind, hint));
  return problems;
}

function insecureUserProblems(
  user: Entry,
  sourceKind: KubeconfigSource["kind"],
  hint: string,
): string[] {
  const problems: string[] = [];
  if (isSet(user.body.exec)) {
    problems.push(`${user.at}.user.exec: exec plugins run a local program; ${hint}`);
  }
  if (isSet(user.body["auth-provider"])) {
    problems.push(
      `${user.at}.user.auth-provider: auth providers run a local program, read local files or fetch tokens; ${hint}`,
    );
  }
  problems.push(...fileReferenceProblems(user, "user", sourceKind, hint));
  return problems;
}

/** Relative file references of a kubeconfig file are relative to its folder, as in kubectl. */
function resolveFiles(body: Doc, folder: string | undefined): Doc {
  const out: Doc = { ...body };
  if (folder === undefined) return out;
  for (const [key, value] of Object.entries(out)) {
    const isFile = FILE_FIELDS[key] !== undefined || FILE_LIKE_KEY.test(key);
    if (isFile && typeof value === "string" && value !== "" && !path.isAbsolute(value)) {
      out[key] = path.resolve(folder, value);
    }
  }
  return out;
}

/**
 * Replaces a token file (`tokenFile`, or client-node's `token-file`) by its content: client-node
 * knows only `token-file` and would throw a message that names no field.
 */
function inlineTokenFile(user: Entry, body: Doc, problems: string[]): Doc {
  if (isSet(body.token)) return body;
  for (const key of ["tokenFile", "token-file"]) {
    const file = body[key];
    if (typeof file !== "string" || file === "") continue;
    const { tokenFile: _camel, "token-file": _kebab, ...rest } = body;
    try {
      return { ...rest, token: readFileSync(file, "utf8").trim() };
    } catch (error) {
      problems.push(`${user.at}.user.${key}: cannot read ${file}: ${readReason(error)}`);
      return rest;
    }
  }
  return body;
}

/**
 * Loads a kubeconfig safely: reads it (a file synchronously, or inline text), parses the YAML,
 * and checks only the entries the chosen context uses (`options.context`, else
 * `current-context`). Unless `options.allowInsecure`, refuses a non-https server,
 * `insecure-skip-tls-verify: true`, exec plugins, auth providers and every file reference
 * (only the `-data` fields and `token` are inline). A missing context, cluster or user, an
 * unreadable file and invalid YAML are always problems. Every problem is reported at once, each
 * naming its field. Only the chosen context, cluster and user are handed to client-node, as the
 * document that was checked, so unrelated entries can neither break loading nor make it read
 * files. Never throws.
 */
export function loadKubeconfig(
  source: KubeconfigSource,
  options: LoadKubeconfigOptions,
): LoadResult {
  const hint = options.refusalHint ?? INSECURE_HINT;
  let text: string;
  if (source.kind === "path") {
    try {
      text = readFileSync(source.path, "utf8");
    } catch (error) {
      return {
        ok: false,
        problems: [`cannot read kubeconfig ${source.path}: ${readReason(error)}`],
      };
    }
  } else {
    text = source.text;
  }
  const parsed = parseKubeconfigText(text);
  if (!parsed.ok) return { ok: false, problems: [parsed.problem] };
  const doc = parsed.doc;

  const problems: string[] = [];
  let contextName = options.context;
  let referredBy = "context setting";
  if (contextName === undefined) {
    const current = doc["current-context"];
    referredBy = "current-context";
    if (typeof current === "string" && current !== "") {
      contextName = current;
    } else {
      problems.push(
        isSet(current)
          ? "current-context: expected a context name (a string)"
          : `current-context: not set and no context was chosen; set context in the cluster settings or current-context in the kubeconfig (${namesIn(doc.contexts)})`,
      );
      return { ok: false, problems };
    }
  }
  const context = findEntry(doc, "contexts", "context", contextName, referredBy, problems);
  if (context === undefined) return { ok: false, problems };

  const clusterName = requiredName(context, "cluster", problems);
  const userName = requiredName(context, "user", problems);
  const cluster =
    clusterName === undefined
      ? undefined
      : findEntry(
          doc,
          "clusters",
          "cluster",
          clusterName,
          `${context.at}.context.cluster`,
          problems,
        );
  const user =
    userName === undefined
      ? undefined
      : findEntry(doc, "users", "user", userName, `${context.at}.context.user`, problems);
  if (cluster !== undefined) {
    checkServer(cluster, options.allowInsecure, hint, problems);
    if (!options.allowInsecure) {
      problems.push(...insecureClusterProblems(cluster, source.kind, hint));
    }
  }
  if (user !== undefined && !options.allowInsecure) {
    problems.push(...insecureUserProblems(user, source.kind, hint));
  }
  if (cluster === undefined || user === undefined || problems.length > 0) {
    return { ok: false, problems };
  }

  const folder = source.kind === "path" ? path.dirname(source.path) : undefined;
  const userBody = inlineTokenFile(user, resolveFiles(user.body, folder), problems);
  if (problems.length > 0) return { ok: false, problems };
  const checked = {
    apiVersion: "v1",
    kind: "Config",
    "current-context": context.name,
    contexts: [{ name: context.name, context: context.body }],
    clusters: [{ name: cluster.name, cluster: resolveFiles(cluster.body, folder) }],
    users: [{ name: user.name, user: userBody }],
  };
  const kubeConfig = new KubeConfig();
  try {
    // JSON is YAML: client-node's own parser reads exactly the document that was checked.
    kubeConfig.loadFromString(JSON.stringify(checked));
    kubeConfig.setCurrentContext(context.name);
  } catch (error) {
    // Not expected after the checks above (client-node refuses e.g. an empty entry name).
    return { ok: false, problems: [`kubeconfig could not be loaded: ${readReason(error)}`] };
  }
  if (kubeConfig.getCurrentCluster() === null || kubeConfig.getCurrentUser() === null) {
    return {
      ok: false,
      problems: [
        `kubeconfig could not be loaded: context ${JSON.stringify(context.name)} is incomplete`,
      ],
    };
  }
  return { ok: true, kubeConfig };
}
