import net from "node:net";

/** One proxied connection: the accepted socket and, once connected, the one to the target. */
interface Link {
  client: net.Socket;
  target: net.Socket | undefined;
}

/**
 * A TCP proxy on 127.0.0.1 for tests: every connection is forwarded to `targetPort` on
 * 127.0.0.1, bytes as they are (TLS passes through, so the client still verifies the server).
 *
 * {@link TcpProxy.freeze} acts like a network partition: no byte moves in either direction, new
 * connections are accepted but not connected onward, and a side that closes is not seen by the
 * other. {@link TcpProxy.thaw} ends it: what was held flows on, including closes.
 */
export class TcpProxy {
  readonly port: number;
  readonly #server: net.Server;
  readonly #targetPort: number;
  readonly #links = new Set<Link>();
  /** Work held back while frozen: onward connections and closes. */
  #held: (() => void)[] = [];
  #frozen = false;

  private constructor(server: net.Server, port: number, targetPort: number) {
    this.#server = server;
    this.port = port;
    this.#targetPort = targetPort;
    server.on("connection", (socket) => this.#accept(socket));
  }

  /** Listens on 127.0.0.1 on a free port. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const server = net.createServer({ pauseOnConnect: true });
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(0, "127.0.0.1", () => resolve());
    });
    const address = server.address() as net.AddressInfo;
    return new TcpProxy(server, address.port, targetPort);
  }

  get frozen(): boolean {
    return this.#frozen;
  }

  /** Stops forwarding in both directions and holds every connection, open or new. */
  freeze(): void {
    this.#frozen = true;
    for (const link of this.#links) {
      link.client.pause();
      link.target?.pause();
    }
  }

  /** Forwards again: held bytes, connections and closes go through. */
  thaw(): void {
    this.#frozen = false;
    const held = this.#held;
    this.#held = [];
    for (const run of held) run();
    for (const link of this.#links) {
      link.client.resume();
      link.target?.resume();
    }
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    this.#held = [];
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const link of this.#links) {
      link.client.destroy();
      link.target?.destroy();
    }
    this.#links.clear();
    await closed;
  }

  /** Runs `work` now, or at the thaw when frozen. */
  #whenFlowing(work: () => void): void {
    if (this.#frozen) this.#held.push(work);
    else work();
  }

  #accept(client: net.Socket): void {
    const link: Link = { client, target: undefined };
    this.#links.add(link);
    client.on("error", () => {});
    this.#whenFlowing(() => this.#connect(link));
  }

  #connect(link: Link): void {
    const { client } = link;
    if (client.destroyed) {
      this.#links.delete(link);
      return;
    }
    const target = net.connect(this.#targetPort, "127.0.0.1");
    link.target = target;
    target.on("error", () => {});
    this.#pipe(client, target);
    this.#pipe(target, client);
    const closeBoth = () =>
      this.#whenFlowing(() => {
        client.destroy();
        target.destroy();
        this.#links.delete(link);
      });
    client.on("close", closeBoth);
    target.on("close", closeBoth);
    if (!this.#frozen) client.resume();
  }

  /** Forwards `from` to `to` with back-pressure; reading stops while frozen. */
  #pipe(from: net.Socket, to: net.Socket): void {
    from.on("data", (chunk) => {
      if (!to.write(chunk)) from.pause();
    });
    to.on("drain", () => {
      if (!this.#frozen) from.resume();
    });
    from.on("end", () => this.#whenFlowing(() => to.end()));
  }
}
