// The benchmark's two clusters on the local cloud: `production` (with room for thousands of
// Services) and `peak` (with kube-controller-manager when the propagation section runs), and
// kubeburst's config file for them.
import { writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import { KubeApiError } from "../src/kube/kube-api-error.ts";
import type { KubeClient } from "../src/kube/kube-client.ts";
import { LocalCloud } from "../src/localcloud/local-cloud.ts";
import { runConcurrently } from "../src/localcloud/run-concurrently.ts";

export const PRODUCTION = "production";
export const PEAK = "peak";

/**
 * kube-controller-manager's client limits in the peak. Its defaults (20 QPS, burst 30) would
 * queue the in-cluster baseline behind a client-side rate limit under a churn of 50 changes a
 * second; raised so the baseline measures the controller, not the throttle.
 */
export const peakControllerManagerArgs = ["--kube-api-qps=200", "--kube-api-burst=400"];

/** The peak's cap on imported endpoints per Service: high enough for every section. */
export const maxEndpointsPerService = 100_000;

export interface KubeburstConfigOptions {
  /** resyncPeriod, seconds; default 600 (kubeburst's default). */
  resyncPeriodSeconds?: number;
}

export class BenchCloud {
  readonly cloud: LocalCloud;
  readonly production: KubeClient;
  readonly peak: KubeClient;
  readonly peakControllerManager: boolean;

  private constructor(cloud: LocalCloud, peakControllerManager: boolean) {
    this.cloud = cloud;
    this.production = cloud.cluster(PRODUCTION).client;
    this.peak = cloud.cluster(PEAK).client;
    this.peakControllerManager = peakControllerManager;
  }

  /** Starts both clusters and gives each a large Service range (the peak's Services need ClusterIPs too). */
  static async start(opts: {
    peakControllerManager: boolean;
    log: (line: string) => void;
  }): Promise<BenchCloud> {
    const cloud = await LocalCloud.start(
      [
        { name: PRODUCTION },
        {
          name: PEAK,
          controllerManager: opts.peakControllerManager,
          ...(opts.peakControllerManager
            ? { controllerManagerArgs: peakControllerManagerArgs }
            : {}),
        },
      ],
      { log: opts.log },
    );
    try {
      await cloud.addLargeServiceRange(PRODUCTION);
      await cloud.addLargeServiceRange(PEAK);
      return new BenchCloud(cloud, opts.peakControllerManager);
    } catch (err) {
      await cloud.close();
      throw err;
    }
  }

  /** Folder for config files and logs (removed with the cloud unless KUBEBURST_KEEP_LOGS). */
  get dir(): string {
    return this.cloud.dir;
  }

  get peakIndex(): number {
    return this.cloud.cluster(PEAK).index;
  }

  /** Creates namespace `name` in both clusters (idempotent). */
  async ensureNamespace(name: string): Promise<void> {
    await this.cloud.ensureNamespace(PRODUCTION, name);
    await this.cloud.ensureNamespace(PEAK, name);
  }

  /** The kube-apiserver's gitVersion. */
  async kubernetesVersion(): Promise<string> {
    const v = await this.production.request<{ gitVersion?: string }>({
      method: "GET",
      path: "/version",
    });
    return v.gitVersion ?? "unknown";
  }

  /** The settings every kubeburst of the run gets (for the report). */
  kubeburstSettings(opts: KubeburstConfigOptions = {}): Record<string, unknown> {
    return {
      clusters: [
        {
          name: PRODUCTION,
          role: "production",
          kubeconfig: this.cloud.cluster(PRODUCTION).kubeconfigPath,
          podCIDRs: [this.cloud.podRange(PRODUCTION)],
          serviceCIDRs: this.cloud.serviceRanges(PRODUCTION),
        },
        {
          name: PEAK,
          role: "peak",
          kubeconfig: this.cloud.cluster(PEAK).kubeconfigPath,
          allowedCIDRs: [this.cloud.podRange(PEAK)],
          maxEndpointsPerService,
        },
      ],
      resyncPeriod: `${opts.resyncPeriodSeconds ?? 600}s`,
      metrics: { address: "127.0.0.1:0" },
    };
  }

  /** Writes kubeburst's config file `<name>.yaml`; returns its path. */
  async writeConfig(name: string, opts: KubeburstConfigOptions = {}): Promise<string> {
    const file = path.join(this.dir, `${name}.yaml`);
    await writeFile(file, stringify(this.kubeburstSettings(opts)));
    return file;
  }

  /**
   * POSTs every object to its collection, `concurrency` at a time. A server error, timeout or
   * 429 is retried up to 4 times; "already exists" on a retry means the first attempt got
   * through.
   */
  async createAll(
    client: KubeClient,
    items: readonly { collection: string; body: object }[],
    concurrency = 24,
  ): Promise<void> {
    await runConcurrently(items, concurrency, async ({ collection, body }) => {
      for (let attempt = 1; ; attempt++) {
        try {
          await client.request({ method: "POST", path: collection, body, timeoutMs: 60_000 });
          return;
        } catch (err) {
          const kind = err instanceof KubeApiError ? err.kind : undefined;
          if (attempt > 1 && kind === "already-exists") return;
          const transient =
            kind === "server-error" || kind === "timeout" || kind === "too-many-requests";
          if (!transient || attempt === 5) throw err;
          await new Promise((r) => setTimeout(r, 200 * attempt));
        }
      }
    });
  }

  /** Deletes every EndpointSlice matching `labelSelector` in `namespaces` of `client`'s cluster. */
  async deleteSlices(
    client: KubeClient,
    namespaces: readonly string[],
    labelSelector: string,
  ): Promise<void> {
    for (const ns of namespaces) {
      await client.request({
        method: "DELETE",
        path: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
        query: { labelSelector },
        timeoutMs: 300_000,
      });
    }
  }

  /** Deletes Services `namespace/name` of `client`'s cluster, `concurrency` at a time. */
  async deleteServices(
    client: KubeClient,
    keys: readonly string[],
    concurrency = 24,
  ): Promise<void> {
    await runConcurrently(keys, concurrency, async (key) => {
      const [ns, name] = key.split("/") as [string, string];
      try {
        await client.request({
          method: "DELETE",
          path: `/api/v1/namespaces/${ns}/services/${name}`,
        });
      } catch (err) {
        if ((err as { kind?: string }).kind !== "not-found") throw err;
      }
    });
  }

  /** Events in `namespaces` of production now (list with limit 1 and the remaining count). */
  async countEvents(namespaces: readonly string[]): Promise<number> {
    let total = 0;
    for (const ns of namespaces) {
      const page = await this.production.request<{
        items: unknown[];
        metadata?: { remainingItemCount?: number };
      }>({ method: "GET", path: `/api/v1/namespaces/${ns}/events`, query: { limit: 1 } });
      total += page.items.length + (page.metadata?.remainingItemCount ?? 0);
    }
    return total;
  }

  async close(): Promise<void> {
    await this.cloud.close();
  }
}
