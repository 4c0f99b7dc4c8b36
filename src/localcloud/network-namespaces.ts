import { execFile } from "node:child_process";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Runs `ip` with `args`; a failure names the command and quotes its stderr. */
export async function ip(args: string[]): Promise<string> {
  try {
    const { stdout } = await run("ip", args);
    return stdout;
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(`ip ${args.join(" ")}: ${stderr.trim()}`, { cause: err });
  }
}

/**
 * The network of one local cloud: a bridge in a namespace of its own (the "fabric", the flat
 * network between all nodes and pods of every cluster), and the namespaces attached to it.
 * Every namespace has the run's prefix so that teardown deletes exactly what this run made.
 * No namespace gets a default route; the host's own namespace is never touched.
 */
export class Fabric {
  readonly prefix: string;
  readonly #created: string[] = [];
  #ports = 0;

  constructor(prefix: string) {
    this.prefix = prefix;
  }

  get fabricNs(): string {
    return `${this.prefix}-fabric`;
  }

  /** Creates the fabric namespace and its bridge. */
  async create(): Promise<void> {
    await this.#addNs(this.fabricNs);
    await ip(["-n", this.fabricNs, "link", "set", "lo", "up"]);
    // Without a multicast querier, snooping could drop IPv6 neighbour discovery between ports.
    await ip(["-n", this.fabricNs, "link", "add", "br0", "type", "bridge", "mcast_snooping", "0"]);
    await ip(["-n", this.fabricNs, "link", "set", "br0", "up"]);
  }

  /**
   * Creates namespace `<prefix>-<name>` with loopback up and an `eth0` on the bridge holding
   * each `address/prefixLen` (one per family); `routes` are extra on-link routes via eth0 (e.g.
   * a Service CIDR). IPv6 addresses are usable at once: duplicate address detection is off in
   * the namespace (every address here is planned, none can collide), so nothing waits for it.
   */
  async attach(
    name: string,
    cidrAddresses: string | readonly string[],
    routes: string[] = [],
  ): Promise<string> {
    const ns = `${this.prefix}-${name}`;
    const addresses = typeof cidrAddresses === "string" ? [cidrAddresses] : cidrAddresses;
    await this.#addNs(ns);
    const port = `p${++this.#ports}`;
    if (addresses.some((a) => a.includes(":"))) {
      // Before eth0 exists, so that its link-local address is not tentative either.
      await sysctl(ns, ["net.ipv6.conf.all.accept_dad=0", "net.ipv6.conf.default.accept_dad=0"]);
    }
    await ip(["-n", ns, "link", "set", "lo", "up"]);
    await ip([
      "-n",
      ns,
      "link",
      "add",
      "eth0",
      "type",
      "veth",
      "peer",
      "name",
      port,
      "netns",
      this.fabricNs,
    ]);
    await ip(["-n", this.fabricNs, "link", "set", port, "master", "br0", "up"]);
    for (const address of addresses) {
      const v6 = address.includes(":");
      await ip(["-n", ns, "addr", "add", address, "dev", "eth0", ...(v6 ? ["nodad"] : [])]);
    }
    await ip(["-n", ns, "link", "set", "eth0", "up"]);
    for (const r of routes) await ip(["-n", ns, "route", "add", r, "dev", "eth0"]);
    return ns;
  }

  /** Names of the namespaces this fabric created and has not deleted yet. */
  namespaces(): string[] {
    return [...this.#created];
  }

  /** Deletes every namespace it created (stop the processes inside them first). */
  async destroy(): Promise<void> {
    const errors: string[] = [];
    while (this.#created.length > 0) {
      const ns = this.#created.pop()!;
      try {
        await ip(["netns", "del", ns]);
      } catch (err) {
        errors.push((err as Error).message);
      }
    }
    if (errors.length > 0) throw new Error(`deleting namespaces: ${errors.join("; ")}`);
  }

  async #addNs(ns: string): Promise<void> {
    await ip(["netns", "add", ns]);
    this.#created.push(ns);
  }
}

/** Sets kernel parameters inside namespace `ns` (they are per namespace for networking). */
async function sysctl(ns: string, settings: string[]): Promise<void> {
  try {
    await run("ip", ["netns", "exec", ns, "sysctl", "-q", "-w", ...settings]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(`sysctl ${settings.join(" ")} in ${ns}: ${stderr.trim()}`, { cause: err });
  }
}

/** Names of all network namespaces on the machine (for leak checks in tests). */
export async function listNamespaces(): Promise<string[]> {
  const out = await ip(["netns", "list"]);
  return out
    .split("\n")
    .map((l) => l.split(" ")[0] ?? "")
    .filter((n) => n !== "");
}
