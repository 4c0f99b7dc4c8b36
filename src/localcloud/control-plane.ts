import { mkdir, readFile, rm, writeFile } from "node:fs/promises";
import net from "node:net";
import path from "node:path";
import { KubeApiError } from "../kube/kube-api-error.ts";
import { KubeClient } from "../kube/kube-client.ts";
import { kubeconfigFromText } from "../kube/load-kubeconfig.ts";
import {
  requestServiceAccountToken,
  type TokenRequestOptions,
  tokenKubeconfigYaml,
} from "../kube/service-account-token.ts";
import { type IpFamilyOption, serviceRange, serviceRange6 } from "./address-plan.ts";
import { type ClusterPki, createClusterPki, issueClientCert, kubeconfigYaml } from "./certs.ts";
import type { K8sBinaries } from "./k8s-binaries.ts";
import { type ProcessGroup, type StartedProcess, tailLog } from "./process-group.ts";

export interface ControlPlaneOptions {
  name: string;
  /** Index of the cluster in the local cloud: picks its address ranges. */
  index: number;
  /** Run kube-controller-manager with the EndpointSlice and mirroring controllers. */
  controllerManager?: boolean;
  /** Also run the garbage collector (ownerReference clean-up). Implies controllerManager. */
  garbageCollector?: boolean;
  /** Families of its Service range (and of its nodes and pods). Default "ipv4". */
  ipFamily?: IpFamilyOption;
  /**
   * More kube-controller-manager controllers, e.g. `namespace-controller` (deleting a namespace
   * deletes its contents) or `serviceaccount-token-controller` (fills long-lived token Secrets;
   * it is given the ServiceAccount signing key). Implies controllerManager.
   */
  extraControllers?: string[];
  /** Extra kube-controller-manager flags, e.g. `--kube-api-qps=200` (benchmarks). */
  controllerManagerArgs?: string[];
  /** How long to wait for the API server to become ready, ms. Default 180 000. */
  startTimeoutMs?: number;
  /**
   * Extra kube-apiserver flags, after ours, e.g. `--watch-cache-sizes=configmaps#0` so that
   * watches of that resource are served by etcd (and see its compaction) for reflector tests.
   */
  apiserverArgs?: string[];
  /** Where the local cloud may expose the API server on the fabric: in its certificate. */
  fabricAddress?: string;
  /**
   * The cluster runs real pods (kubelet nodes): its API server advertises `fabricAddress` and
   * keeps `default/kubernetes` pointing there, authorizes kubelets with the Node authorizer and
   * NodeRestriction, and admits ServiceAccounts (projected tokens); kube-controller-manager adds
   * the controllers a Deployment's pods need, and kube-scheduler runs.
   */
  pods?: boolean;
}

/**
 * The controllers a Deployment needs to become pods with tokens, and to be deleted again, and
 * the node lifecycle controller: it lifts the not-ready taint a kubelet registers its Node with.
 */
const podControllers = [
  "deployment-controller",
  "replicaset-controller",
  "garbage-collector-controller",
  "serviceaccount-controller",
  "root-ca-certificate-publisher-controller",
  "disruption-controller",
  "node-lifecycle-controller",
];

/**
 * One cluster's control plane: etcd (data on tmpfs), kube-apiserver with its own PKI, and
 * optionally kube-controller-manager (and kube-scheduler, for real pods). All listen on loopback
 * only; the local cloud exposes the API server to pods.
 */
export class ControlPlane {
  readonly name: string;
  readonly index: number;
  readonly ipFamily: IpFamilyOption;
  readonly dir: string;
  /** The primary Service range (IPv4 unless the cluster is IPv6-only). */
  readonly serviceCIDR: string;
  /** Every Service range it starts with, primary first: one per family. */
  readonly serviceCIDRs: readonly string[];
  /** `https://127.0.0.1:<port>` */
  server = "";
  /** Admin kubeconfig (group system:masters), as a file and as text. */
  kubeconfigPath = "";
  kubeconfig = "";
  /** A Unix socket that forwards to the API server, for clients inside network namespaces. */
  apiSocket = "";
  pki: ClusterPki | undefined;
  #client: KubeClient | undefined;
  #apiserver: StartedProcess | undefined;
  #etcd: StartedProcess | undefined;
  #kcm: StartedProcess | undefined;
  #scheduler: StartedProcess | undefined;
  /** The API server was stopped with SIGSTOP and not continued yet. */
  #paused = false;
  #socketServer: net.Server | undefined;
  /** Open connections through the socket forwarder. */
  readonly #tunnels = new Set<net.Socket>();
  #ports: { etcdClient: number; etcdPeer: number; apiserver: number } | undefined;
  readonly #options: ControlPlaneOptions;
  readonly #bins: K8sBinaries;
  readonly #procs: ProcessGroup;
  readonly #dataDir: string;

  constructor(
    options: ControlPlaneOptions,
    bins: K8sBinaries,
    procs: ProcessGroup,
    runDir: string,
    dataRoot: string,
  ) {
    this.name = options.name;
    this.index = options.index;
    this.dir = path.join(runDir, options.name);
    const family = options.ipFamily ?? "ipv4";
    this.ipFamily = family;
    const v4 = family === "ipv6" ? [] : [serviceRange(options.index)];
    const v6 = family === "ipv4" ? [] : [serviceRange6(options.index)];
    this.serviceCIDRs = [...v4, ...v6];
    this.serviceCIDR = this.serviceCIDRs[0]!;
    this.#options = options;
    this.#bins = bins;
    this.#procs = procs;
    this.#dataDir = path.join(dataRoot, `${options.name}-etcd`);
  }

  /** An API client with admin rights. */
  get client(): KubeClient {
    if (!this.#client) throw new Error(`cluster ${this.name} is not started`);
    return this.#client;
  }

  /**
   * A kubeconfig for a new identity `user` (client certificate signed by this cluster's CA), with
   * no rights until RBAC grants some: for least-privilege and revocation tests.
   */
  async userKubeconfig(user: string, groups: string[] = []): Promise<string> {
    const { cert, key } = await issueClientCert(this.dir, `user-${user}`, user, groups);
    return kubeconfigYaml(user, this.server, await readFile(this.pki!.caCert, "utf8"), cert, key);
  }

  /**
   * A kubeconfig of ServiceAccount `namespace/name` with a TokenRequest token (a day unless
   * `options` say otherwise); the namespace and the ServiceAccount are created when missing. The
   * identity has no rights until RBAC binds some: this is how kubeburst runs in a real cluster.
   */
  async serviceAccountKubeconfig(
    namespace: string,
    name: string,
    options: Partial<TokenRequestOptions> = {},
  ): Promise<string> {
    await this.ensureServiceAccount(namespace, name);
    const { token } = await requestServiceAccountToken(this.client, namespace, name, {
      expirationSeconds: 86_400,
      ...options,
    });
    return tokenKubeconfigYaml(
      `${this.name}-${name}`,
      this.server,
      await readFile(this.pki!.caCert),
      token,
    );
  }

  /** Creates namespace `namespace` and ServiceAccount `name` in it, as far as missing. */
  async ensureServiceAccount(namespace: string, name: string): Promise<void> {
    const create = async (path: string, body: object) => {
      try {
        await this.client.request({ method: "POST", path, body });
      } catch (err) {
        if (!(err instanceof KubeApiError && err.kind === "already-exists")) throw err;
      }
    };
    await create("/api/v1/namespaces", {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: namespace },
    });
    await create(`/api/v1/namespaces/${namespace}/serviceaccounts`, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name, namespace },
    });
  }

  /** Starts etcd, the API server and (if asked) the controller manager; waits until ready. */
  async start(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    await mkdir(this.#dataDir, { recursive: true });
    const [etcdClient, etcdPeer, apiserver] = await freePorts(3);
    this.#ports = { etcdClient: etcdClient!, etcdPeer: etcdPeer!, apiserver: apiserver! };
    // Pods reach the API server at the first address of the Service range (the `kubernetes`
    // Service) and kube-proxy sends them to the advertised address: both are in its certificate.
    const fabric = this.#options.fabricAddress;
    const podAddresses = fabric ? [kubernetesServiceIp(this.serviceCIDR), fabric] : [];
    this.pki = await createClusterPki(
      this.dir,
      this.name,
      ["127.0.0.1", ...podAddresses],
      ["localhost", "kubernetes", "kubernetes.default", "kubernetes.default.svc"],
    );
    this.server = `https://127.0.0.1:${apiserver}`;
    this.kubeconfig = kubeconfigYaml(
      this.name,
      this.server,
      await readFile(this.pki.caCert, "utf8"),
      await readFile(this.pki.adminCert, "utf8"),
      await readFile(this.pki.adminKey, "utf8"),
    );
    this.kubeconfigPath = path.join(this.dir, "admin.kubeconfig");
    await writeFile(this.kubeconfigPath, this.kubeconfig, { mode: 0o600 });
    this.#client = new KubeClient(kubeconfigFromText(this.kubeconfig), { timeoutMs: 10_000 });

    await this.#startEtcd();
    await this.#startApiserver();
    await this.#startSocketForwarder();
    if (
      this.#options.controllerManager ||
      this.#options.garbageCollector ||
      this.#options.pods ||
      (this.#options.extraControllers ?? []).length > 0
    ) {
      await this.#startControllerManager();
    }
    if (this.#options.pods) await this.#startScheduler();
  }

  #fabricAddress(): string {
    if (!this.#options.fabricAddress)
      throw new Error(`cluster ${this.name} has pods but no fabric address`);
    return this.#options.fabricAddress;
  }

  /** The API server's port (on 127.0.0.1; the advertised address has the same port). */
  get securePort(): number {
    if (!this.#ports) throw new Error(`cluster ${this.name} is not started`);
    return this.#ports.apiserver;
  }

  /** etcd's client URL, `http://127.0.0.1:<port>` (its v3 JSON gateway is under `/v3/`). */
  get etcdClientUrl(): string {
    if (!this.#ports) throw new Error(`cluster ${this.name} is not started`);
    return `http://127.0.0.1:${this.#ports.etcdClient}`;
  }

  /**
   * Compacts etcd's history up to `revision` (default: its current revision), physically, so
   * that a watch from an older resourceVersion that reaches etcd fails with 410 Gone. Returns
   * the revision compacted to.
   */
  async compactEtcd(revision?: number): Promise<number> {
    const post = async (api: string, body: unknown) => {
      const res = await fetch(`${this.etcdClientUrl}/v3/${api}`, {
        method: "POST",
        body: JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
      const text = await res.text();
      if (!res.ok) throw new Error(`etcd ${api} of ${this.name}: ${res.status} ${text}`);
      return JSON.parse(text) as { header?: { revision?: string } };
    };
    // Any read answers with the current revision in its header.
    const current = Number((await post("kv/range", { key: "AA==" })).header?.revision);
    const target = revision ?? current;
    await post("kv/compaction", { revision: String(target), physical: true });
    return target;
  }

  /**
   * Freezes the API server with SIGSTOP: its port keeps accepting connections but nothing is
   * answered, like a hung server. Always {@link resumeApiserver} (stop() does it too).
   */
  pauseApiserver(): void {
    if (!this.#apiserver) throw new Error(`kube-apiserver of ${this.name} is not running`);
    process.kill(this.#apiserver.pid, "SIGSTOP");
    this.#paused = true;
  }

  /** Continues an API server frozen by {@link pauseApiserver}. */
  resumeApiserver(): void {
    if (!this.#paused || !this.#apiserver) return;
    process.kill(this.#apiserver.pid, "SIGCONT");
    this.#paused = false;
  }

  /** Stops the API server only (etcd keeps the data), for fault tests. */
  async stopApiserver(): Promise<void> {
    this.resumeApiserver();
    if (this.#apiserver) await this.#procs.stop(this.#apiserver);
    this.#apiserver = undefined;
    this.#client?.close();
  }

  /**
   * Kills the API server with SIGKILL, by its PID, as a crash would: no graceful shutdown, open
   * connections reset. etcd keeps the data; {@link restartApiserver} starts it again.
   */
  async killApiserver(): Promise<void> {
    this.resumeApiserver();
    const proc = this.#apiserver;
    if (!proc) return;
    if (proc.child.exitCode === null && proc.child.signalCode === null) {
      process.kill(proc.pid, "SIGKILL");
    }
    await proc.exited;
    await this.#procs.stop(proc);
    this.#apiserver = undefined;
    this.#client?.close();
  }

  /** Starts the API server again on the same port, with the same PKI and data. */
  async restartApiserver(): Promise<void> {
    await this.stopApiserver();
    await this.#startApiserver();
  }

  /** Stops this cluster's processes and the socket forwarder; deletes its etcd data. */
  async stop(): Promise<void> {
    this.resumeApiserver(); // a stopped process would not see SIGTERM until its grace ran out
    this.#client?.close();
    await new Promise<void>((resolve) => {
      if (!this.#socketServer) return resolve();
      // close() waits for open connections, and kube-proxy's watches never end by themselves.
      this.#socketServer.close(() => resolve());
      for (const tunnel of this.#tunnels) tunnel.destroy();
    });
    for (const p of [this.#scheduler, this.#kcm, this.#apiserver, this.#etcd]) {
      if (p) await this.#procs.stop(p);
    }
    await rm(this.#dataDir, { recursive: true, force: true });
  }

  async #startEtcd(): Promise<void> {
    const { etcdClient, etcdPeer } = this.#ports!;
    const client = `http://127.0.0.1:${etcdClient}`;
    const peer = `http://127.0.0.1:${etcdPeer}`;
    this.#etcd = this.#procs.start(`${this.name}-etcd`, this.#bins.etcd, [
      `--name=${this.name}`,
      `--data-dir=${this.#dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${this.name}=${peer}`,
      "--unsafe-no-fsync",
      "--log-level=warn",
    ]);
    await waitFor(
      `etcd of ${this.name}`,
      this.#etcd,
      async () => {
        const res = await fetch(`${client}/health`);
        return res.ok;
      },
      60_000,
    );
  }

  async #startApiserver(): Promise<void> {
    const pki = this.pki!;
    const { etcdClient, apiserver } = this.#ports!;
    this.#apiserver = this.#procs.start(`${this.name}-kube-apiserver`, this.#bins.kubeApiserver, [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      "--bind-address=127.0.0.1",
      `--secure-port=${apiserver}`,
      `--tls-cert-file=${pki.servingCert}`,
      `--tls-private-key-file=${pki.servingKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      `--service-account-issuer=https://kubernetes.default.svc.${this.name}`,
      `--service-cluster-ip-range=${this.serviceCIDRs.join(",")}`,
      ...(this.#options.pods
        ? [
            `--advertise-address=${this.#fabricAddress()}`,
            "--endpoint-reconciler-type=lease",
            "--authorization-mode=Node,RBAC",
            "--enable-admission-plugins=NodeRestriction",
          ]
        : [
            "--advertise-address=127.0.0.1",
            "--endpoint-reconciler-type=none",
            "--authorization-mode=RBAC",
            // No kubelet runs here, so Pods get no service-account token.
            "--disable-admission-plugins=ServiceAccount",
          ]),
      "--enable-priority-and-fairness=false",
      "--profiling=false",
      "--v=1",
      ...(this.#options.apiserverArgs ?? []),
    ]);
    await waitFor(
      `kube-apiserver of ${this.name}`,
      this.#apiserver,
      async () => (await this.#client!.requestText({ method: "GET", path: "/readyz" })) === "ok",
      this.#options.startTimeoutMs ?? 180_000,
    );
  }

  async #startControllerManager(): Promise<void> {
    const controllers = ["endpointslice-controller", "endpointslice-mirroring-controller"];
    if (this.#options.garbageCollector) controllers.push("garbage-collector-controller");
    const extra = this.#options.extraControllers ?? [];
    controllers.push(...extra);
    if (this.#options.pods) controllers.push(...podControllers);
    const tokenFlags = [
      ...(extra.includes("serviceaccount-token-controller")
        ? [`--service-account-private-key-file=${this.pki!.serviceAccountKey}`]
        : []),
      ...(controllers.some((c) => c.startsWith("serviceaccount") || c.startsWith("root-ca"))
        ? [`--root-ca-file=${this.pki!.caCert}`]
        : []),
    ];
    this.#kcm = this.#procs.start(
      `${this.name}-kube-controller-manager`,
      this.#bins.kubeControllerManager,
      [
        `--kubeconfig=${this.kubeconfigPath}`,
        `--controllers=${[...new Set(controllers)].join(",")}`,
        "--leader-elect=false",
        "--secure-port=0",
        "--v=1",
        ...tokenFlags,
        // The local cloud's nodes without a kubelet never send a heartbeat: within a test they
        // must not turn Unknown, which would mark their pods not ready.
        ...(this.#options.pods ? ["--node-monitor-grace-period=24h"] : []),
        ...(this.#options.controllerManagerArgs ?? []),
      ],
    );
    await this.#noEarlyExit("kube-controller-manager", this.#kcm);
  }

  async #startScheduler(): Promise<void> {
    this.#scheduler = this.#procs.start(`${this.name}-kube-scheduler`, this.#bins.kubeScheduler, [
      `--kubeconfig=${this.kubeconfigPath}`,
      "--leader-elect=false",
      "--secure-port=0",
      "--v=1",
    ]);
    await this.#noEarlyExit("kube-scheduler", this.#scheduler);
  }

  /** Without a secure port a component has no health endpoint: give it a moment to fail loudly. */
  async #noEarlyExit(component: string, proc: StartedProcess): Promise<void> {
    await new Promise((r) => setTimeout(r, 500));
    if (proc.child.exitCode !== null) {
      throw new Error(`${component} of ${this.name} exited: ${await tailLog(proc.logFile)}`);
    }
  }

  async #startSocketForwarder(): Promise<void> {
    if (this.#socketServer) return;
    this.apiSocket = path.join(this.dir, "api.sock");
    await rm(this.apiSocket, { force: true });
    const port = this.#ports!.apiserver;
    this.#socketServer = net.createServer((inbound) => {
      const upstream = net.connect(port, "127.0.0.1");
      inbound.pipe(upstream).pipe(inbound);
      this.#tunnels.add(inbound);
      const close = () => {
        this.#tunnels.delete(inbound);
        inbound.destroy();
        upstream.destroy();
      };
      inbound.on("error", close);
      upstream.on("error", close);
      inbound.on("close", close);
      upstream.on("close", close);
    });
    await new Promise<void>((resolve, reject) => {
      this.#socketServer!.once("error", reject);
      this.#socketServer!.listen(this.apiSocket, () => resolve());
    });
  }
}

/**
 * `n` free loopback ports for servers this process starts. Taken below the kernel's ephemeral
 * range: a port handed out by port 0 lies inside it, where any outgoing connection (etcd's own
 * clients, an API server's) may take it as its source port before the server binds it. Each
 * candidate is checked free by binding it, and never handed out twice by this process.
 */
export async function freePorts(n: number): Promise<number[]> {
  const [low, high] = await ephemeralWindow();
  const ports: number[] = [];
  for (let tries = 0; ports.length < n; tries++) {
    if (tries > 1000) throw new Error("no free port below the ephemeral port range");
    const port = low + Math.floor(Math.random() * (high - low));
    if (handedOut.has(port) || !(await canListen(port))) continue;
    handedOut.add(port);
    ports.push(port);
  }
  return ports;
}

/** Ports this process has handed out already (several clusters start at once). */
const handedOut = new Set<number>();

/** The window of 10,000 ports just below the ephemeral range (or above 1024 if it starts low). */
async function ephemeralWindow(): Promise<[number, number]> {
  let first = 32768;
  try {
    const text = await readFile("/proc/sys/net/ipv4/ip_local_port_range", "utf8");
    first = Number(text.trim().split(/\s+/)[0]) || first;
  } catch {
    // Not Linux, or hidden: the usual default.
  }
  const high = Math.max(first, 11_024);
  return [Math.max(1024, high - 10_000), high];
}

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once("error", () => resolve(false));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(true)));
  });
}

/** Polls `ready` until it returns true; fails early if the process exits, with its log tail. */
async function waitFor(
  what: string,
  proc: StartedProcess,
  ready: () => Promise<boolean>,
  timeoutMs: number,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null || proc.child.signalCode !== null) {
      throw new Error(`${what} exited while starting:\n${await tailLog(proc.logFile)}`);
    }
    try {
      if (await ready()) return;
    } catch {
      // not up yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} not ready after ${timeoutMs} ms:\n${await tailLog(proc.logFile)}`);
}

/** The `kubernetes` Service's ClusterIP: the first address of the Service range. */
export function kubernetesServiceIp(serviceCIDR: string): string {
  const [base] = serviceCIDR.split("/");
  const octets = base!.split(".").map(Number);
  if (octets.length !== 4) throw new Error(`pods need an IPv4 Service range, not ${serviceCIDR}`);
  octets[3]! += 1;
  return octets.join(".");
}
