import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import os from "node:os";
import path from "node:path";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { AddressFamily } from "../domain/endpoints.ts";
import { KubeApiError } from "../kube/kube-api-error.ts";
import type { KubeClient } from "../kube/kube-client.ts";
import {
  allServiceRanges,
  apiFabricAddress,
  apiNodeAddress,
  apiNodePodCidr,
  clusterRange,
  clusterRange6,
  fabricPrefixLength,
  fabricPrefixLength6,
  familiesOf,
  type IpFamilyOption,
  kubeletPodSubnet,
  largeServiceRanges,
  maxApiNodes,
  maxClusters,
  nodeAddress,
  nodeAddress6,
  podAddress,
  podAddress6,
} from "./address-plan.ts";
import { ControlPlane, type ControlPlaneOptions } from "./control-plane.ts";
import { findK8sBinaries, type K8sBinaries } from "./k8s-binaries.ts";
import { KubeletNode } from "./kubelet-node.ts";
import { Fabric } from "./network-namespaces.ts";
import { type NodeImage, pauseImage, saveImage } from "./node-images.ts";
import {
  ProcessGroup,
  pollUntil,
  type StartedProcess,
  startNsForwarder,
  waitForOutput,
} from "./process-group.ts";
import { runConcurrently } from "./run-concurrently.ts";

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
/** Port kube-proxy uses inside a node namespace to reach its API server through the forwarder. */
const nodeApiPort = 6443;

export interface ClusterSpec {
  name: string;
  controllerManager?: boolean;
  garbageCollector?: boolean;
  /** Extra kube-apiserver flags (see ControlPlaneOptions.apiserverArgs). */
  apiserverArgs?: string[];
  /** Extra kube-controller-manager flags (benchmarks raise its client QPS, for example). */
  controllerManagerArgs?: string[];
  /**
   * "ipv4" (default), "ipv6" (IPv6-only) or "dual" (IPv4 primary): the families of its Service
   * range, of its nodes' and pods' addresses, and of what its kube-proxy programs.
   */
  ipFamily?: IpFamilyOption;
  /** More kube-controller-manager controllers (see ControlPlaneOptions.extraControllers). */
  extraControllers?: string[];
  /**
   * Real pods ({@link LocalCloud.addKubeletNode}): kube-scheduler, the controllers of
   * Deployments and ServiceAccounts, projected tokens, and the API server on the fabric where
   * pods reach it through the `kubernetes` Service. IPv4 and dual-stack clusters only.
   */
  pods?: boolean;
}

export interface LocalNode {
  cluster: string;
  name: string;
  /** Its network namespace; `undefined` for an API-only node. */
  netns: string | undefined;
  /** Its primary InternalIP. */
  address: string;
  /** Every InternalIP, primary first: one per family of its cluster. */
  addresses: readonly string[];
}

export interface NodeOptions {
  /**
   * `true` (default): a network namespace running kube-proxy. `false`: only the Node object,
   * for tests of the control plane that send no traffic (cheaper on two cores).
   */
  dataPath?: boolean;
}

export interface PodSpec {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  /** Node to bind to; the cluster's first node when omitted. */
  node?: string;
  /** Port the HTTP server listens on. Default 8080. */
  port?: number;
  /** Name of that container port (for Services with a named targetPort). Default "http". */
  portName?: string;
  ready?: boolean;
  /** `true` (default): a real HTTP server in its own namespace. `false`: only the Pod object. */
  serve?: boolean;
}

export interface LocalPod {
  cluster: string;
  name: string;
  namespace: string;
  node: string;
  /** The server's namespace and process; `undefined` for a Pod object without a server. */
  netns: string | undefined;
  /** Its primary IP. */
  ip: string;
  /** Every IP, primary first: one per family of its cluster (`status.podIPs`). */
  ips: readonly string[];
  process: StartedProcess | undefined;
}

interface ClusterState {
  plane: ControlPlane;
  nodes: LocalNode[];
  /** Started with `pods: true`: kubelet nodes may join. */
  realPods: boolean;
  /** The kubelets of the nodes {@link LocalCloud.addKubeletNode} added. */
  kubelets: KubeletNode[];
  /** The kubeconfig of its API server on the fabric, once {@link LocalCloud.exposeApi} ran. */
  fabricKubeconfig?: string;
  /** Nodes added by {@link LocalCloud.addApiNodes}, numbered apart from `nodes`. */
  apiNodes: LocalNode[];
  pods: LocalPod[];
  podCount: number;
  /** Service ranges beyond the cluster's /24 (ServiceCIDR objects this cloud added). */
  extraServiceRanges: string[];
}

/** Taint of the nodes without a kubelet in a cluster that also has kubelet nodes. */
export const noKubeletTaint = "localcloud.kubeburst.io/no-kubelet";

/** Label on the Node objects {@link LocalCloud.addApiNodes} creates, so they go in one call. */
const apiNodeLabel = "localcloud.kubeburst.io/api-node";

/**
 * Real Kubernetes clusters on one machine: per cluster etcd and kube-apiserver (and
 * kube-controller-manager where asked); nodes are network namespaces running kube-proxy in
 * nftables mode; pods are namespaces running a real HTTP server, reported Ready the way a kubelet
 * would. {@link LocalCloud.close} stops every process by its PID and deletes every namespace and
 * temporary folder it made, also after a failure.
 */
export class LocalCloud {
  readonly runId: string;
  readonly dir: string;
  readonly #dataRoot: string;
  readonly #procs: ProcessGroup;
  readonly #bins: K8sBinaries;
  readonly #clusters = new Map<string, ClusterState>();
  readonly #log: (line: string) => void;
  #streams = 0;
  #fabric: Fabric | undefined;
  #pause: Promise<NodeImage> | undefined;
  #closing: Promise<void> | undefined;

  private constructor(bins: K8sBinaries, dir: string, log: (line: string) => void) {
    this.runId = randomBytes(3).toString("hex");
    this.dir = dir;
    this.#dataRoot = path.join("/dev/shm", `kubeburst-${this.runId}`);
    this.#procs = new ProcessGroup(dir);
    this.#bins = bins;
    this.#log = log;
  }

  /**
   * Starts the clusters, at most two at a time (each API server needs a core to start).
   * On failure everything already started is torn down before the error is thrown.
   */
  static async start(
    clusters: ClusterSpec[],
    options: { log?: (line: string) => void } = {},
  ): Promise<LocalCloud> {
    if (clusters.length > maxClusters) throw new Error(`at most ${maxClusters} clusters`);
    const bins = await findK8sBinaries();
    const dir = await mkdtemp(path.join(os.tmpdir(), "kubeburst-"));
    const cloud = new LocalCloud(bins, dir, options.log ?? (() => {}));
    try {
      await mkdir(cloud.#dataRoot, { recursive: true });
      const specs = clusters.map((c, index) => ({ ...c, index }));
      for (let i = 0; i < specs.length; i += 2) {
        await Promise.all(specs.slice(i, i + 2).map((c) => cloud.#startCluster(c)));
      }
      return cloud;
    } catch (err) {
      await cloud.close();
      throw err;
    }
  }

  /** The control plane of cluster `name`. */
  cluster(name: string): ControlPlane {
    return this.#state(name).plane;
  }

  clusterNames(): string[] {
    return [...this.#clusters.keys()];
  }

  /** The range holding the nodes and pods of cluster `name`, of its primary family. */
  podRange(name: string): string {
    return this.podRanges(name)[0]!;
  }

  /** The ranges holding the nodes and pods of cluster `name`, one per family, primary first. */
  podRanges(name: string): string[] {
    const { index } = this.#state(name).plane;
    return this.#families(name).map((f) =>
      f === "IPv4" ? clusterRange(index) : clusterRange6(index),
    );
  }

  /** The address families of cluster `name`, primary first. */
  families(name: string): AddressFamily[] {
    return this.#families(name);
  }

  /**
   * Adds a node: its Node object (with an InternalIP), a network namespace on the fabric, and
   * kube-proxy in nftables mode inside it. Resolves when kube-proxy has programmed its table.
   */
  async addNode(clusterName: string, name: string, options: NodeOptions = {}): Promise<LocalNode> {
    const node = await this.#newNode(clusterName, name, options.dataPath ?? true);
    // Where real pods run, the scheduler must not pick a node whose "pods" are test servers.
    const spec = this.#state(clusterName).realPods
      ? { taints: [{ key: noKubeletTaint, value: "true", effect: "NoSchedule" }] }
      : undefined;
    await createReadyNode(
      this.#state(clusterName).plane.client,
      { metadata: { name }, ...(spec ? { spec } : {}) },
      node.addresses,
      "kubeburst local cloud node",
    );
    if (node.netns === undefined) return node;
    await this.#startNodeApiForwarder(node);
    await this.#startKubeProxy(node);
    this.#log(`node ${clusterName}/${name} up at ${node.address}`);
    return node;
  }

  /**
   * Adds a node that runs real pods: a network namespace on the fabric with kube-proxy, a
   * kubelet with its own client certificate (`system:node:<name>`) that registers the Node, and
   * containerd with runc and a CNI bridge for its pods (see {@link KubeletNode}). `images` are
   * podman images (built by `make image`, say) imported into its containerd, as nothing can be
   * pulled. Resolves when the Node is Ready and kube-proxy has programmed its table. The
   * cluster must have been started with `pods: true`.
   */
  async addKubeletNode(
    clusterName: string,
    name: string,
    options: { images?: string[] } = {},
  ): Promise<LocalNode & { kubelet: KubeletNode }> {
    const state = this.#state(clusterName);
    if (!state.realPods) throw new Error(`cluster ${clusterName} was not started with pods: true`);
    const podSubnet = kubeletPodSubnet(state.plane.index, state.kubelets.length);
    const node = await this.#newNode(clusterName, name, true);
    const dir = this.#nodeDir(node);
    await this.#startNodeApiForwarder(node);
    const plane = state.plane;
    this.#pause ??= pauseImage(this.#bins.pause, this.dir);
    const pause = await this.#pause;
    const kubelet = await KubeletNode.start({
      name,
      netns: node.netns!,
      address: node.address,
      podSubnet,
      dir: path.join(dir, "kubelet-node"),
      kubeconfig: (await plane.userKubeconfig(`system:node:${name}`, ["system:nodes"])).replace(
        plane.server,
        `https://127.0.0.1:${nodeApiPort}`,
      ),
      cgroupName: `kubeburst-${this.runId}-${clusterName}-${name}`,
      kubeletBinary: this.#bins.kubelet,
      pause,
      client: plane.client,
      procs: this.#procs,
    });
    state.kubelets.push(kubelet);
    for (const image of options.images ?? []) {
      await kubelet.importImage(await saveImage(image, path.join(dir, "kubelet-node")));
    }
    await this.#startKubeProxy(node);
    this.#log(`kubelet node ${clusterName}/${name} up at ${node.address}, pods in ${podSubnet}`);
    return { ...node, kubelet };
  }

  /**
   * Exposes cluster `clusterName`'s API server on the fabric, at its planned address and its own
   * port, as a cluster's control plane is reachable from pods (its own and other clusters'), and
   * returns an admin kubeconfig that points there. The API server's certificate names that
   * address. Clusters started with `pods: true` are exposed from the start.
   */
  async exposeApi(clusterName: string): Promise<string> {
    const state = this.#state(clusterName);
    if (state.fabricKubeconfig !== undefined) return state.fabricKubeconfig;
    const { plane } = state;
    if (plane.ipFamily === "ipv6") throw new Error(`cluster ${clusterName} is IPv6-only`);
    const address = apiFabricAddress(plane.index);
    const netns = await (await this.#ensureFabric()).attach(
      `${clusterName}-api`,
      onFabric(address),
    );
    await startNsForwarder(this.#procs, `${clusterName}-api-on-fabric`, netns, [
      String(plane.securePort),
      plane.apiSocket,
      address,
    ]);
    state.fabricKubeconfig = plane.kubeconfig.replace(
      plane.server,
      `https://${address}:${plane.securePort}`,
    );
    return state.fabricKubeconfig;
  }

  /** A node's namespace on the fabric (unless `dataPath` is false) and its record. */
  async #newNode(clusterName: string, name: string, dataPath: boolean): Promise<LocalNode> {
    const state = this.#state(clusterName);
    const plane = state.plane;
    const families = this.#families(clusterName);
    const addresses = families.map((f) =>
      f === "IPv4"
        ? nodeAddress(plane.index, state.nodes.length)
        : nodeAddress6(plane.index, state.nodes.length),
    );
    const netns = dataPath
      ? await (await this.#ensureFabric()).attach(
          `${clusterName}-${name}`,
          addresses.map(onFabric),
          // IPv6 Service ranges lie inside the fabric's on-link /48 already.
          families.includes("IPv4") ? [allServiceRanges] : [],
        )
      : undefined;
    const node: LocalNode = {
      cluster: clusterName,
      name,
      netns,
      address: addresses[0]!,
      addresses,
    };
    state.nodes.push(node);
    return node;
  }

  #nodeDir(node: LocalNode): string {
    return path.join(this.dir, node.cluster, `node-${node.name}`);
  }

  /** The node's own API server at 127.0.0.1:6443 inside its namespace (kube-proxy, kubelet). */
  async #startNodeApiForwarder(node: LocalNode): Promise<void> {
    const plane = this.#state(node.cluster).plane;
    await mkdir(this.#nodeDir(node), { recursive: true });
    await startNsForwarder(this.#procs, `${node.cluster}-${node.name}-api-forwarder`, node.netns!, [
      String(nodeApiPort),
      plane.apiSocket,
    ]);
  }

  /** kube-proxy in nftables mode in the node's namespace; resolves when its table is there. */
  async #startKubeProxy(node: LocalNode): Promise<void> {
    const { cluster: clusterName, name } = node;
    const netns = dataPathOf(node);
    const plane = this.#state(clusterName).plane;
    const nodeDir = this.#nodeDir(node);
    const kubeconfig = plane.kubeconfig.replace(plane.server, `https://127.0.0.1:${nodeApiPort}`);
    await writeFile(path.join(nodeDir, "kubeconfig"), kubeconfig, { mode: 0o600 });
    await writeFile(
      path.join(nodeDir, "kube-proxy.yaml"),
      kubeProxyConfig(name, path.join(nodeDir, "kubeconfig"), this.podRanges(clusterName)),
    );
    const proxy = this.#procs.start(`${clusterName}-${name}-kube-proxy`, "ip", [
      "netns",
      "exec",
      netns,
      this.#bins.kubeProxy,
      `--config=${path.join(nodeDir, "kube-proxy.yaml")}`,
      "--v=1",
    ]);
    // One table per family it programs: "ip kube-proxy", "ip6 kube-proxy".
    const tables = this.#families(clusterName).map((f) =>
      f === "IPv4" ? "ip kube-proxy" : "ip6 kube-proxy",
    );
    await pollUntil(
      `kube-proxy on ${clusterName}/${name}`,
      proxy,
      async () => {
        const listed = await nft(netns, ["list", "tables"]);
        return tables.every((t) => listed.split("\n").some((l) => l.trim() === `table ${t}`));
      },
      120_000,
    );
  }

  /**
   * Makes cluster `clusterName`'s API server reachable inside node `node`'s namespace at
   * 127.0.0.1:`port` (the node's own cluster is already there at 6443) and returns an admin
   * kubeconfig that points there: for a process run inside the node, as a pod would be.
   */
  async apiInNode(node: LocalNode, clusterName: string, port: number): Promise<string> {
    const netns = dataPathOf(node);
    const plane = this.#state(clusterName).plane;
    if (node.cluster !== clusterName || port !== nodeApiPort) {
      await startNsForwarder(
        this.#procs,
        `${node.cluster}-${node.name}-api-forwarder-${clusterName}`,
        netns,
        [String(port), plane.apiSocket],
      );
    }
    return plane.kubeconfig.replace(plane.server, `https://127.0.0.1:${port}`);
  }

  /**
   * Adds a pod: an HTTP server in its own namespace answering with its name, and a Pod object
   * bound to the node whose status is patched Running (and Ready unless `ready: false`).
   */
  async addPod(clusterName: string, spec: PodSpec): Promise<LocalPod> {
    const state = this.#state(clusterName);
    const nodeName = spec.node ?? state.nodes[0]?.name;
    const node = state.nodes.find((n) => n.name === nodeName);
    if (!node) throw new Error(`cluster ${clusterName} has no node ${nodeName ?? "(none added)"}`);
    const namespace = spec.namespace ?? "default";
    const port = spec.port ?? 8080;
    // Taken before any await: pods added concurrently each get their own index.
    const index = state.podCount++;
    const families = this.#families(clusterName);
    const ips = families.map((f) =>
      f === "IPv4" ? podAddress(state.plane.index, index) : podAddress6(state.plane.index, index),
    );
    const ip = ips[0]!;
    let netns: string | undefined;
    let proc: StartedProcess | undefined;
    if (spec.serve ?? true) {
      const fabric = await this.#ensureFabric();
      netns = await fabric.attach(`${clusterName}-pod${index}`, ips.map(onFabric));
      proc = this.#procs.start(`${clusterName}-pod-${spec.name}`, "ip", [
        "netns",
        "exec",
        netns,
        process.execPath,
        path.join(here, "pod-server.ts"),
        spec.name,
        clusterName,
        String(port),
        // "::" also takes IPv4 connections (bindv6only is 0 in a new namespace).
        families.includes("IPv6") ? "::" : "0.0.0.0",
      ]);
      await waitForOutput(proc, "serving", 20_000);
    }
    const pod: LocalPod = {
      cluster: clusterName,
      name: spec.name,
      namespace,
      node: node.name,
      netns,
      ip,
      ips,
      process: proc,
    };
    state.pods.push(pod);
    await state.plane.client.request({
      method: "POST",
      path: `/api/v1/namespaces/${namespace}/pods`,
      body: {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: spec.name, namespace, labels: spec.labels ?? {} },
        spec: {
          nodeName: node.name,
          automountServiceAccountToken: false,
          containers: [
            {
              name: "server",
              image: "kubeburst.local/pod-server",
              ports: [{ name: spec.portName ?? "http", containerPort: port, protocol: "TCP" }],
            },
          ],
        },
      },
    });
    await this.setPodReady(pod, spec.ready ?? true);
    return pod;
  }

  /** Patches the Pod's status as a kubelet would: Running, with its IP, Ready or not. */
  async setPodReady(pod: LocalPod, ready: boolean): Promise<void> {
    const node = this.#state(pod.cluster).nodes.find((n) => n.name === pod.node)!;
    const now = new Date().toISOString();
    const status = ready ? "True" : "False";
    await this.#state(pod.cluster).plane.client.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}/status`,
      contentType: "application/merge-patch+json",
      body: {
        status: {
          phase: "Running",
          podIP: pod.ip,
          podIPs: pod.ips.map((ip) => ({ ip })),
          hostIP: node.address,
          hostIPs: node.addresses.map((ip) => ({ ip })),
          startTime: now,
          conditions: [
            { type: "PodScheduled", status: "True", lastTransitionTime: now },
            { type: "Initialized", status: "True", lastTransitionTime: now },
            { type: "ContainersReady", status, lastTransitionTime: now },
            { type: "Ready", status, lastTransitionTime: now },
          ],
        },
      },
    });
  }

  /** Deletes the Pod object at once (no kubelet to wait for) and stops its server. */
  async removePod(pod: LocalPod): Promise<void> {
    const state = this.#state(pod.cluster);
    await state.plane.client.request({
      method: "DELETE",
      path: `/api/v1/namespaces/${pod.namespace}/pods/${pod.name}`,
      body: { apiVersion: "v1", kind: "DeleteOptions", gracePeriodSeconds: 0 },
    });
    if (pod.process) await this.#procs.stop(pod.process);
    state.pods = state.pods.filter((p) => p !== pod);
  }

  /** Creates namespace `name` in cluster `clusterName` unless it exists. */
  async ensureNamespace(clusterName: string, name: string): Promise<void> {
    try {
      await this.cluster(clusterName).client.request({
        method: "POST",
        path: "/api/v1/namespaces",
        body: { apiVersion: "v1", kind: "Namespace", metadata: { name } },
      });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.kind === "already-exists")) throw err;
    }
  }

  /** Pods of a cluster that were added and not removed. */
  pods(clusterName: string): LocalPod[] {
    return [...this.#state(clusterName).pods];
  }

  /** Nodes of a cluster. */
  nodes(clusterName: string): LocalNode[] {
    return [...this.#state(clusterName).nodes];
  }

  /**
   * Sends `count` HTTP GETs to `url` from inside a node's namespace (so they pass through its
   * kube-proxy rules), each on a new connection. Returns how many each pod answered, keyed
   * "cluster/pod", and the number of failed requests.
   */
  async httpFromNode(
    node: LocalNode,
    url: string,
    count: number,
  ): Promise<{ byPod: Record<string, number>; failed: number }> {
    const netns = dataPathOf(node);
    const { stdout } = await run(
      "ip",
      [
        "netns",
        "exec",
        netns,
        process.execPath,
        path.join(here, "http-probe.ts"),
        url,
        String(count),
      ],
      { timeout: 120_000, maxBuffer: 1 << 20 },
    );
    return JSON.parse(stdout) as { byPod: Record<string, number>; failed: number };
  }

  /**
   * Starts a steady stream of HTTP GETs to `url` from inside a node's namespace (through its
   * kube-proxy), at most `rps` a second, each on a new connection. `onResponse` is called for
   * each with who answered (`cluster/pod`, or null for a failure) and when.
   */
  streamFromNode(
    node: LocalNode,
    url: string,
    rps: number,
    onResponse: (at: number, who: string | null) => void,
  ): { stop: () => Promise<void> } {
    const netns = dataPathOf(node);
    const proc = this.#procs.start(
      `${node.cluster}-${node.name}-traffic-${++this.#streams}`,
      "ip",
      [
        "netns",
        "exec",
        netns,
        process.execPath,
        path.join(here, "http-probe.ts"),
        url,
        "stream",
        String(rps),
      ],
    );
    const lines = createInterface({ input: proc.child.stdout! });
    lines.on("line", (line) => {
      try {
        const { at, who } = JSON.parse(line) as { at: number; who: string | null };
        onResponse(at, who);
      } catch {
        // not a probe line
      }
    });
    return { stop: () => this.#procs.stop(proc) };
  }

  /**
   * Starts one long-lived request to `url` (a pod's `/stream?seconds=N`) from inside a node's
   * namespace, through its kube-proxy. `who` resolves with the pod that answers (null on
   * failure), `done` with how many lines arrived and whether the response ended cleanly.
   */
  longRequestFromNode(
    node: LocalNode,
    url: string,
  ): {
    who: Promise<string | null>;
    done: Promise<{ lines: number; complete: boolean }>;
    stop: () => Promise<void>;
  } {
    const netns = dataPathOf(node);
    const proc = this.#procs.start(`${node.cluster}-${node.name}-long-${++this.#streams}`, "ip", [
      "netns",
      "exec",
      netns,
      process.execPath,
      path.join(here, "http-probe.ts"),
      url,
      "long",
    ]);
    const who = Promise.withResolvers<string | null>();
    const done = Promise.withResolvers<{ lines: number; complete: boolean }>();
    const lines = createInterface({ input: proc.child.stdout! });
    lines.on("line", (line) => {
      try {
        const parsed = JSON.parse(line) as {
          who?: string | null;
          lines?: number;
          complete?: boolean;
        };
        if (parsed.who !== undefined) who.resolve(parsed.who);
        if (parsed.complete !== undefined) {
          done.resolve({ lines: parsed.lines ?? 0, complete: parsed.complete });
        }
      } catch {
        // not a probe line
      }
    });
    void proc.exited.then(() => {
      who.resolve(null);
      done.resolve({ lines: 0, complete: false });
    });
    return { who: who.promise, done: done.promise, stop: () => this.#procs.stop(proc) };
  }

  /**
   * Cuts (`up: false`) or restores a pod's link in its own namespace: its server and its API
   * objects stay as they are, only the data path to it is gone (what a reachability probe sees).
   */
  async setPodLink(pod: LocalPod, up: boolean): Promise<void> {
    if (pod.netns === undefined) throw new Error(`pod ${pod.cluster}/${pod.name} has no namespace`);
    await run("ip", ["-n", pod.netns, "link", "set", "eth0", up ? "up" : "down"]);
  }

  /**
   * Adds `count` API-only nodes in bulk: Node objects named `api-node-<k>`, each with a pod CIDR
   * and an InternalIP from the address plan's API-only node range, reported Ready. No namespace,
   * no kube-proxy: for control-plane benchmarks that need a production cluster with many nodes.
   * Their addresses are IPv4 whatever the cluster's family (the benchmarks run IPv4 clusters).
   * `concurrency` requests are in flight at once (default 16).
   */
  async addApiNodes(
    clusterName: string,
    count: number,
    options: { concurrency?: number } = {},
  ): Promise<LocalNode[]> {
    const state = this.#state(clusterName);
    const first = state.apiNodes.length;
    if (first + count > maxApiNodes) {
      throw new RangeError(
        `cluster ${clusterName} would have ${first + count} API-only nodes; the address plan holds ${maxApiNodes}`,
      );
    }
    const client = state.plane.client;
    const added: LocalNode[] = Array.from({ length: count }, (_, i) => ({
      cluster: clusterName,
      name: `api-node-${first + i}`,
      netns: undefined,
      address: apiNodeAddress(state.plane.index, first + i),
      addresses: [apiNodeAddress(state.plane.index, first + i)],
    }));
    await runConcurrently(added, options.concurrency ?? 16, async ({ name, address }, i) => {
      const k = first + i;
      const podCIDR = apiNodePodCidr(state.plane.index, k);
      await createReadyNode(
        client,
        {
          metadata: { name, labels: { [apiNodeLabel]: "true" } },
          spec: { podCIDR, podCIDRs: [podCIDR] },
        },
        [address],
        "kubeburst local cloud API-only node",
      );
    });
    state.apiNodes.push(...added);
    this.#log(`${count} API-only nodes added to ${clusterName}`);
    return added;
  }

  /** Deletes every node {@link addApiNodes} added to cluster `clusterName`, in one call. */
  async removeApiNodes(clusterName: string): Promise<void> {
    const state = this.#state(clusterName);
    await state.plane.client.request({
      method: "DELETE",
      path: "/api/v1/nodes",
      query: { labelSelector: apiNodeLabel },
      timeoutMs: 120_000,
    });
    state.apiNodes = [];
  }

  /**
   * Gives cluster `clusterName` room for thousands of Services: a ServiceCIDR object (GA since
   * Kubernetes 1.33) for the first of the address plan's large Service ranges that no other
   * cluster of this cloud holds. The API server allocates ClusterIPs from it at once; its Ready
   * condition stays unset, because kube-controller-manager's service-cidr controller does not
   * run here. Returns the range (the same one when called again for the same cluster).
   */
  async addLargeServiceRange(clusterName: string): Promise<string> {
    const state = this.#state(clusterName);
    if (state.plane.ipFamily === "ipv6") {
      throw new Error(`cluster ${clusterName} is IPv6-only; the large Service ranges are IPv4`);
    }
    const held = new Set([...this.#clusters.values()].flatMap((c) => c.extraServiceRanges));
    const own = largeServiceRanges.find((r) => state.extraServiceRanges.includes(r));
    if (own) return own;
    const range = largeServiceRanges.find((r) => !held.has(r));
    if (!range) {
      throw new Error(
        `every large Service range is held by another cluster (${largeServiceRanges.join(", ")})`,
      );
    }
    await state.plane.client.request({
      method: "POST",
      path: "/apis/networking.k8s.io/v1/servicecidrs",
      body: {
        apiVersion: "networking.k8s.io/v1",
        kind: "ServiceCIDR",
        metadata: { name: "localcloud-large" },
        spec: { cidrs: [range] },
      },
    });
    state.extraServiceRanges.push(range);
    return range;
  }

  /** Every Service range of cluster `name`: its /24 and any range added since. */
  serviceRanges(name: string): string[] {
    const state = this.#state(name);
    return [...state.plane.serviceCIDRs, ...state.extraServiceRanges];
  }

  /**
   * Stops every process, deletes every namespace and folder of this run. Safe to call twice: a
   * second call (from a signal handler, say) waits for the first to finish.
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  async #close(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<void>) => {
      try {
        await f();
      } catch (err) {
        errors.push(err);
      }
    };
    // Kubelets first: they stop their pods' containers while the API servers still answer.
    for (const state of this.#clusters.values()) {
      for (const kubelet of state.kubelets) await attempt(() => kubelet.stop());
    }
    for (const state of this.#clusters.values()) await attempt(() => state.plane.stop());
    await attempt(() => this.#procs.stopAll());
    if (this.#fabric) await attempt(() => this.#fabric!.destroy());
    await attempt(() => rm(this.#dataRoot, { recursive: true, force: true }));
    if (process.env.KUBEBURST_KEEP_LOGS) {
      this.#log(`logs kept in ${this.dir}`);
    } else {
      await attempt(() => rm(this.dir, { recursive: true, force: true }));
    }
    if (errors.length > 0) throw new AggregateError(errors, "local cloud teardown was incomplete");
  }

  /** PIDs of processes still running and namespaces still present (both empty after close). */
  leftovers(): { pids: number[]; namespaces: string[] } {
    return { pids: this.#procs.pids(), namespaces: this.#fabric?.namespaces() ?? [] };
  }

  async #startCluster(spec: ClusterSpec & { index: number }): Promise<void> {
    const options: ControlPlaneOptions = {
      name: spec.name,
      index: spec.index,
      controllerManager: spec.controllerManager ?? false,
      garbageCollector: spec.garbageCollector ?? false,
      ipFamily: spec.ipFamily ?? "ipv4",
      ...(spec.ipFamily === "ipv6" ? {} : { fabricAddress: apiFabricAddress(spec.index) }),
      ...(spec.pods ? { pods: true } : {}),
      ...(spec.apiserverArgs ? { apiserverArgs: spec.apiserverArgs } : {}),
      ...(spec.controllerManagerArgs ? { controllerManagerArgs: spec.controllerManagerArgs } : {}),
      ...(spec.extraControllers ? { extraControllers: spec.extraControllers } : {}),
    };
    const plane = new ControlPlane(options, this.#bins, this.#procs, this.dir, this.#dataRoot);
    if (this.#clusters.has(spec.name)) throw new Error(`duplicate cluster name ${spec.name}`);
    if (spec.pods && spec.ipFamily === "ipv6") {
      throw new Error(`cluster ${spec.name}: pods need an IPv4 or dual-stack cluster`);
    }
    this.#clusters.set(spec.name, {
      plane,
      nodes: [],
      realPods: spec.pods ?? false,
      kubelets: [],
      apiNodes: [],
      pods: [],
      podCount: 0,
      extraServiceRanges: [],
    });
    this.#log(`starting cluster ${spec.name}`);
    const started = Date.now();
    await plane.start();
    if (spec.pods) await this.exposeApi(spec.name);
    this.#log(`cluster ${spec.name} ready at ${plane.server} (${Date.now() - started} ms)`);
  }

  async #ensureFabric(): Promise<Fabric> {
    if (!this.#fabric) {
      const fabric = new Fabric(`kb${this.runId}`);
      this.#fabric = fabric;
      await fabric.create();
    }
    return this.#fabric;
  }

  #families(name: string): AddressFamily[] {
    return familiesOf(this.#state(name).plane.ipFamily);
  }

  #state(name: string): ClusterState {
    const state = this.#clusters.get(name);
    if (!state) throw new Error(`no cluster named ${name} in this local cloud`);
    return state;
  }
}

/** `address/prefix` as it sits on a namespace's eth0: the whole fabric is one link per family. */
function onFabric(address: string): string {
  return `${address}/${address.includes(":") ? fabricPrefixLength6 : fabricPrefixLength}`;
}

function kubeProxyConfig(nodeName: string, kubeconfig: string, clusterCIDRs: string[]): string {
  // kube-proxy runs dual-stack when its Node has an address of each family; clusterCIDR then
  // lists one range per family.
  return `apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
hostnameOverride: ${nodeName}
clusterCIDR: ${clusterCIDRs.join(",")}
clientConnection:
  kubeconfig: ${kubeconfig}
conntrack:
  maxPerCore: 0
  min: 0
nftables:
  minSyncPeriod: 0s
  syncPeriod: 30s
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
`;
}

async function nft(netns: string, args: string[]): Promise<string> {
  const { stdout } = await run("ip", ["netns", "exec", netns, "nft", ...args]);
  return stdout;
}

/** The namespace of a node that has a data path (requests from it go through kube-proxy). */
function dataPathOf(node: LocalNode): string {
  if (node.netns === undefined) {
    throw new Error(
      `node ${node.cluster}/${node.name} has no data path; add it with dataPath: true`,
    );
  }
  return node.netns;
}

/** Creates a Node object and reports it Ready with `address` as its InternalIP, as a kubelet would. */
async function createReadyNode(
  client: KubeClient,
  node: { metadata: { name: string; labels?: Record<string, string> }; spec?: object },
  addresses: readonly string[],
  message: string,
): Promise<void> {
  const name = node.metadata.name;
  await client.request({
    method: "POST",
    path: "/api/v1/nodes",
    body: { apiVersion: "v1", kind: "Node", ...node },
  });
  const now = new Date().toISOString();
  await client.request({
    method: "PATCH",
    path: `/api/v1/nodes/${name}/status`,
    contentType: "application/merge-patch+json",
    body: {
      status: {
        addresses: [
          ...addresses.map((address) => ({ type: "InternalIP", address })),
          { type: "Hostname", address: name },
        ],
        conditions: [
          {
            type: "Ready",
            status: "True",
            reason: "LocalCloud",
            message,
            lastHeartbeatTime: now,
            lastTransitionTime: now,
          },
        ],
      },
    },
  });
}
