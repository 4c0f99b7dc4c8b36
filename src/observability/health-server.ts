import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { ExpectedError } from "./expected-error.ts";
import type { Metrics } from "./metrics.ts";

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
 * Serves `/metrics` (Prometheus text), `/healthz` (the process runs) and `/readyz` (200 once
 * `ready()` says so, 503 before, with the reason in the body). A known setup problem (address in
 * use, a privileged port, an address not on this machine) rejects with an {@link ExpectedError}
 * whose message names the address and the reason, and whose code is the system error code.
 */
export async function startHealthServer(
  host: string,
  port: number,
  metrics: Metrics,
  ready: () => { ready: boolean; reason: string },
): Promise<HealthServer> {
  const server: Server = createServer((req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    const reply = (status: number, body: string, type = "text/plain; charset=utf-8") => {
      res.writeHead(status, { "content-type": type }).end(body);
    };
    if (req.method !== "GET" && req.method !== "HEAD") return reply(405, "method not allowed\n");
    if (path === "/healthz") return reply(200, "ok\n");
    if (path === "/readyz") {
      const state = ready();
      return reply(state.ready ? 200 : 503, `${state.reason}\n`);
    }
    if (path === "/metrics") {
      metrics.registry.metrics().then(
        (text) => reply(200, text, metrics.registry.contentType),
        (err: unknown) => reply(500, `metrics failed: ${String(err)}\n`),
      );
      return;
    }
    reply(404, "not found: try /metrics, /healthz or /readyz\n");
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
