import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { StatusApiAccess } from "../config/load-config.ts";
import { ExpectedError } from "./expected-error.ts";
import type { Metrics } from "./metrics.ts";
import {
  type ServiceStatusDocument,
  STATUS_API_VERSION,
  STATUS_PATH,
  type StatusDocument,
  type StatusError,
} from "./status-model.ts";

/** What the status API serves (see `src/app/status-view.ts`). */
export interface StatusSource {
  overview(): Promise<StatusDocument>;
  /** Undefined when kubeburst knows nothing of Service `namespace/name`. */
  service(key: string, signal: AbortSignal): Promise<ServiceStatusDocument | undefined>;
}

/** Whether a peer address is loopback (`127.0.0.0/8`, `::1`, or IPv4 loopback mapped into IPv6). */
export function isLoopbackPeer(address: string | undefined): boolean {
  if (address === undefined) return false;
  const v4 = address.startsWith("::ffff:") ? address.slice(7) : address;
  return v4.startsWith("127.") || address === "::1";
}

export interface HealthServer {
  /** `host:port` it listens on (the port chosen when 0 was asked for). */
  address: string;
  close(): Promise<void>;
}

/**
 * Why a server cannot listen on `port`, from the error code of `listen` (`EADDRINUSE`, …), in
 * words that say what to do; `undefined` for a code that is not a known setup problem.
 */
export function listenFailureReason(code: string | undefined, port: number): string | undefined {
  switch (code) {
    case "EADDRINUSE":
      return "the address is already in use (is another kubeburst or another server listening there?)";
    case "EACCES":
      return port < 1024
        ? "permission denied: a port below 1024 needs root or the CAP_NET_BIND_SERVICE capability"
        : "permission denied";
    case "EADDRNOTAVAIL":
      return "no network interface of this machine has that address";
    case "ENOTFOUND":
    case "EAI_AGAIN":
    case "EAI_FAIL":
      return "the host name does not resolve";
    default:
      return undefined;
  }
}

/**
 * The status API (SPEC B12): `/status/v1` and `/status/v1/services/<namespace>/<name>`, JSON,
 * read-only. With access `loopback` only clients connecting from a loopback address are answered;
 * every error is a JSON document of kind `Error`.
 */
function serveStatus(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  status: { source: StatusSource; access: StatusApiAccess } | undefined,
): void {
  const send = (code: number, doc: object) => {
    res
      .writeHead(code, {
        "content-type": "application/json; charset=utf-8",
        "cache-control": "no-store",
      })
      .end(req.method === "HEAD" ? undefined : `${JSON.stringify(doc, null, 2)}\n`);
  };
  const error = (code: number, message: string) =>
    send(code, {
      apiVersion: STATUS_API_VERSION,
      kind: "Error",
      code,
      message,
    } satisfies StatusError);
  if (!status || status.access === "off") {
    error(404, "the status API is off (metrics.statusAPI in kubeburst's config)");
    return;
  }
  if (status.access === "loopback" && !isLoopbackPeer(req.socket.remoteAddress)) {
    error(
      403,
      "the status API answers only clients on this host (metrics.statusAPI: loopback); run kubeburst status where kubeburst runs, or set metrics.statusAPI: any",
    );
    return;
  }
  const failed = (err: unknown) => error(500, `status failed: ${String(err)}`);
  if (path === STATUS_PATH) {
    status.source.overview().then((doc) => send(200, doc), failed);
    return;
  }
  const m = /^\/status\/v1\/services\/([^/]+)\/([^/]+)$/.exec(path);
  if (!m) {
    error(404, `no such document; try ${STATUS_PATH} or ${STATUS_PATH}/services/NAMESPACE/NAME`);
    return;
  }
  let key: string;
  try {
    key = `${decodeURIComponent(m[1]!)}/${decodeURIComponent(m[2]!)}`;
  } catch {
    error(400, "the Service's namespace or name is not valid percent-encoding");
    return;
  }
  const gone = new AbortController();
  res.once("close", () => gone.abort());
  status.source.service(key, gone.signal).then((doc) => {
    if (doc) send(200, doc);
    else {
      error(
        404,
        `kubeburst knows no Service ${key}: no cluster reports it labelled kubeburst.io/role, and nothing is written for it`,
      );
    }
  }, failed);
}

/**
 * Serves `/metrics` (Prometheus text), `/healthz` (the process runs), `/readyz` (200 once
 * `ready()` says so, 503 before, with the reason in the body) and, with `status`, the status API.
 * A known setup problem (address in use, a privileged port, an address not on this machine) rejects with an {@link ExpectedError}
 * whose message names the address and the reason, and whose code is the system error code.
 */
export async function startHealthServer(
  host: string,
  port: number,
  metrics: Metrics,
  ready: () => { ready: boolean; reason: string },
  status?: { source: StatusSource; access: StatusApiAccess },
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0] ?? "/";
    const reply = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "content-type": type }).end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "method not allowed\n");
    if (path === "/healthz") return reply(200, "ok\n");
    if (path === "/readyz") {
      const state = ready();
      return reply(state.ready ? 200 : 503, `${state.reason}\n`);
    }
    if (path === STATUS_PATH || path.startsWith(`${STATUS_PATH}/`)) {
      serveStatus(req, res, path, status);
      return;
    }
    if (path === "/metrics") {
      metrics.registry.metrics().then(
        (text) => reply(200, text, metrics.registry.contentType),
        (err: unknown) => reply(500, `metrics failed: ${String(err)}\n`),
      );
      return;
    }
    reply(404, `not found: try /metrics, /healthz, /readyz or ${STATUS_PATH}\n`);
  });
  await new Promise<void>((resolve, reject) => {
    const fail = (err: Error) => {
      const code = "code" in err && typeof err.code === "string" ? err.code : undefined;
      const reason = listenFailureReason(code, port);
      if (reason === undefined) {
        reject(err);
        return;
      }
      const shown = `${host.includes(":") ? `[${host}]` : host}:${port}`;
      reject(
        new ExpectedError(`cannot listen on ${shown}: ${reason}`, {
          ...(code === undefined ? {} : { code }),
          cause: err,
        }),
      );
    };
    server.once("error", fail);
    server.listen(port, host === "" ? undefined : host, () => {
      server.off("error", fail);
      resolve();
    });
  });
  const bound = server.address() as AddressInfo;
  const shownHost = bound.family === "IPv6" ? `[${bound.address}]` : bound.address;
  return {
    address: `${shownHost}:${bound.port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
