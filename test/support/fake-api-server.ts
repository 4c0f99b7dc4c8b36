import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Kubeconfig } from "../../src/kube/kubeconfig.ts";
import { kubeconfigFromText } from "../../src/kube/load-kubeconfig.ts";

/** One request the fake server saw. */
export interface SeenRequest {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  watch: boolean;
}

/** Answers one request; may write and end `res` at any pace. */
export type FakeHandler = (req: SeenRequest, res: http.ServerResponse) => void | Promise<void>;

/**
 * A plain-HTTP server on 127.0.0.1 that plays an API server for unit tests: each request goes
 * to `handler`, which the test scripts. It records every request and closes every connection
 * (open watches included) on close().
 */
export class FakeApiServer {
  readonly seen: SeenRequest[] = [];
  handler: FakeHandler = (_req, res) => {
    res.writeHead(404).end();
  };
  readonly #server: http.Server;

  private constructor(server: http.Server) {
    this.#server = server;
  }

  static async start(): Promise<FakeApiServer> {
    let fake: FakeApiServer | undefined;
    const server = http.createServer((req, res) => {
      const url = new URL(req.url ?? "/", "http://127.0.0.1");
      const seen: SeenRequest = {
        method: req.method ?? "GET",
        path: url.pathname,
        query: url.searchParams,
        headers: req.headers,
        watch: url.searchParams.get("watch") === "true",
      };
      fake!.seen.push(seen);
      Promise.resolve(fake!.handler(seen, res)).catch((err: unknown) => {
        res.destroy(err instanceof Error ? err : new Error(String(err)));
      });
    });
    fake = new FakeApiServer(server);
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return fake;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /** Requests for complete lists (not watches, not lists from a resourceVersion) so far. */
  get lists(): SeenRequest[] {
    return this.seen.filter(
      (r) => r.method === "GET" && !r.watch && !r.query.has("resourceVersion"),
    );
  }

  /** Lists from a resourceVersion (a reflector checking its version after a silent watch). */
  get versionChecks(): SeenRequest[] {
    return this.seen.filter(
      (r) => r.method === "GET" && !r.watch && r.query.has("resourceVersion"),
    );
  }

  get watches(): SeenRequest[] {
    return this.seen.filter((r) => r.watch);
  }

  /**
   * A kubeconfig for this server (loaded with allowInsecure, as an `http://` server needs), its
   * user `fake-user` with the given fields, in kubeconfig spelling: a static token by default.
   */
  kubeConfig(user: Record<string, unknown> = { token: "fake-token" }): Kubeconfig {
    const text = JSON.stringify({
      "current-context": "fake",
      contexts: [{ name: "fake", context: { cluster: "fake", user: "fake-user" } }],
      clusters: [{ name: "fake", cluster: { server: this.url } }],
      users: [{ name: "fake-user", user }],
    });
    return kubeconfigFromText(text, { allowInsecure: true });
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }
}

/** Writes a JSON response. */
export function sendJson(
  res: http.ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", ...headers }).end(text);
}

/** A metav1.Status failure body. */
export function status(
  code: number,
  reason: string,
  details?: Record<string, unknown>,
): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: `fake ${reason}`,
    reason,
    code,
    ...(details ? { details } : {}),
  };
}

/** A list body of `items` at `resourceVersion`. */
export function listOf(items: unknown[], resourceVersion: string): Record<string, unknown> {
  return { kind: "List", apiVersion: "v1", metadata: { resourceVersion }, items };
}

/** A ConfigMap-like object. */
export function object(
  name: string,
  resourceVersion: string,
  extra: Record<string, unknown> = {},
): { metadata: { name: string; namespace: string; resourceVersion: string } } {
  return { metadata: { name, namespace: "ns", resourceVersion }, ...extra };
}
