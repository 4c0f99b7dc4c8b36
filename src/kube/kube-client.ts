import https from "node:https";
import { createInterface } from "node:readline";
import type { KubeConfig } from "@kubernetes/client-node";
import { KubeApiError, kindFromStatus, kindFromTransportError } from "./kube-api-error.ts";

/** One request to the API server. `path` starts with `/api` or `/apis`. */
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
}

interface AuthParts {
  headers: Record<string, string>;
  at: number;
}

/**
 * A small client for one API server: every call has a deadline and honours an AbortSignal,
 * connections are kept alive on one agent, and failures are thrown as classified
 * {@link KubeApiError}s. Authentication comes from the KubeConfig (client-node's loader).
 */
export class KubeClient {
  readonly server: string;
  readonly #kc: KubeConfig;
  readonly #timeoutMs: number;
  readonly #watchIdleMs: number;
  readonly #authRefreshMs: number;
  #agent: https.Agent | undefined;
  #auth: AuthParts | undefined;

  constructor(kc: KubeConfig, options: KubeClientOptions = {}) {
    const cluster = kc.getCurrentCluster();
    if (!cluster) throw new Error("kubeconfig has no current cluster");
    this.server = cluster.server.replace(/\/+$/, "");
    this.#kc = kc;
    this.#timeoutMs = options.timeoutMs ?? 30_000;
    this.#watchIdleMs = options.watchIdleMs ?? 90_000;
    this.#authRefreshMs = options.authRefreshMs ?? 60_000;
  }

  /** Sends one request and returns the decoded JSON body. */
  async request<T>(req: KubeRequest): Promise<T> {
    const res = await this.#send(req, req.timeoutMs ?? this.#timeoutMs);
    const text = await readBody(res.stream, req).finally(res.done);
    if (res.status >= 300) throw statusError(res.status, text, req);
    return (text === "" ? undefined : JSON.parse(text)) as T;
  }

  /** Sends one request and returns the body as text (for /readyz, /healthz, /version). */
  async requestText(req: KubeRequest): Promise<string> {
    const res = await this.#send(req, req.timeoutMs ?? this.#timeoutMs);
    const text = await readBody(res.stream, req).finally(res.done);
    if (res.status >= 300) throw statusError(res.status, text, req);
    return text;
  }

  /**
   * Opens a watch and calls `onEvent` for each event until the server ends the stream, the
   * stream is idle for `watchIdleMs`, or `signal` aborts. Resolves when the stream ended
   * normally (the caller decides whether to watch again); throws a KubeApiError otherwise.
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
      const text = await readBody(res.stream, { path }).finally(res.done);
      throw statusError(res.status, text, { path });
    }
    res.done();
    onOpen?.();
    const timer = setTimeout(() => idle.abort(), this.#watchIdleMs);
    res.stream.on("data", () => {
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
    }
  }

  /** A client for the same server and credentials with its own connections, closed separately. */
  fork(): KubeClient {
    return new KubeClient(this.#kc, {
      timeoutMs: this.#timeoutMs,
      watchIdleMs: this.#watchIdleMs,
      authRefreshMs: this.#authRefreshMs,
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
    await this.#kc.applyToHTTPSOptions(opts);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(opts.headers ?? {})) {
      if (v !== undefined) headers[k] = String(v);
    }
    if (opts.auth) headers.Authorization = `Basic ${Buffer.from(opts.auth).toString("base64")}`;
    if (!this.#agent) {
      this.#agent = new https.Agent({
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

  async #send(
    req: KubeRequest,
    timeoutMs: number,
  ): Promise<{ status: number; stream: import("node:http").IncomingMessage; done: () => void }> {
    const auth = await this.#authParts();
    const url = new URL(this.server + req.path);
    for (const [k, v] of Object.entries(req.query ?? {})) {
      if (v !== undefined) url.searchParams.set(k, String(v));
    }
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const headers: Record<string, string> = { ...auth.headers, Accept: "application/json" };
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
    return await new Promise((resolve, reject) => {
      const r = https.request(
        url,
        { method: req.method, headers, agent: this.#agent, signal },
        (res) => resolve({ status: res.statusCode ?? 0, stream: res, done }),
      );
      r.on("error", (err) => {
        done();
        const kind = deadline.signal.aborted && !req.signal?.aborted ? "timeout" : undefined;
        reject(transportError(err, req, kind));
      });
      r.end(body);
    });
  }
}

async function readBody(stream: NodeJS.ReadableStream, req: { path: string }): Promise<string> {
  const chunks: Buffer[] = [];
  try {
    for await (const chunk of stream) chunks.push(chunk as Buffer);
  } catch (err) {
    throw transportError(err, req);
  }
  return Buffer.concat(chunks).toString("utf8");
}

function statusError(status: number, text: string, req: { path: string }): KubeApiError {
  let reason: string | undefined;
  let message = text.slice(0, 500);
  try {
    const parsed = JSON.parse(text) as { reason?: string; message?: string };
    reason = parsed.reason;
    message = parsed.message ?? message;
  } catch {
    // Not a Status object (a proxy in between, say): keep the raw text.
  }
  return new KubeApiError(kindFromStatus(status, reason), `${req.path}: ${status} ${message}`, {
    status,
    ...(reason === undefined ? {} : { reason }),
  });
}

function transportError(err: unknown, req: { path: string }, kind?: "timeout"): KubeApiError {
  if (err instanceof KubeApiError) return err;
  const k = kind ?? kindFromTransportError(err);
  const detail = err instanceof Error ? err.message : String(err);
  return new KubeApiError(k, `${req.path}: ${k}: ${detail}`, { cause: err });
}
