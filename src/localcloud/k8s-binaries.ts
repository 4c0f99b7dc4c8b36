import { access, constants } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** Paths of the Kubernetes components the local cloud runs. */
export interface K8sBinaries {
  etcd: string;
  kubeApiserver: string;
  kubeControllerManager: string;
  kubeScheduler: string;
  kubeProxy: string;
  kubelet: string;
  /** The pod sandbox's pause program (with `pause.version` beside it). */
  pause: string;
}

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");

/**
 * Finds the binaries: `KUBEBURST_K8S_BIN` if set, else the stable link that `make k8s-bin`
 * keeps at `.cache/k8s/bin`. Throws an error saying how to get them when one is missing.
 */
export async function findK8sBinaries(env: NodeJS.ProcessEnv = process.env): Promise<K8sBinaries> {
  const dir = env.KUBEBURST_K8S_BIN ?? path.join(repoRoot, ".cache/k8s/bin");
  const bins: K8sBinaries = {
    etcd: path.join(dir, "etcd"),
    kubeApiserver: path.join(dir, "kube-apiserver"),
    kubeControllerManager: path.join(dir, "kube-controller-manager"),
    kubeScheduler: path.join(dir, "kube-scheduler"),
    kubeProxy: path.join(dir, "kube-proxy"),
    kubelet: path.join(dir, "kubelet"),
    pause: path.join(dir, "pause"),
  };
  for (const file of Object.values(bins)) {
    try {
      await access(file, constants.X_OK);
    } catch {
      throw new Error(
        `Kubernetes binary ${file} is missing: run 'make k8s-bin' (or set KUBEBURST_K8S_BIN to a folder holding etcd, kube-apiserver, kube-controller-manager, kube-scheduler, kube-proxy, kubelet and pause)`,
      );
    }
  }
  return bins;
}
