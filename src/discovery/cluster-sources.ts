import { createHash } from "node:crypto";
import {
  type ClusterSecret,
  type ClusterSpec,
  clusterSpecHash,
  parseClusterSecret,
} from "../config/cluster-spec.ts";
import type { ConfigError } from "../config/config-error.ts";
import { readBoundedFile } from "../config/read-bounded-file.ts";
import type { KubeClient } from "../kube/kube-client.ts";
import { KUBECONFIG_MAX_BYTES } from "../kube/load-kubeconfig.ts";

/** The label that marks a Secret as a peak cluster's registration (SPEC M1). */
export const CLUSTER_SECRET_LABEL = "kubeburst.io/cluster";

/** The clusters the sources declare, and what was wrong with the entries left out. */
export interface DeclaredClusters {
  specs: ClusterSpec[];
  problems: ConfigError[];
}

/**
 * Joins the config file's clusters and the Secrets' clusters. A Secret cannot replace a cluster
 * of the file (the file is what an operator reviewed), nor can two Secrets claim one name: the
 * later ones are left out with a problem each. Pure.
 */
export function mergeClusterSources(
  fromFile: readonly ClusterSpec[],
  fromSecrets: readonly { secret: string; spec: ClusterSpec }[],
): DeclaredClusters {
  const specs = [...fromFile];
  const owner = new Map<string, string>(fromFile.map((s) => [s.name, "the config file"]));
  const problems: ConfigError[] = [];
  for (const { secret, spec } of [...fromSecrets].sort((a, b) => compare(a.secret, b.secret))) {
    const first = owner.get(spec.name);
    if (first !== undefined) {
      problems.push({
        path: `secret ${secret}: name`,
        message: `cluster ${JSON.stringify(spec.name)} is already declared by ${first}; give this cluster another name`,
      });
      continue;
    }
    owner.set(spec.name, `secret ${secret}`);
    specs.push(spec);
  }
  return { specs, problems };
}

/** Secrets as the API returns them (data base64-encoded). */
interface SecretList {
  items: { metadata?: { name?: string }; data?: Record<string, string> }[];
}

/**
 * Lists the discovery Secrets in `namespace` of the production cluster and parses each. Throws
 * (a KubeApiError) when the list itself fails, so the caller can keep what it had.
 */
export async function readSecretClusters(
  client: KubeClient,
  namespace: string,
  signal: AbortSignal,
): Promise<{ found: { secret: string; spec: ClusterSpec }[]; problems: ConfigError[] }> {
  const list = await client.request<SecretList>({
    method: "GET",
    path: `/api/v1/namespaces/${encodeURIComponent(namespace)}/secrets`,
    query: { labelSelector: CLUSTER_SECRET_LABEL },
    signal,
  });
  const found: { secret: string; spec: ClusterSpec }[] = [];
  const problems: ConfigError[] = [];
  for (const item of list.items) {
    const secret: ClusterSecret = {
      name: item.metadata?.name ?? "",
      data: Object.fromEntries(
        Object.entries(item.data ?? {}).map(([k, v]) => [
          k,
          Buffer.from(v, "base64").toString("utf8"),
        ]),
      ),
    };
    const result = parseClusterSecret(secret);
    if (result.ok) found.push({ secret: secret.name, spec: result.spec });
    else problems.push(...result.errors);
  }
  return { found, problems };
}

/**
 * What identifies a running cluster controller: the spec's hash, plus the kubeconfig file's
 * content for a file reference, so that editing (or rotating) the file swaps the client.
 * An unreadable file hashes as such; loading it then reports why.
 */
export async function clusterFingerprint(spec: ClusterSpec): Promise<string> {
  const hash = createHash("sha256").update(clusterSpecHash(spec));
  if (spec.kubeconfig.kind === "path") {
    // Bounded as loading is: a path to /dev/zero must not be read for ever.
    const read = await readBoundedFile(spec.kubeconfig.path, KUBECONFIG_MAX_BYTES);
    hash.update(read.ok ? read.bytes : Buffer.from("\0unreadable"));
  }
  return hash.digest("hex");
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
