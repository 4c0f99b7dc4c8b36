import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { KubeClient } from "../kube/kube-client.ts";
import { familiesOf, type IpFamilyOption } from "../localcloud/address-plan.ts";
import {
  type KubeburstLauncher,
  KubeburstProcess,
  type KubeburstStart,
} from "../localcloud/kubeburst-process.ts";
import { LocalCloud, type LocalNode, type LocalPod } from "../localcloud/local-cloud.ts";
import { applyRbacManifest } from "../localcloud/rbac-manifest.ts";

export type ScenarioMode = "endpointslice" | "endpoints";

export interface ScenarioOptions {
  log: (line: string) => void;
  /** What kubeburst writes; in `endpoints` mode the production Service is selector-less. */
  mode?: ScenarioMode;
  productionPods?: number;
  peakPods?: number;
  /** Fields of kubeburst's config file over the scenario's (leaderElection, staleTTL, api…). */
  config?: Record<string, unknown>;
  /**
   * kubeburst reaches production as ServiceAccount kubeburst/kubeburst (a TokenRequest token) with exactly the rights of
   * `deploy/rbac-production.yaml` (not as the admin), so that {@link BurstScenario.setProductionRbac}
   * can take one away.
   */
  leastPrivilege?: boolean;
  /**
   * Both clusters and both Services: "ipv4" (default), "ipv6" (IPv6-only clusters) or "dual"
   * (dual-stack clusters, RequireDualStack Services; requests go to both ClusterIPs).
   */
  ipFamily?: IpFamilyOption;
  /** How kubeburst is started (default: this clone's `bin/kubeburst.js`); replicas too. */
  launch?: KubeburstLauncher;
  /**
   * Runs kubeburst inside the private node's namespace, as a pod on a production node would run:
   * it then reaches pod addresses (reachability probes need that) and its API servers through
   * forwarders on that namespace's loopback.
   */
  kubeburstInNode?: boolean;
  /** The peak cluster's reachability probe settings (`clusters[].probe` in the config). */
  peakProbe?: Record<string, unknown>;
}

const productionRbacFile = fileURLToPath(
  new URL("../../deploy/rbac-production.yaml", import.meta.url),
);

const NAMESPACE = "shop";
const SERVICE = "web";
const PORT = 8080;
/** How long production's own data path may take to serve after the Service exists (two busy cores). */
const DATA_PATH_TIMEOUT_MS = 120_000;

/**
 * The story kubeburst exists for, on the local cloud: a private cluster whose production Service
 * `shop/web` has its own pods behind a real kube-proxy, a public cluster with the same-named
 * Service and more pods, the two pod networks routed to each other, and `kubeburst run` between
 * them. The end-to-end test, `kubeburst demo` and the burst-latency benchmark all drive it.
 */
export class BurstScenario {
  readonly cloud: LocalCloud;
  readonly mode: ScenarioMode;
  /** The private cluster's node: requests from here go through its kube-proxy. */
  readonly node: LocalNode;
  /** `http://<production ClusterIP>:80/`, of its primary family. */
  readonly url: string;
  /** One URL per ClusterIP of the production Service (two when dual-stack), primary first. */
  readonly urls: readonly string[];
  readonly kubeburst: KubeburstProcess;
  /** The production pods, `web-1`… in private. */
  readonly productionPods: readonly LocalPod[];
  readonly #dir: string;
  readonly #log: (line: string) => void;
  /** How every replica is started: the same way as the first. */
  readonly #start: KubeburstStart;
  /** Every replica started, the first one included: close() stops them all. */
  readonly #replicas: KubeburstProcess[] = [];
  #peakPods: LocalPod[];
  #nextPeak: number;

  private constructor(init: {
    cloud: LocalCloud;
    mode: ScenarioMode;
    node: LocalNode;
    urls: string[];
    kubeburst: KubeburstProcess;
    dir: string;
    log: (line: string) => void;
    productionPods: LocalPod[];
    peakPods: LocalPod[];
    start: KubeburstStart;
  }) {
    this.cloud = init.cloud;
    this.mode = init.mode;
    this.node = init.node;
    this.urls = init.urls;
    this.url = init.urls[0]!;
    this.kubeburst = init.kubeburst;
    this.productionPods = init.productionPods;
    this.#dir = init.dir;
    this.#log = init.log;
    this.#start = init.start;
    this.#peakPods = init.peakPods;
    this.#nextPeak = init.peakPods.length + 1;
    this.#replicas.push(init.kubeburst);
  }

  /**
   * Starts both clusters, the pods, the Services (the peak one not yet labelled) and kubeburst,
   * and resolves once production's own data path serves: requests to the ClusterIP from the
   * private node are answered by every production pod, none failing. On failure everything
   * started so far is stopped and deleted before the error is thrown.
   */
  static async start(opts: ScenarioOptions): Promise<BurstScenario> {
    const mode = opts.mode ?? "endpointslice";
    const ipFamily = opts.ipFamily ?? "ipv4";
    // Only dual-stack needs saying: a single-stack Service takes its cluster's one family.
    const ipFamilies = ipFamily === "dual" ? familiesOf(ipFamily) : undefined;
    const log = opts.log;
    const dir = await mkdtemp(path.join(tmpdir(), "kubeburst-scenario-"));
    let cloud: LocalCloud | undefined;
    let kubeburst: KubeburstProcess | undefined;
    try {
      cloud = await LocalCloud.start(
        [
          { name: "private", controllerManager: true, ipFamily },
          { name: "public", controllerManager: true, ipFamily },
        ],
        { log },
      );
      const prod = cloud.cluster("private").client;
      const peak = cloud.cluster("public").client;
      const [node] = await Promise.all([
        cloud.addNode("private", "node-1"),
        cloud.addNode("public", "node-1", { dataPath: false }),
      ]);
      for (const name of ["private", "public"]) await cloud.ensureNamespace(name, NAMESPACE);

      const labels = { app: SERVICE };
      const productionPods: LocalPod[] = [];
      for (let i = 1; i <= (opts.productionPods ?? 2); i++) {
        productionPods.push(
          await cloud.addPod("private", {
            name: `web-${i}`,
            namespace: NAMESPACE,
            labels,
            port: PORT,
          }),
        );
      }
      const peakPods: LocalPod[] = [];
      for (let i = 1; i <= (opts.peakPods ?? 3); i++) {
        peakPods.push(
          await cloud.addPod("public", {
            name: `web-p${i}`,
            namespace: NAMESPACE,
            labels,
            port: PORT,
          }),
        );
      }
      log(`pods: ${productionPods.length} in private, ${peakPods.length} in public`);

      const svc = await createService(prod, {
        labels: { "kubeburst.io/role": "production" },
        ...(mode === "endpoints" ? {} : { selector: labels }),
        ipFamilies,
      });
      if (mode === "endpoints") {
        // A selector-less Service: its Endpoints are the user's, listing the production pods.
        await prod.request({
          method: "POST",
          path: `/api/v1/namespaces/${NAMESPACE}/endpoints`,
          body: {
            apiVersion: "v1",
            kind: "Endpoints",
            metadata: { name: SERVICE, namespace: NAMESPACE },
            subsets: [
              {
                addresses: productionPods.flatMap((p) => p.ips.map((ip) => ({ ip }))),
                ports: [{ name: "http", port: PORT, protocol: "TCP" }],
              },
            ],
          },
        });
      }
      await createService(peak, { labels: {}, selector: labels, ipFamilies });
      let productionKubeconfig = cloud.cluster("private").kubeconfigPath;
      let peakKubeconfig = cloud.cluster("public").kubeconfigPath;
      if (opts.kubeburstInNode) {
        productionKubeconfig = path.join(dir, "private-in-node.kubeconfig");
        peakKubeconfig = path.join(dir, "public-in-node.kubeconfig");
        await writeFile(productionKubeconfig, await cloud.apiInNode(node, "private", 6443), {
          mode: 0o600,
        });
        await writeFile(peakKubeconfig, await cloud.apiInNode(node, "public", 6444), {
          mode: 0o600,
        });
      }
      if (opts.leastPrivilege) {
        await applyRbacManifest(cloud, "private", productionRbacFile);
        productionKubeconfig = path.join(dir, "private-kubeburst.kubeconfig");
        await writeFile(
          productionKubeconfig,
          await cloud.cluster("private").serviceAccountKubeconfig("kubeburst", "kubeburst"),
          { mode: 0o600 },
        );
      }
      // The Lease of leader election lives in kubeburst's namespace.
      await cloud.ensureNamespace("private", "kubeburst");

      const configPath = path.join(dir, "kubeburst.yaml");
      await writeFile(
        configPath,
        stringify({
          clusters: [
            {
              name: "private",
              role: "production",
              kubeconfig: productionKubeconfig,
              podCIDRs: cloud.podRanges("private"),
              serviceCIDRs: cloud.cluster("private").serviceCIDRs,
            },
            {
              name: "public",
              role: "peak",
              kubeconfig: peakKubeconfig,
              allowedCIDRs: cloud.podRanges("public"),
              ...(opts.peakProbe ? { probe: opts.peakProbe } : {}),
            },
          ],
          mode,
          metrics: { address: "127.0.0.1:0" },
          ...opts.config,
        }),
      );
      const start: KubeburstStart = {
        launch: opts.launch,
        netns: opts.kubeburstInNode ? node.netns : undefined,
      };
      kubeburst = await KubeburstProcess.start(configPath, dir, "kubeburst", start);
      await kubeburst.waitReady();
      log(`kubeburst running (${mode} mode, ${ipFamily})`);
      const scenario = new BurstScenario({
        cloud,
        mode,
        node,
        urls: svc.spec.clusterIPs.map(clusterIpUrl),
        kubeburst,
        dir,
        log,
        productionPods,
        peakPods,
        start,
      });
      await scenario.#waitForProductionDataPath();
      return scenario;
    } catch (err) {
      // Every step runs; the start failure stays the error, a teardown failure is logged too.
      const teardown = [
        () => kubeburst?.stop(),
        () => cloud?.close(),
        () => rm(dir, { recursive: true, force: true }),
      ];
      for (const step of teardown) {
        await Promise.resolve()
          .then(step)
          .catch((e: unknown) => log(`teardown after a failed start: ${String(e)}`));
      }
      throw err;
    }
  }

  /** The peak pods now. */
  get peakPods(): readonly LocalPod[] {
    return this.#peakPods;
  }

  /** kubeburst's config file: {@link BurstScenario.startReplica} runs more processes with it. */
  get configPath(): string {
    return path.join(this.#dir, "kubeburst.yaml");
  }

  /**
   * Starts another `kubeburst run` with the same config (another replica, or a restart after a
   * kill), logging to `<name>.log`; close() stops it. Resolves once it serves /metrics.
   */
  async startReplica(name: string): Promise<KubeburstProcess> {
    const kb = await KubeburstProcess.start(this.configPath, this.#dir, name, this.#start);
    this.#replicas.push(kb);
    return kb;
  }

  /**
   * With `leastPrivilege`: gives kubeburst's production identity the rights of
   * `deploy/rbac-production.yaml` again, without every rule naming `without` when given.
   */
  async setProductionRbac(without?: string): Promise<void> {
    await applyRbacManifest(this.cloud, "private", productionRbacFile, without);
  }

  /**
   * Sends `count` requests to the production ClusterIPs from the private node, split evenly
   * over them when there are two (dual-stack); who answered, summed.
   */
  async send(count: number): Promise<{ byPod: Record<string, number>; failed: number }> {
    const byPod: Record<string, number> = {};
    let failed = 0;
    for (const [i, url] of this.urls.entries()) {
      const share = Math.floor(count / this.urls.length) + (i < count % this.urls.length ? 1 : 0);
      if (share === 0) continue;
      const r = await this.cloud.httpFromNode(this.node, url, share);
      failed += r.failed;
      for (const [pod, n] of Object.entries(r.byPod)) byPod[pod] = (byPod[pod] ?? 0) + n;
    }
    return { byPod, failed };
  }

  /**
   * {@link LocalCloud.streamFromNode} to every production ClusterIP at once, `rps` a second in
   * all; stop() ends every stream.
   */
  stream(
    rps: number,
    onResponse: (at: number, who: string | null) => void,
  ): { stop: () => Promise<void> } {
    const streams = this.urls.map((url) =>
      this.cloud.streamFromNode(this.node, url, rps / this.urls.length, onResponse),
    );
    return { stop: async () => void (await Promise.all(streams.map((s) => s.stop()))) };
  }

  /** Labels the peak Service `peak` (burst on) or removes the label (burst off). */
  async setBurst(on: boolean): Promise<void> {
    await this.#peak().request({
      method: "PATCH",
      path: `/api/v1/namespaces/${NAMESPACE}/services/${SERVICE}`,
      contentType: "application/merge-patch+json",
      body: { metadata: { labels: { "kubeburst.io/role": on ? "peak" : null } } },
    });
  }

  /**
   * Merge-patches the production Service's annotations (null removes one): how its burst policy
   * is chosen and tuned.
   */
  async annotateProduction(annotations: Record<string, string | null>): Promise<void> {
    await this.cloud.cluster("private").client.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${NAMESPACE}/services/${SERVICE}`,
      contentType: "application/merge-patch+json",
      body: { metadata: { annotations } },
    });
  }

  /** Reports the first `count` production pods not ready and the rest ready, as a kubelet would. */
  async setProductionNotReady(count: number): Promise<void> {
    await Promise.all(this.productionPods.map((p, i) => this.cloud.setPodReady(p, i >= count)));
  }

  /** Reports every peak pod Ready or not, as a kubelet would. */
  async setPeakReady(ready: boolean): Promise<void> {
    await Promise.all(this.#peakPods.map((p) => this.cloud.setPodReady(p, ready)));
  }

  /** Removes or adds peak pods until there are `count`. */
  async scalePeak(count: number): Promise<void> {
    while (this.#peakPods.length > count) {
      const pod = this.#peakPods.pop()!;
      await this.cloud.removePod(pod);
    }
    while (this.#peakPods.length < count) {
      const name = `web-p${this.#nextPeak++}`;
      this.#peakPods.push(
        await this.cloud.addPod("public", {
          name,
          namespace: NAMESPACE,
          labels: { app: SERVICE },
          port: PORT,
        }),
      );
    }
    this.#log(`public now has ${count} peak pod(s)`);
  }

  /** Stops kubeburst and both clusters; deletes everything the scenario made. */
  async close(): Promise<void> {
    try {
      for (const kb of this.#replicas) await kb.stop();
    } finally {
      await this.cloud.close();
      if (!process.env.KUBEBURST_KEEP_LOGS) await rm(this.#dir, { recursive: true, force: true });
    }
  }

  /**
   * The Service exists before the private node's kube-proxy has programmed it and its
   * endpoints; until then requests to the ClusterIP fail. Waits (at most
   * {@link DATA_PATH_TIMEOUT_MS}) until one batch of requests is answered by every production
   * pod with none failing, so that whoever drives the scenario starts from a working
   * production-only data path.
   */
  async #waitForProductionDataPath(): Promise<void> {
    const expected = this.productionPods.map((p) => `private/${p.name}`).sort();
    if (expected.length === 0) return; // nothing serves production on its own
    // 20 requests over 2 pods miss one of them with probability 2^-19: a miss means unprogrammed.
    const batch = 10 * expected.length * this.urls.length; // 10 per pod per ClusterIP
    const started = Date.now();
    let last: { byPod: Record<string, number>; failed: number } | undefined;
    while (Date.now() - started < DATA_PATH_TIMEOUT_MS) {
      last = await this.send(batch);
      const servedBy = Object.keys(last.byPod).sort();
      if (last.failed === 0 && JSON.stringify(servedBy) === JSON.stringify(expected)) {
        this.#log(`production's data path serves (${Date.now() - started} ms)`);
        return;
      }
      await sleep(200);
    }
    throw new Error(
      `production's data path did not serve ${this.urls.join(" and ")} from ${this.node.cluster}/${this.node.name} within ${DATA_PATH_TIMEOUT_MS} ms: expected answers from ${expected.join(", ")} and no failures, last batch ${JSON.stringify(last)}`,
    );
  }

  #peak(): KubeClient {
    return this.cloud.cluster("public").client;
  }
}

/** `http://<ip>:80/`, with brackets around an IPv6 address. */
function clusterIpUrl(ip: string): string {
  return ip.includes(":") ? `http://[${ip}]:80/` : `http://${ip}:80/`;
}

async function createService(
  client: KubeClient,
  opts: {
    labels: Record<string, string>;
    selector?: Record<string, string>;
    ipFamilies: readonly string[] | undefined;
  },
): Promise<{ spec: { clusterIPs: string[] } }> {
  return client.request({
    method: "POST",
    path: `/api/v1/namespaces/${NAMESPACE}/services`,
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: SERVICE, namespace: NAMESPACE, labels: opts.labels },
      spec: {
        ...(opts.selector ? { selector: opts.selector } : {}),
        ...(opts.ipFamilies
          ? { ipFamilies: opts.ipFamilies, ipFamilyPolicy: "RequireDualStack" }
          : {}),
        ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: PORT }],
      },
    },
  });
}
