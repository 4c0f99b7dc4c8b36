import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import type { KubeClient } from "../kube/kube-client.ts";
import { KubeburstProcess } from "../localcloud/kubeburst-process.ts";
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
  /** `http://<production ClusterIP>:80/` */
  readonly url: string;
  readonly kubeburst: KubeburstProcess;
  /** The production pods, `web-1`… in private. */
  readonly productionPods: readonly LocalPod[];
  readonly #dir: string;
  readonly #log: (line: string) => void;
  /** Every replica started, the first one included: close() stops them all. */
  readonly #replicas: KubeburstProcess[] = [];
  #peakPods: LocalPod[];
  #nextPeak: number;

  private constructor(init: {
    cloud: LocalCloud;
    mode: ScenarioMode;
    node: LocalNode;
    url: string;
    kubeburst: KubeburstProcess;
    dir: string;
    log: (line: string) => void;
    productionPods: LocalPod[];
    peakPods: LocalPod[];
  }) {
    this.cloud = init.cloud;
    this.mode = init.mode;
    this.node = init.node;
    this.url = init.url;
    this.kubeburst = init.kubeburst;
    this.productionPods = init.productionPods;
    this.#dir = init.dir;
    this.#log = init.log;
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
    const log = opts.log;
    const dir = await mkdtemp(path.join(tmpdir(), "kubeburst-scenario-"));
    let cloud: LocalCloud | undefined;
    let kubeburst: KubeburstProcess | undefined;
    try {
      cloud = await LocalCloud.start(
        [
          { name: "private", controllerManager: true },
          { name: "public", controllerManager: true },
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
                addresses: productionPods.map((p) => ({ ip: p.ip })),
                ports: [{ name: "http", port: PORT, protocol: "TCP" }],
              },
            ],
          },
        });
      }
      await createService(peak, { labels: {}, selector: labels });
      let productionKubeconfig = cloud.cluster("private").kubeconfigPath;
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
              podCIDRs: [cloud.podRange("private")],
              serviceCIDRs: [cloud.cluster("private").serviceCIDR],
            },
            {
              name: "public",
              role: "peak",
              kubeconfig: cloud.cluster("public").kubeconfigPath,
              allowedCIDRs: [cloud.podRange("public")],
            },
          ],
          mode,
          metrics: { address: "127.0.0.1:0" },
          ...opts.config,
        }),
      );
      kubeburst = await KubeburstProcess.start(configPath, dir);
      await kubeburst.waitReady();
      log(`kubeburst running (${mode} mode)`);
      const scenario = new BurstScenario({
        cloud,
        mode,
        node,
        url: `http://${svc.spec.clusterIP}:80/`,
        kubeburst,
        dir,
        log,
        productionPods,
        peakPods,
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
    const kb = await KubeburstProcess.start(this.configPath, this.#dir, name);
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

  /** Sends `count` requests to the production ClusterIP from the private node. */
  send(count: number): Promise<{ byPod: Record<string, number>; failed: number }> {
    return this.cloud.httpFromNode(this.node, this.url, count);
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
    const batch = 10 * expected.length;
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
      `production's data path did not serve ${this.url} from ${this.node.cluster}/${this.node.name} within ${DATA_PATH_TIMEOUT_MS} ms: expected answers from ${expected.join(", ")} and no failures, last batch ${JSON.stringify(last)}`,
    );
  }

  #peak(): KubeClient {
    return this.cloud.cluster("public").client;
  }
}

async function createService(
  client: KubeClient,
  opts: { labels: Record<string, string>; selector?: Record<string, string> },
): Promise<{ spec: { clusterIP: string } }> {
  return client.request({
    method: "POST",
    path: `/api/v1/namespaces/${NAMESPACE}/services`,
    body: {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: SERVICE, namespace: NAMESPACE, labels: opts.labels },
      spec: {
        ...(opts.selector ? { selector: opts.selector } : {}),
        ports: [{ name: "http", port: 80, protocol: "TCP", targetPort: PORT }],
      },
    },
  });
}
