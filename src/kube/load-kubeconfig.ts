import { createPrivateKey, type KeyObject, X509Certificate } from "node:crypto";
import path from "node:path";
import { parseDocument } from "yaml";
import type { KubeconfigSource } from "../config/cluster-spec.ts";
import { kindOf } from "../config/config-error.ts";
import { inClusterSettings } from "../config/in-cluster.ts";
import { quote, shorten } from "../config/quote.ts";
import { MIB, readBoundedFileSync } from "../config/read-bounded-file.ts";
import { readExecPlugin } from "./exec-plugin.ts";
import type { Kubeconfig, KubeconfigCluster, KubeconfigUser } from "./kubeconfig.ts";

/**
 * The largest kubeconfig, and the largest file one may reference, that is read. Kubernetes keeps
 * a Secret (and so a kubeconfig registered by one) under 1 MiB; a kubeconfig with inline
 * certificates takes a few KiB per cluster, and a CA bundle a few hundred KiB. A path to a device
 * or a log file must not fill memory.
 */
export const KUBECONFIG_MAX_BYTES = MIB;

/** The chosen context's cluster and user, or every reason the kubeconfig was refused. */
export type LoadResult = { ok: true; kubeConfig: Kubeconfig } | { ok: false; problems: string[] };

export interface LoadKubeconfigOptions {
  /** Context to use; `undefined`: the kubeconfig's `current-context`. */
  context: string | undefined;
  /** Allow exec plugins, file references, non-https servers and skipped TLS checks. */
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

/** Fields that must be strings (a number or a mapping is a mistake), and the one boolean. */
const STRING_FIELDS = {
  cluster: ["certificate-authority", "certificate-authority-data", "tls-server-name", "proxy-url"],
  user: [
    "token",
    "tokenFile",
    "token-file",
    "username",
    "password",
    "client-certificate",
    "client-certificate-data",
    "client-key",
    "client-key-data",
    "as",
  ],
} as const;

/** The extension of a cluster entry that an exec plugin with provideClusterInfo is handed. */
const EXEC_EXTENSION = "client.authentication.k8s.io/exec";

/** Names listed in a message: enough to spot a typo, never a whole huge list. */
const MAX_LISTED_NAMES = 10;

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
  return shorten(error instanceof Error ? error.message : String(error));
}

function parseKubeconfigText(
  text: string,
): { ok: true; doc: Doc } | { ok: false; problem: string } {
  // `merge`: kubectl's YAML reader honours `<<` merge keys, so the checks must see them merged.
  const parsed = parseDocument(text, { uniqueKeys: true, merge: true });
  const error = parsed.errors[0];
  if (error !== undefined) {
    const where = error.linePos?.[0];
    const at = where === undefined ? "" : ` at line ${where.line}, column ${where.col}`;
    if (error.code === "MULTIPLE_DOCS") {
      return {
        ok: false,
        problem: `a kubeconfig must be one YAML document; a second one starts${at} (a "---" line separates documents)`,
      };
    }
    const reason = shorten(error.message.replace(/ at line \d+, column \d+:[\s\S]*$/, ""));
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
        isRecord(item) && typeof item.name === "string" ? [item.name] : [],
      )
    : [];
  if (names.length === 0) return "it has none";
  const shown = names.slice(0, MAX_LISTED_NAMES).map(quote).join(", ");
  const more = names.length - MAX_LISTED_NAMES;
  return `it has ${shown}${more > 0 ? ` and ${more} more` : ""}`;
}

/**
 * The entry of `doc[listKey]` called `name`. Picking one of duplicates would be a guess, and
 * kubectl refuses duplicates, so they are a problem.
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
    problems.push(`${referredBy}: ${quote(name)} names no entry in ${listKey}; ${namesIn(list)}`);
    return undefined;
  }
  const at = `${listKey}[${index}]`;
  if (others.length > 0) {
    const shown = others.slice(0, MAX_LISTED_NAMES).map((other) => `${listKey}[${other}]`);
    const more = others.length - shown.length;
    const also = `${shown.join(", ")}${more > 0 ? ` and ${more} more` : ""}`;
    problems.push(`${at}.name: ${quote(name)} is also the name of ${also}; names must be unique`);
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
    problems.push(`${where}: ${quote(server)} is not a URL`);
    return;
  }
  if (!allowInsecure && new URL(server).protocol !== "https:") {
    problems.push(
      `${where}: ${quote(server)} is not an https:// URL; without TLS the credentials travel unprotected; ${hint}`,
    );
  }
}

/** Fields of the wrong type: a lenient reader would misread them (`"true"` as false). */
function typeProblems(entry: Entry, bodyKey: "cluster" | "user"): string[] {
  const problems: string[] = [];
  for (const key of STRING_FIELDS[bodyKey]) {
    const value = entry.body[key];
    if (isSet(value) && typeof value !== "string") {
      problems.push(`${entry.at}.${bodyKey}.${key}: expected a string, got ${kindOf(value)}`);
    }
  }
  const skip = entry.body["insecure-skip-tls-verify"];
  if (bodyKey === "cluster" && isSet(skip) && typeof skip !== "boolean") {
    problems.push(
      `${entry.at}.cluster.insecure-skip-tls-verify: expected true or false, got ${kindOf(skip)}`,
    );
  }
  return problems;
}

/** Cluster settings kubectl honours but kubeburst's client does not. */
function unsupportedClusterProblems(cluster: Entry): string[] {
  if (!isSet(cluster.body["proxy-url"])) return [];
  return [
    `${cluster.at}.cluster.proxy-url: not supported; kubeburst connects directly to the API server (remove the field, or run kubeburst where the server is reachable)`,
  ];
}

/** Impersonation kubectl offers beyond a user name: ignoring it would act with other rights. */
const UNSUPPORTED_IMPERSONATION = ["as-groups", "as-uid", "as-user-extra"] as const;

/**
 * User settings kubeburst does not honour, refused whatever allowInsecure says: auth providers
 * (kubeburst runs exec plugins only), impersonation other than `as`, and ambiguous combinations.
 */
function unsupportedUserProblems(user: Entry): string[] {
  const problems: string[] = [];
  const body = user.body;
  if (isSet(body["auth-provider"])) {
    problems.push(
      `${user.at}.user.auth-provider: auth providers are not supported; use an exec plugin (user.exec) that prints an ExecCredential instead (kubectl's own gcp and azure providers were replaced by such plugins)`,
    );
  }
  for (const key of UNSUPPORTED_IMPERSONATION) {
    if (isSet(body[key])) {
      problems.push(
        `${user.at}.user.${key}: not supported; kubeburst impersonates only a user name (as), so remove the field or give the user the rights directly`,
      );
    }
  }
  const hasToken = isSet(body.token) || isSet(body.tokenFile) || isSet(body["token-file"]);
  if (hasToken && (isSet(body.username) || isSet(body.password))) {
    problems.push(
      `${user.at}.user.username: set either a token or username and password, not both (the server would see only one)`,
    );
  } else if (isSet(body.password) && !isSet(body.username)) {
    problems.push(`${user.at}.user.username: required with a password`);
  }
  return problems;
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
    const file = typeof value === "string" ? quote(value) : "a path";
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

/** Reads a file a kubeconfig refers to (allowed only with allowInsecure), bounded in size. */
function readReferenced(file: string, where: string, problems: string[]): Buffer | undefined {
  const read = readBoundedFileSync(file, KUBECONFIG_MAX_BYTES);
  if (read.ok) return read.bytes;
  problems.push(`${where}: cannot read ${quote(file)}: ${read.reason}`);
  return undefined;
}

/**
 * The user's bearer token: `token`, else the content of its token file (`tokenFile`, or the
 * `token-file` spelling some tools write; the caller has resolved the path), read once at load,
 * bounded in size and trimmed. An inline `token` wins.
 */
function tokenOf(user: Entry, body: Doc, problems: string[]): string | undefined {
  if (typeof body.token === "string" && body.token !== "") return body.token;
  for (const key of ["tokenFile", "token-file"]) {
    const file = body[key];
    if (typeof file !== "string" || file === "") continue;
    const bytes = readReferenced(file, `${user.at}.user.${key}`, problems);
    return bytes?.toString("utf8").trim();
  }
  return undefined;
}

/** PEM material of one credential, with the field it came from (for messages). */
interface Material {
  where: string;
  bytes: Buffer;
}

const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/;

/**
 * The PEM text of a credential: the `-data` field base64-decoded, or (with allowInsecure, whose
 * caller has resolved the path) the referenced file read. Never echoes the content: it may be
 * a private key.
 */
function materialOf(
  entry: Entry,
  bodyKey: "cluster" | "user",
  body: Doc,
  fileKey: string,
  allowInsecure: boolean,
  problems: string[],
): Material | undefined {
  const dataKey = `${fileKey}-data`;
  const data = body[dataKey];
  const file = body[fileKey];
  const at = `${entry.at}.${bodyKey}`;
  if (allowInsecure && isSet(data) && isSet(file)) {
    problems.push(`${at}.${fileKey}: set only one of ${fileKey} and ${dataKey}`);
    return undefined;
  }
  if (typeof data === "string" && data !== "") {
    const compact = data.replace(/\s+/g, "");
    if (!BASE64.test(compact) || compact.length % 4 !== 0) {
      problems.push(
        `${at}.${dataKey}: not valid base64; it must hold the PEM text base64-encoded (as "base64 -w0" writes it)`,
      );
      return undefined;
    }
    return { where: `${at}.${dataKey}`, bytes: Buffer.from(compact, "base64") };
  }
  // Without allowInsecure a file reference is already a problem; it is not read.
  if (allowInsecure && typeof file === "string" && file !== "") {
    const bytes = readReferenced(file, `${at}.${fileKey}`, problems);
    return bytes === undefined ? undefined : { where: `${at}.${fileKey} (${quote(file)})`, bytes };
  }
  return undefined;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g;

/** The certificates of `material` (a bundle may hold several), or a problem naming its field. */
function certificatesIn(material: Material, problems: string[]): X509Certificate[] | undefined {
  const blocks = material.bytes.toString("utf8").match(PEM_CERTIFICATE) ?? [];
  if (blocks.length === 0) {
    problems.push(
      `${material.where}: holds no PEM certificate (a "-----BEGIN CERTIFICATE-----" block)`,
    );
    return undefined;
  }
  const certificates: X509Certificate[] = [];
  for (const [index, block] of blocks.entries()) {
    try {
      certificates.push(new X509Certificate(block));
    } catch {
      const which =
        blocks.length === 1 ? "its certificate" : `certificate ${index + 1} of ${blocks.length}`;
      problems.push(`${material.where}: ${which} is not a valid X.509 certificate`);
      return undefined;
    }
  }
  return certificates;
}

/** PKCS#8 and the traditional OpenSSL format mark an encrypted key in the PEM text itself. */
const ENCRYPTED_PEM = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: *4, *ENCRYPTED/;

/** The private key of `material`, or a problem naming its field. */
function privateKeyIn(material: Material, problems: string[]): KeyObject | undefined {
  if (ENCRYPTED_PEM.test(material.bytes.toString("utf8"))) {
    problems.push(
      `${material.where}: the private key is encrypted; kubeburst needs it unencrypted`,
    );
    return undefined;
  }
  try {
    return createPrivateKey({ key: material.bytes, format: "pem" });
  } catch {
    problems.push(
      `${material.where}: holds no valid PEM private key (a "-----BEGIN … PRIVATE KEY-----" block)`,
    );
    return undefined;
  }
}

/**
 * Checks the TLS material of the chosen cluster and user: the CA bundle, the client certificate
 * and the client key must each be valid PEM, the key must belong to the certificate, and neither
 * comes without the other. Returns the PEM bytes (referenced files, if allowed, read once here:
 * nothing reads them again later).
 */
function tlsMaterial(
  cluster: Entry,
  clusterBody: Doc,
  user: Entry,
  userBody: Doc,
  allowInsecure: boolean,
  problems: string[],
): { ca: Buffer | undefined; cert: Buffer | undefined; key: Buffer | undefined } {
  const ca = materialOf(
    cluster,
    "cluster",
    clusterBody,
    "certificate-authority",
    allowInsecure,
    problems,
  );
  const cert = materialOf(user, "user", userBody, "client-certificate", allowInsecure, problems);
  const key = materialOf(user, "user", userBody, "client-key", allowInsecure, problems);
  if (ca !== undefined) certificatesIn(ca, problems);
  const chain = cert === undefined ? undefined : certificatesIn(cert, problems);
  const privateKey = key === undefined ? undefined : privateKeyIn(key, problems);
  const leaf = chain?.[0];
  if (leaf !== undefined && privateKey !== undefined && !leaf.checkPrivateKey(privateKey)) {
    problems.push(`${key?.where}: the key does not belong to the certificate in ${cert?.where}`);
  }
  const has = (body: Doc, field: string) => isSet(body[field]) || isSet(body[`${field}-data`]);
  if (has(userBody, "client-certificate") && !has(userBody, "client-key")) {
    problems.push(
      `${user.at}.user.client-key-data: required with a client certificate (the key of the certificate in client-certificate-data)`,
    );
  }
  if (has(userBody, "client-key") && !has(userBody, "client-certificate")) {
    problems.push(
      `${user.at}.user.client-certificate-data: required with a client key (the certificate the key in client-key-data belongs to)`,
    );
  }
  return { ca: ca?.bytes, cert: cert?.bytes, key: key?.bytes };
}

/** The kubeconfig's text, read within {@link KUBECONFIG_MAX_BYTES}, or the one problem. */
function kubeconfigText(
  source: Exclude<KubeconfigSource, { kind: "in-cluster" }>,
): { ok: true; text: string } | { ok: false; problem: string } {
  if (source.kind === "inline") {
    if (Buffer.byteLength(source.text, "utf8") > KUBECONFIG_MAX_BYTES) {
      return {
        ok: false,
        problem: `kubeconfig is larger than ${KUBECONFIG_MAX_BYTES / MIB} MiB, the limit`,
      };
    }
    return { ok: true, text: source.text };
  }
  const read = readBoundedFileSync(source.path, KUBECONFIG_MAX_BYTES);
  if (!read.ok) {
    return { ok: false, problem: `cannot read kubeconfig ${quote(source.path)}: ${read.reason}` };
  }
  return { ok: true, text: read.bytes.toString("utf8") };
}

/**
 * Loads a kubeconfig safely: reads it (a regular file of at most {@link KUBECONFIG_MAX_BYTES},
 * synchronously, or inline text), parses the YAML (one document), and checks only the entries
 * the chosen context uses (`options.context`, else `current-context`). Unless
 * `options.allowInsecure`, refuses a non-https server, `insecure-skip-tls-verify: true`, exec
 * plugins and every file reference (only the `-data` fields and `token` are inline); with it, an
 * exec block must be well-formed (readExecPlugin). Always refuses auth providers, `proxy-url`
 * (kubeburst's client connects directly), impersonation beyond `as`, a token together with basic
 * auth, fields of the wrong type, and TLS material that is not valid PEM (a CA, client
 * certificate or key that would fail only at the first request, with an error that names no
 * field). A missing context, cluster or user, an unreadable, oversized or non-regular file and
 * invalid YAML are always problems. Every problem is reported at once, each naming its field; a
 * value is never quoted whole when long, and credentials are never quoted. Only the chosen
 * context, cluster and user are read, so unrelated entries can neither break loading nor make it
 * read files; referenced files (when allowed) are read here, once. Never throws.
 */
export function loadKubeconfig(
  source: KubeconfigSource,
  options: LoadKubeconfigOptions,
): LoadResult {
  if (source.kind === "in-cluster") return loadInCluster(process.env);
  const hint = options.refusalHint ?? INSECURE_HINT;
  const read = kubeconfigText(source);
  if (!read.ok) return { ok: false, problems: [read.problem] };
  const parsed = parseKubeconfigText(read.text);
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
    problems.push(...typeProblems(cluster, "cluster"), ...unsupportedClusterProblems(cluster));
    if (!options.allowInsecure) {
      problems.push(...insecureClusterProblems(cluster, source.kind, hint));
    }
  }
  if (user !== undefined) {
    problems.push(...typeProblems(user, "user"), ...unsupportedUserProblems(user));
    if (!options.allowInsecure) problems.push(...insecureUserProblems(user, source.kind, hint));
  }
  if (cluster === undefined || user === undefined) return { ok: false, problems };

  const folder = source.kind === "path" ? path.dirname(source.path) : undefined;
  const clusterBody = resolveFiles(cluster.body, folder);
  const userBody = resolveFiles(user.body, folder);
  const tls = tlsMaterial(cluster, clusterBody, user, userBody, options.allowInsecure, problems);
  // Without allowInsecure an exec block is already refused; its shape matters only when allowed.
  const exec =
    options.allowInsecure && isSet(user.body.exec)
      ? readExecPlugin(user.body.exec, `${user.at}.user.exec`, folder, problems)
      : undefined;
  if (problems.length > 0) return { ok: false, problems };
  const token = tokenOf(user, userBody, problems);
  if (problems.length > 0) return { ok: false, problems };
  const text = (value: unknown) => (typeof value === "string" && value !== "" ? value : undefined);
  const username = text(user.body.username);
  const kubeCluster: KubeconfigCluster = {
    name: cluster.name,
    server: (cluster.body.server as string).replace(/\/+$/, ""),
    certificateAuthority: tls.ca,
    tlsServerName: text(cluster.body["tls-server-name"]),
    insecureSkipTlsVerify: cluster.body["insecure-skip-tls-verify"] === true,
    execConfig: execExtension(cluster.body.extensions),
  };
  const kubeUser: KubeconfigUser = {
    name: user.name,
    token,
    basicAuth:
      username === undefined ? undefined : { username, password: text(user.body.password) ?? "" },
    clientCertificate: tls.cert,
    clientKey: tls.key,
    exec,
    impersonate: text(user.body.as),
  };
  return { ok: true, kubeConfig: { context: context.name, cluster: kubeCluster, user: kubeUser } };
}

/**
 * The production cluster kubeburst runs in as a pod, without a kubeconfig: the API server from
 * `KUBERNETES_SERVICE_HOST`/`PORT`, the CA and the ServiceAccount token from the mounted files
 * (see in-cluster.ts). The token is read here once to check it is there, and read again by
 * Credentials whenever the file changes. Never throws.
 */
export function loadInCluster(env: Readonly<Record<string, string | undefined>>): LoadResult {
  const found = inClusterSettings(env);
  if (!found.ok) return { ok: false, problems: found.problems };
  const { server, tokenFile, caFile } = found.settings;
  const problems: string[] = [];
  const ca = readReferenced(caFile, "in-cluster CA (ca.crt)", problems);
  if (ca !== undefined)
    certificatesIn({ where: `in-cluster CA ${quote(caFile)}`, bytes: ca }, problems);
  const token = readReferenced(tokenFile, "in-cluster ServiceAccount token", problems)
    ?.toString("utf8")
    .trim();
  if (token === "") problems.push(`in-cluster ServiceAccount token ${quote(tokenFile)} is empty`);
  if (problems.length > 0 || token === undefined) {
    return {
      ok: false,
      problems: problems.map(
        (p) =>
          `${p} (no kubeconfig is set for the production cluster, so kubeburst uses the pod's ServiceAccount; is automountServiceAccountToken off?)`,
      ),
    };
  }
  return {
    ok: true,
    kubeConfig: {
      context: "in-cluster",
      cluster: {
        name: "in-cluster",
        server,
        certificateAuthority: ca,
        tlsServerName: undefined,
        insecureSkipTlsVerify: false,
        execConfig: undefined,
      },
      user: {
        name: "in-cluster",
        token,
        tokenFile,
        basicAuth: undefined,
        clientCertificate: undefined,
        clientKey: undefined,
        exec: undefined,
        impersonate: undefined,
      },
    },
  };
}

/** The `client.authentication.k8s.io/exec` entry of a cluster's `extensions`, if any. */
function execExtension(extensions: unknown): unknown {
  if (!Array.isArray(extensions)) return undefined;
  const entry: unknown = extensions.find(
    (item: unknown) => isRecord(item) && item.name === EXEC_EXTENSION,
  );
  return isRecord(entry) ? entry.extension : undefined;
}

/**
 * {@link loadKubeconfig} for kubeconfig text kubeburst or a test wrote itself (the local cloud's
 * admin kubeconfigs): the same checks, and a thrown Error listing the problems, since such text
 * is wrong only through a bug.
 */
export function kubeconfigFromText(
  text: string,
  options: Partial<LoadKubeconfigOptions> = {},
): Kubeconfig {
  const loaded = loadKubeconfig(
    { kind: "inline", text },
    { context: undefined, allowInsecure: false, ...options },
  );
  if (!loaded.ok) throw new Error(`kubeconfig refused: ${loaded.problems.join("; ")}`);
  return loaded.kubeConfig;
}
