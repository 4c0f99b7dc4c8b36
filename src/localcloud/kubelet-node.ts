import { execFile } from "node:child_process";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";
import type { KubeClient } from "../kube/kube-client.ts";
import { CgroupTree } from "./cgroup-tree.ts";
import { type ProcessGroup, pollUntil, type StartedProcess } from "./process-group.ts";

const run = promisify(execFile);

export interface KubeletNodeOptions {
  /** The Node's name; the kubelet registers it. */
  name: string;
  /** The node's network namespace (on the fabric, with its API forwarder at 127.0.0.1:6443). */
  netns: string;
  /** The node's InternalIP. */
  address: string;
  /** The range its pods' addresses come from (the CNI bridge's subnet). */
  podSubnet: string;
  /** Its state folder: everything containerd and the kubelet write goes here. */
  dir: string;
  /** The kubelet's kubeconfig: its own client certificate (`system:node:<name>`). */
  kubeconfig: string;
  /** The one parent cgroup of the node (`/<cgroupName>` in every hierarchy). */
  cgroupName: string;
  kubeletBinary: string;
  /** The sandbox image, imported before the kubelet starts (see node-images.ts). */
  pause: { image: string; archive: string };
  /** Reads the Node object, to wait for it to be Ready. */
  client: KubeClient;
  procs: ProcessGroup;
}

/** The host folders a runtime or kubelet writes to whatever its config says (bound to ours). */
const PRIVATE_HOST_DIRS = ["run", "var/lib", "var/log"];

/**
 * A real kubelet with containerd and runc, running pods on one local-cloud node. Both run in the
 * node's network namespace and in one private mount namespace of their own, where /run, /var/lib
 * and /var/log are the node's folders (what containerd 1.6 and the kubelet write to fixed paths:
 * shim sockets, CNI state, pod logs, the device-plugin socket), so nothing of the host is
 * changed. Every process they start, containers included, lives in one parent cgroup:
 * {@link stop} kills each by PID and removes the cgroups. See docs/kubelet-node.md for the
 * settings this host needs and why.
 */
export class KubeletNode {
  readonly name: string;
  readonly #options: KubeletNodeOptions;
  readonly #cgroups: CgroupTree;
  #containerd: StartedProcess | undefined;
  #kubelet: StartedProcess | undefined;

  private constructor(options: KubeletNodeOptions, cgroups: CgroupTree) {
    this.name = options.name;
    this.#options = options;
    this.#cgroups = cgroups;
  }

  /**
   * Starts containerd, imports the sandbox image, starts the kubelet and waits until its Node is
   * Ready. On failure everything already started is stopped before the error is thrown.
   */
  static async start(options: KubeletNodeOptions): Promise<KubeletNode> {
    const covered = PRIVATE_HOST_DIRS.find((d) =>
      `${path.resolve(options.dir)}/`.startsWith(`/${d}/`),
    );
    if (covered) {
      throw new Error(
        `a kubelet node's folder must not lie under /${covered}, which its own mount namespace covers: ${options.dir}`,
      );
    }
    const cgroups = await CgroupTree.create(options.cgroupName, ["runtime", "kubelet"]);
    const node = new KubeletNode(options, cgroups);
    try {
      await node.#startContainerd();
      await node.importImage(options.pause.archive);
      await node.#startKubelet();
      return node;
    } catch (err) {
      await node.stop();
      throw err;
    }
  }

  get containerdSocket(): string {
    return path.join(this.#options.dir, "containerd.sock");
  }

  /** Imports an OCI archive into the node's containerd, where the kubelet's pods find it. */
  async importImage(archive: string): Promise<void> {
    await run("ctr", ["-a", this.containerdSocket, "-n", "k8s.io", "images", "import", archive], {
      timeout: 300_000,
    });
  }

  /**
   * Stops the kubelet (SIGTERM) and starts it again, as a node agent upgrade or crash would: the
   * pods' containers keep running; the new kubelet requests their ServiceAccount tokens afresh.
   */
  async restartKubelet(): Promise<void> {
    if (this.#kubelet) await this.#options.procs.stop(this.#kubelet);
    await this.#startKubelet();
  }

  /**
   * What container `container` of pod `namespace/name` (UID `uid`) wrote so far, as the kubelet
   * keeps it (CRI log lines: time, stream, tag, text); "" once the kubelet removed it.
   */
  async containerLog(
    namespace: string,
    name: string,
    uid: string,
    container: string,
  ): Promise<string> {
    const file = path.join(
      this.#options.dir,
      "host/var/log/pods",
      `${namespace}_${name}_${uid}`,
      container,
      "0.log",
    );
    return readFile(file, "utf8").catch(() => "");
  }

  /**
   * The processes of container `containerId` (a Pod's `containerID` with or without its
   * `containerd://`), found in its cgroup: what the kernel says of them (/proc) is the test's
   * evidence of the pod's user and filesystem.
   */
  async containerPids(containerId: string): Promise<number[]> {
    return this.#cgroups.pids(containerId.replace(/^containerd:\/\//, ""));
  }

  /**
   * Stops the kubelet, then kills every process left in the node's cgroups (containers, shims,
   * containerd) by PID and removes the cgroups. The private mount namespace, and every mount in
   * it, goes with its last process.
   */
  async stop(): Promise<void> {
    if (this.#kubelet) await this.#options.procs.stop(this.#kubelet);
    await this.#cgroups.killAllAndRemove();
    if (this.#containerd) await this.#options.procs.stop(this.#containerd);
  }

  async #startContainerd(): Promise<void> {
    const { dir, netns, procs } = this.#options;
    await mkdir(path.join(dir, "cni"), { recursive: true });
    for (const d of PRIVATE_HOST_DIRS) await mkdir(path.join(dir, "host", d), { recursive: true });
    await writeFile(path.join(dir, "cni", "10-pods.conflist"), cniConfig(this.#options.podSubnet));
    await writeFile(
      path.join(dir, "containerd.toml"),
      containerdConfig(dir, this.#options.pause.image),
    );
    // The node answers for its pods on the fabric (they sit behind its bridge), so every other
    // namespace reaches them directly, as in a routed pod network.
    await run("ip", ["netns", "exec", netns, "sysctl", "-qw", "net.ipv4.conf.eth0.proxy_arp=1"]);
    await mkdir(path.join(dir, "tmp"), { recursive: true });
    const binds = PRIVATE_HOST_DIRS.map(
      (d) => `mount --bind '${path.join(dir, "host", d)}' '/${d}'`,
    );
    // unshare, nsenter, sh and containerd are one process (each execs the next): its PID is
    // containerd's, and it enters the node's cgroups before containerd runs, so every shim and
    // container it starts is in them too. nsenter opens the namespace's file before /run is
    // covered.
    this.#containerd = procs.start(
      `${this.name}-containerd`,
      "unshare",
      [
        "--mount",
        "--propagation=slave",
        "nsenter",
        `--net=/run/netns/${netns}`,
        "sh",
        "-c",
        [
          this.#cgroups.enterCommand("runtime"),
          ...binds,
          "mkdir -p /run/netns",
          `exec containerd --config '${path.join(dir, "containerd.toml")}'`,
        ].join(" && "),
      ],
      { ...process.env, TMPDIR: path.join(dir, "tmp") },
    );
    await pollUntil(
      `containerd on ${this.name}`,
      this.#containerd,
      async () => {
        await run("ctr", ["-a", this.containerdSocket, "version"], { timeout: 5_000 });
        return true;
      },
      60_000,
    );
  }

  async #startKubelet(): Promise<void> {
    const { dir, procs, name, address } = this.#options;
    await writeFile(path.join(dir, "kubelet.kubeconfig"), this.#options.kubeconfig, {
      mode: 0o600,
    });
    await writeFile(
      path.join(dir, "kubelet.yaml"),
      kubeletConfig(this.#options.cgroupName, this.containerdSocket),
    );
    this.#kubelet = procs.start(
      `${name}-kubelet`,
      "nsenter",
      [
        `--target=${this.#containerd!.child.pid}`,
        "--mount",
        "--net",
        "sh",
        "-c",
        `${this.#cgroups.enterCommand("kubelet")} && exec "$@"`,
        "kubelet",
        this.#options.kubeletBinary,
        `--config=${path.join(dir, "kubelet.yaml")}`,
        `--kubeconfig=${path.join(dir, "kubelet.kubeconfig")}`,
        `--root-dir=${path.join(dir, "kubelet")}`,
        `--cert-dir=${path.join(dir, "kubelet-pki")}`,
        `--hostname-override=${name}`,
        `--node-ip=${address}`,
        "--v=1",
      ],
      { ...process.env, TMPDIR: path.join(dir, "tmp") },
    );
    await pollUntil(
      `kubelet on ${name}`,
      this.#kubelet,
      async () => {
        const node = (await this.#options.client
          .request({ method: "GET", path: `/api/v1/nodes/${name}` })
          .catch(() => undefined)) as
          | { status?: { conditions?: { type: string; status: string }[] } }
          | undefined;
        return (
          node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false
        );
      },
      120_000,
    );
  }
}

/** The CNI bridge of the node's pods: a routed subnet, the node as their gateway, no NAT. */
export function cniConfig(podSubnet: string): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: "kubeburst-pods",
      plugins: [
        {
          type: "bridge",
          bridge: "cni0",
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            ranges: [[{ subnet: podSubnet }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
      ],
    },
    null,
    2,
  )}\n`;
}

/**
 * containerd 1.6 for one node: its own root, state and sockets; the CRI plugin with runc (cgroupfs,
 * no systemd here), the locally imported sandbox image, the Debian CNI plugins. Its OOM score is
 * the floor of every container's: this host gives root no CAP_SYS_RESOURCE, without which runc
 * cannot lower a score (the pause container asks for -998) and every sandbox fails to start.
 */
export function containerdConfig(dir: string, sandboxImage: string): string {
  return `version = 2
root = "${dir}/containerd/root"
state = "${dir}/containerd/state"
disabled_plugins = ["io.containerd.internal.v1.opt", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp"]

[grpc]
  address = "${dir}/containerd.sock"
[ttrpc]
  address = "${dir}/containerd.sock.ttrpc"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${sandboxImage}"
  restrict_oom_score_adj = true
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        BinaryName = "runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "${dir}/cni"
`;
}

/**
 * The kubelet of one node: cgroup v1 allowed (the host has no v2-only tree), cgroupfs under the
 * node's parent cgroup, only client-certificate authentication on its port (bound to the
 * namespace's loopback), no swap check, no DNS, no image garbage collection or disk eviction (the
 * images were imported and cannot be pulled again), and its own OOM score left alone. Pods are
 * synced every 10 s rather than every minute, so a Secret changed in place reaches its volume
 * within seconds in a test.
 */
export function kubeletConfig(cgroupName: string, containerdSocket: string): string {
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
failCgroupV1: false
cgroupDriver: cgroupfs
cgroupRoot: /${cgroupName}
containerRuntimeEndpoint: unix://${containerdSocket}
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
authorization: {mode: AlwaysAllow}
address: 127.0.0.1
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
failSwapOn: false
resolvConf: ""
oomScoreAdj: 0
evictionHard: {"memory.available": "1Mi", "nodefs.available": "0%", "imagefs.available": "0%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
maxPods: 30
syncFrequency: 10s
`;
}
