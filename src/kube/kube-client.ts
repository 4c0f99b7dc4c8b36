import http from "node:http";
import https from "node:https";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { pipeline } from "node:stream";
import { createGunzip } from "node:zlib";
import { type AuthMaterial, Credentials, type CredentialsOptions } from "./credentials.ts";
import { errorFromStatus, KubeApiError, kindFromTransportError } from "./kube-api-error.ts";
import type { Kubeconfig } from "./kubeconfig.ts";

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
  /** How long an exec plugin may run, ms. Default 60 000. */
  execTimeoutMs?: number;
  /**
   * Largest response body accepted, bytes after decompression; a larger one fails the call as
   * `server-error`. Default 256 MiB (a page of 500 large objects is a few MiB). Watch streams
   * are not limited as a whole.
   */
  maxBodyBytes?: number;
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
 * thrown as classified {@link KubeApiError}s. Authentication and TLS settings come from a loaded
 * {@link Kubeconfig} (load-kubeconfig.ts) through {@link Credentials}: an exec plugin's
 * credential is fetched when needed, fetched again after a 401, and a new client certificate
 * from it replaces the connections (as client-go does). An `http://` server (which
 * load-kubeconfig allows only with `allowInsecureKubeconfig`) is spoken to in plain HTTP.
 */
export class KubeClient {
  readonly server: string;
  readonly #kc: Kubeconfig;
  readonly #plain: boolean;
  readonly #options: KubeClientOptions;
  readonly #timeoutMs: number;
  readonly #watchIdleMs: number;
  readonly #maxBodyBytes: number;
  /** Shared with forks: one exec plugin run serves them all. */
  #credentials: Credentials;
  #agent: https.Agent | http.Agent | undefined;
  /** The TLS settings #agent was made with. */
  #agentTls: AuthMaterial["tls"] | undefined;

  constructor(kc: Kubeconfig, options: KubeClientOptions = {}) {
    this.server = kc.cluster.server.replace(/\/+$/, "");
    this.#plain = new URL(this.server).protocol === "http:";
    this.#kc = kc;
    this.#options = options;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#watchIdleMs = options.watchIdleMs ?? 90_000;
    this.#maxBodyBytes = options.maxBodyBytes ?? 256 * 1024 * 1024;
    const credentials: CredentialsOptions =
      options.execTimeoutMs === undefined ? {} : { execTimeoutMs: options.execTimeoutMs };
    this.#credentials = new Credentials(kc, credentials);
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

  /**
   * A client for the same server and credentials (an exec plugin's credential is shared) with
   * its own connections, closed separately.
   */
  fork(): KubeClient {
    const fork = new KubeClient(this.#kc, this.#options);
    fork.#credentials = this.#credentials;
    return fork;
  }

  /** Closes idle connections. The client can still be used afterwards. */
  close(): void {
    this.#agent?.destroy();
    this.#agent = undefined;
  }

  /**
   * The credentials for the next request, and an agent whose connections carry its TLS
   * settings. A new client certificate (from an exec plugin) replaces the agent and ends the
   * old one's connections, open watches included, which then reopen with it.
   */
  async #auth(signal: AbortSignal | undefined): Promise<AuthMaterial> {
    const material = await untilAborted(this.#credentials.current(), signal);
    if (this.#agent !== undefined && this.#agentTls !== material.tls) {
      this.#agent.destroy();
      this.#agent = undefined;
    }
    if (this.#agent === undefined) {
      const { tls } = material;
      this.#agent = this.#plain
        ? new http.Agent({ keepAlive: true, maxSockets: 32 })
        : new https.Agent({
            keepAlive: true,
            maxSockets: 32,
            rejectUnauthorized: tls.rejectUnauthorized,
            ...(tls.ca === undefined ? {} : { ca: tls.ca }),
            ...(tls.cert === undefined ? {} : { cert: tls.cert }),
            ...(tls.key === undefined ? {} : { key: tls.key }),
            ...(tls.servername === undefined ? {} : { servername: tls.servername }),
          });
      this.#agentTls = material.tls;
    }
    return material;
  }

  async #send(req: KubeRequest, timeoutMs: number): Promise<Response> {
    let auth: AuthMaterial;
    try {
      auth = await this.#auth(req.signal);
    } catch (err) {
      throw transportError(err, req);
    }
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
        // A 401 may mean an exec plugin's credential was revoked or expired early.
        if (res.statusCode === 401) this.#credentials.refused(auth);
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
 * `promise`, or an AbortError (as node:http throws, whatever the signal's reason) as soon as
 * `signal` aborts; an exec plugin run that other callers share goes on.
 */
async function untilAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (signal === undefined) return await promise;
  const abortError = () => new DOMException("the request was aborted", "AbortError");
  if (signal.aborted) throw abortError();
  let stop: (() => void) | undefined;
  const aborted = new Promise<never>((_resolve, reject) => {
    stop = () => reject(abortError());
    signal.addEventListener("abort", stop, { once: true });
  });
  try {
    return await Promise.race([promise, aborted]);
  } finally {
    if (stop !== undefined) signal.removeEventListener("abort", stop);
  }
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
