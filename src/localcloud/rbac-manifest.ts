import { readFile } from "node:fs/promises";
import { parseAllDocuments } from "yaml";
import { KubeApiError } from "../kube/kube-api-error.ts";
import type { LocalCloud } from "./local-cloud.ts";

interface RbacObject {
  kind: string;
  metadata: { name: string; namespace?: string; resourceVersion?: string };
  rules?: { resources?: string[] }[];
}

/**
 * Creates, or updates in place, the RBAC objects (and ServiceAccounts) of a manifest (such as `deploy/rbac-production.yaml`) in
 * cluster `clusterName`; with `without`, every rule that names that resource is left out, so that
 * a test can take one right away and give it back. An update is one write, so the subject never
 * goes without its other rights meanwhile. Namespaces the objects live in are created.
 */
export async function applyRbacManifest(
  cloud: LocalCloud,
  clusterName: string,
  file: string,
  without?: string,
): Promise<void> {
  const client = cloud.cluster(clusterName).client;
  for (const doc of parseAllDocuments(await readFile(file, "utf8"))) {
    const obj = doc.toJS() as RbacObject;
    if (without && obj.rules) {
      obj.rules = obj.rules.filter((r) => !(r.resources ?? []).includes(without));
    }
    const plural = `${obj.kind.toLowerCase()}s`;
    const ns = obj.metadata.namespace ? `/namespaces/${obj.metadata.namespace}` : "";
    const group = obj.kind === "ServiceAccount" ? "/api/v1" : "/apis/rbac.authorization.k8s.io/v1";
    const collection = `${group}${ns}/${plural}`;
    if (obj.metadata.namespace) await cloud.ensureNamespace(clusterName, obj.metadata.namespace);
    try {
      await client.request({ method: "POST", path: collection, body: obj });
    } catch (err) {
      if (!(err instanceof KubeApiError && err.kind === "already-exists")) throw err;
      const itemPath = `${collection}/${obj.metadata.name}`;
      const current = await client.request<RbacObject>({ method: "GET", path: itemPath });
      const body = {
        ...obj,
        metadata: { ...obj.metadata, resourceVersion: current.metadata.resourceVersion },
      };
      await client.request({ method: "PUT", path: itemPath, body });
    }
  }
}
