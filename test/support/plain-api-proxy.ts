import { readFile } from "node:fs/promises";
import http from "node:http";
import https from "node:https";
import type { AddressInfo } from "node:net";
import type { ControlPlane } from "../../src/localcloud/control-plane.ts";

/**
 * A plain-HTTP forwarder on 127.0.0.1 to a local-cloud API server, authenticating upstream with
 * the admin client certificate, like `kubectl proxy`. Tests switch on faults a real API server
 * will not produce by itself: watches ended at once, watches frozen mid-stream, a list whose
 * resourceVersion is rewritten.
 */
export class PlainApiProxy {
  /** Requests so far, by kind: complete lists, lists from a resourceVersion, watches. */
  lists = 0;
  versionChecks = 0;
  watches = 0;
  /** Answer every watch with an empty 200 at once, without asking the API server. */
  endWatchesAtOnce = false;
  /** Rewrite the resourceVersion of the next list response to this, then forget it. */
  rewriteNextListVersion: string | undefined;
  readonly #server: http.Server;
  readonly #agent: https.Agent;
  readonly #upstream: URL;
  /** Open watch streams from the API server, so they can be frozen. */
  readonly #openWatches = new Set<http.IncomingMessage>();

  private constructor(server: http.Server, agent: https.Agent, upstream: URL) {
    this.#server = server;
    this.#agent = agent;
    this.#upstream = upstream;
  }

  static async start(plane: ControlPlane): Promise<PlainApiProxy> {
    const pki = plane.pki!;
    const agent = new https.Agent({
      keepAlive: true,
      ca: await readFile(pki.caCert),
      cert: await readFile(pki.adminCert),
      key: await readFile(pki.adminKey),
    });
    let proxy: PlainApiProxy | undefined;
    const server = http.createServer((req, res) => proxy!.#forward(req, res));
    proxy = new PlainApiProxy(server, agent, new URL(plane.server));
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  /**
   * Stops passing on anything more from the watches open now (their data stays queued
   * upstream), like a network path that went silent; new requests still pass.
   */
  freezeOpenWatches(): void {
    for (const upstream of this.#openWatches) upstream.unpipe();
  }

  async close(): Promise<void> {
    this.#server.closeAllConnections();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
    this.#agent.destroy();
  }

  #forward(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? "/", this.#upstream);
    const watch = url.searchParams.get("watch") === "true";
    if (watch) this.watches++;
    else if (req.method === "GET" && url.searchParams.has("resourceVersion")) this.versionChecks++;
    else if (req.method === "GET") this.lists++;
    if (watch && this.endWatchesAtOnce) {
      res.writeHead(200, { "Content-Type": "application/json" }).end();
      return;
    }
    const rewrite = !watch && req.method === "GET" ? this.rewriteNextListVersion : undefined;
    const headers = { ...req.headers, host: this.#upstream.host };
    if (rewrite !== undefined) delete headers["accept-encoding"]; // the body is edited here
    const upstreamReq = https.request(
      url,
      { method: req.method ?? "GET", headers, agent: this.#agent },
      (upstream) => {
        if (rewrite !== undefined) {
          this.rewriteNextListVersion = undefined;
          const chunks: Buffer[] = [];
          upstream.on("data", (c: Buffer) => chunks.push(c));
          upstream.on("end", () => {
            const body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as {
              metadata?: { resourceVersion?: string };
            };
            if (body.metadata) body.metadata.resourceVersion = rewrite;
            const text = JSON.stringify(body);
            const { "content-length": _length, ...rest } = upstream.headers;
            res.writeHead(upstream.statusCode ?? 502, rest).end(text);
          });
          return;
        }
        res.writeHead(upstream.statusCode ?? 502, upstream.headers);
        res.flushHeaders();
        if (watch) {
          this.#openWatches.add(upstream);
          upstream.on("close", () => this.#openWatches.delete(upstream));
        }
        upstream.pipe(res);
      },
    );
    const fail = () => {
      upstreamReq.destroy();
      res.destroy();
    };
    upstreamReq.on("error", fail);
    // The client went away mid-response (a watch it aborted, say): end the upstream call too.
    res.on("close", () => {
      if (!res.writableFinished) upstreamReq.destroy();
    });
    req.pipe(upstreamReq);
  }
}
