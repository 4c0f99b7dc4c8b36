import http from "node:http";
import https from "node:https";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { KubeConfig } from "@kubernetes/client-node";
import { errorFromStatus, KubeApiError, kindFromTransportError } from "./kube-api-error.ts";

/** One request to the API server. `path` starts with `/api` or `/apis` (or is `/readyz`, `/version`…). */
export interface KubeRequest {
  method: "GET" | "POST" | "PUT" | "PATCH" | "DELETE";
  path: string;
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  contentType?: string;
  signal?: AbortSignal;
  /** Deadline for the whole call, ms. Defaults to the client's `timeoutMs`. */
  timeoutMs?: number;
}

/** One event of a watch stream, as the API server sends it. */
export interface WatchEvent<T> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export interface KubeClientOptions {
  /** Deadline of every non-watch call, ms. Default 30 000. */
  timeoutMs?: number;
  /** A watch with no byte received for this long is ended, ms. Default 90 000 (bookmarks come about once a minute). */
  watchIdleMs?: number;
  /** How long authentication headers (tokens) are reused before the kubeconfig is read again, ms. Default 60 000. */
  authRefreshMs?: number;
  /**
   * Largest response body accepted, bytes after decompression; a larger one fails the call as
   * `server-error`. Default 256 MiB (a page of 500 large objects is a few MiB). Watch streams
   * are not limited as a whole.
   */
  maxBodyBytes?: number;
}

interface AuthParts {
  headers: Record<string, string>;
  at: number;
}

interface Response {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** The body, already decompressed. */
  stream: Readable;
  /** The bytes as they arrive on the wire (for the watch idle clock). */
  raw: http.IncomingMessage;
  /** Ends the call's deadline. */
  done: () => void;
}

/**
 * A small client for one API server: every call has a deadline and honours an AbortSignal,
 * connections are kept alive on one agent, responses may come gzip-compressed, and failures are
 * thrown as classified {@link KubeApiError}s. Authentication comes from the KubeConfig
 * (client-node's loader). An `http://` server (which load-kubeconfig allows only with
 * `allowInsecureKubeconfig`) is spoken to in plain HTTP.
 */
export class KubeClient {
  readonly server: string;
  readonly #kc: KubeConfig;
  readonly #plain: boolean;
  readonly #timeoutMs: number;
  readonly #watchIdleMs: number;
  readonly #authRefreshMs: number;
  readonly #maxBodyBytes: number;
  /** The KubeConfig credentials are read from; rebuilt after a credentials failure (see #authParts). */
  #authKc: KubeConfig;
  #agent: https.Agent | http.Agent | undefined;
  #auth: AuthParts | undefined;

  constructor(kc: KubeConfig, options: KubeClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    this.server = cluster.server.replace(/\/+$/, "");
    this.#plain = new URL(this.server).protocol === "http:";
    this.#kc = kc;
    this.#authKc = this.#plain ? authConfig(kc) : kc;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#watchIdleMs = options.watchIdleMs ?? 90_000;
    this.#authRefreshMs = options.authRefreshMs ?? 60_000;
    this.#maxBodyBytes = options.maxBodyBytes ?? 256 * 1024 * 1024;
  }

  /** Sends one request and returns the decoded JSON body. */
  async request<T>(req: KubeRequest): Promise<T> {
    const text = await this.requestText(req);
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }

  /** Sends one request and returns the body as text (for /readyz, /healthz, /version). */
  async requestText(req: KubeRequest): Promise<string> {
    const res = await this.#send(req, req.timeoutMs ?? this.#timeoutMs);
    const text = await readBody(res.stream, req, this.#maxBodyBytes).finally(res.done);
    if (res.status >= 300) throw responseError(res, text, req);
    return text;
  }

  /**
   * Opens a watch and calls `onEvent` for each event until the server ends the stream, the
   * stream is idle for `watchIdleMs`, or `signal` aborts. Resolves when the stream ended
   * normally or went idle (the caller decides whether to watch again); throws a KubeApiError
   * otherwise (`aborted` when `signal` aborted). An error thrown by `onEvent` ends the watch and
   * is rethrown as it is.
   */
  async watch<T>(
    path: string,
    query: Record<string, string | number | boolean | undefined>,
    signal: AbortSignal,
    onEvent: (event: WatchEvent<T>) => void,
    onOpen?: () => void,
  ): Promise<void> {
    const idle = new AbortController();
    const both = AbortSignal.any([signal, idle.signal]);
    const res = await this.#send(
      { method: "GET", path, query: { ...query, watch: true }, signal: both },
      this.#timeoutMs,
    );
    if (res.status >= 300) {
      const text = await readBody(res.stream, { path }, this.#maxBodyBytes).finally(res.done);
      throw responseError(res, text, { path });
    }
    res.done();
    onOpen?.();
    const timer = setTimeout(() => idle.abort(), this.#watchIdleMs);
    res.raw.on("data", () => {
      timer.refresh();
    });
    try {
      const lines = createInterface({ input: res.stream, crlfDelay: Number.POSITIVE_INFINITY });
      for await (const line of lines) {
        if (line.trim() === "") continue;
        onEvent(JSON.parse(line) as WatchEvent<T>);
      }
    } catch (err) {
      if (idle.signal.aborted && !signal.aborted) return; // idle: end quietly, caller re-watches
      throw transportError(err, { path });
    } finally {
      clearTimeout(timer);
      res.stream.destroy();
      res.raw.destroy();
    }
  }

  /** A client for the same server and credentials with its own connections, closed separately. */
  fork(): KubeClient {
    return new KubeClient(this.#kc, {
      timeoutMs: this.#timeoutMs,
      watchIdleMs: this.#watchIdleMs,
      authRefreshMs: this.#authRefreshMs,
      maxBodyBytes: this.#maxBodyBytes,
    });
  }

  /** Closes idle connections. The client can still be used afterwards. */
  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }

  async #authParts(): Promise<AuthParts> {
    const now = Date.now();
    if (this.#auth && now - this.#auth.at < this.#authRefreshMs && this.#agent) return this.#auth;
    const opts: https.RequestOptions = {};
    try {
      await this.#authKc.applyToHTTPSOptions(opts);
    } catch (err) {
      // client-node caches an exec plugin's output even when it was unusable, so a plugin fixed
      // later would never run again on this KubeConfig: start from a fresh copy next time.
      this.#authKc = authConfig(this.#kc);
      throw credentialsError(this.#kc, describeCredentialFailure(err), err);
    }
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v !== undefined) headers[k] = String(v);
    }
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
    const unusable = unusableExecCredentials(this.#kc, headers, opts);
    if (unusable !== undefined) {
      this.#authKc = authConfig(this.#kc);
      throw credentialsError(this.#kc, unusable);
    }
    if (!this.#agent) {
      this.#agent = this.#plain
        ? new http.Agent({ keepAlive: true, maxSockets: 32 })
        : new https.Agent({
            keepAlive: true,
            maxSockets: 32,
            ...(opts.ca === undefined ? {} : { ca: opts.ca }),
            ...(opts.cert === undefined ? {} : { cert: opts.cert }),
            ...(opts.key === undefined ? {} : { key: opts.key }),
            ...(opts.servername === undefined ? {} : { servername: opts.servername }),
            ...(opts.rejectUnauthorized === undefined
              ? {}
              : { rejectUnauthorized: opts.rejectUnauthorized }),
          });
    }
    this.#auth = { headers, at: now };
    return this.#auth;
  }

  async #send(req: KubeRequest, timeoutMs: number): Promise<Response> {
    const auth = await this.#authParts();
    const url = new URL(this.server + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = {
      ...auth.headers,
      Accept: "application/json",
      // The API server compresses large responses (lists above 128 KiB) when asked.
      "Accept-Encoding": "gzip",
    };
    if (body !== undefined) {
      headers["Content-Type"] = req.contentType ?? "application/json";
      headers["Content-Length"] = String(Buffer.byteLength(body));
    }
    // The deadline covers the response body too (the caller ends it with `done`), except for a
    // watch, which ends it as soon as the stream is open: a watch lives for minutes.
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(), timeoutMs);
    const signal = req.signal ? AbortSignal.any([req.signal, deadline.signal]) : deadline.signal;
    const done = () => clearTimeout(timer);
    const send = this.#plain ? http.request : https.request;
    return await new Promise((resolve, reject) => {
      const r = send(url, { method: req.method, headers, agent: this.#agent, signal }, (res) => {
        resolve({
          status: res.statusCode ?? 0,
          headers: res.headers,
          stream: decoded(res),
          raw: res,
          done,
        });
      });
      r.on("error", (err) => {
        done();
        const kind = deadline.signal.aborted && !req.signal?.aborted ? "timeout" : undefined;
        reject(transportError(err, req, kind));
      });
      r.end(body);
    });
  }
}

/**
 * A copy of the current cluster and user, from which credentials are read. For an `http://`
 * server the copy skips TLS verification, which means nothing without TLS but is what
 * client-node requires before it hands out credentials for such a server.
 */
function authConfig(kc: KubeConfig): KubeConfig {
  const cluster = kc.getCurrentCluster()!;
  const plain = new URL(cluster.server).protocol === "http:";
  const copy = new KubeConfig();
  copy.loadFromClusterAndUser(
    plain ? { ...cluster, skipTLSVerify: true } : cluster,
    kc.getCurrentUser() ?? { name: "anonymous" },
  );
  return copy;
}

/** The body stream, gunzipped when the server compressed it. */
function decoded(res: http.IncomingMessage): Readable {
  if (res.headers["content-encoding"] !== "gzip") return res;
  const gunzip = createGunzip();
  // pipeline destroys both when either fails or is destroyed; the error surfaces on `gunzip`.
  pipeline(res, gunzip, () => {});
  return gunzip;
}

async function readBody(stream: Readable, req: { path: string }, limit: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of stream) {
      size += (chunk as Buffer).length;
      if (size > limit) {
        stream.destroy();
        throw new KubeApiError(
          "server-error",
          `${req.path}: response body larger than ${limit} bytes (maxBodyBytes)`,
        );
      }
      chunks.push(chunk as Buffer);
    }
  } catch (err) {
    throw transportError(err, req);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function responseError(res: Response, text: string, req: { path: string }): KubeApiError {
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // Not a Status object (a proxy in between, say): keep the raw text.
  }
  const retryAfter = res.headers["retry-after"];
  return errorFromStatus(req.path, res.status, body, retryAfter);
}

function transportError(err: unknown, req: { path: string }, kind?: "timeout"): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const k = kind ?? kindFromTransportError(err);
  const detail = err instanceof Error ? err.message : String(err);
  return new KubeApiError(k, `${req.path}: ${k}: ${detail}`, { cause: err });
}

function userName(kc: KubeConfig): string {
  return kc.getCurrentUser()?.name ?? "(none)";
}

function credentialsError(kc: KubeConfig, what: string, cause?: unknown): KubeApiError {
  return new KubeApiError(
    "no-credentials",
    `kubeconfig user ${JSON.stringify(userName(kc))} gave no usable credentials: ${what}; fix the user entry or its exec plugin`,
    cause === undefined ? {} : { cause },
  );
}

/** What went wrong while client-node read the credentials, in words, by error type and code. */
function describeCredentialFailure(err: unknown): string {
  const code = (err as { code?: unknown } | null)?.code;
  if (code === "ENOENT") return "the exec plugin's command was not found";
  if (code === "EACCES") return "the exec plugin's command is not executable";
  // client-node parses the plugin's stdout with JSON.parse, then reads `status` from it.
  if (err instanceof SyntaxError) return "the exec plugin's output is not JSON";
  if (err instanceof TypeError) {
    return "the exec plugin's output is not an ExecCredential with a status (token or client certificate)";
  }
  // A plugin that exits non-zero is reported with its stderr as the message.
  const detail = err instanceof Error ? err.message.trim().split("\n")[0]?.slice(0, 200) : "";
  return detail ? `reading them failed: ${detail}` : "reading them failed";
}

/**
 * Why an exec plugin's credentials cannot be used, or undefined. client-node accepts an
 * ExecCredential whose status has neither a token nor a certificate and then sends the request
 * anonymously, which would surface much later as a puzzling 401 or 403.
 */
function unusableExecCredentials(
  kc: KubeConfig,
  headers: Record<string, string>,
  opts: https.RequestOptions,
): string | undefined {
  const user = kc.getCurrentUser();
  const exec =
    user?.exec ?? (user?.authProvider as { config?: { exec?: unknown } } | undefined)?.config?.exec;
  if (!exec) return undefined;
  const cert = opts.cert !== undefined && opts.cert !== null;
  const key = opts.key !== undefined && opts.key !== null;
  if (cert !== key) {
    return `the exec plugin returned a client ${cert ? "certificate without its key" : "key without its certificate"}`;
  }
  if (headers.Authorization === undefined && !cert) {
    return "the exec plugin's ExecCredential status has neither a token nor a client certificate";
  }
  return undefined;
}
