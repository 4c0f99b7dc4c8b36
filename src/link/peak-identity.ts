// What `kubeburst link` creates in a peak cluster and writes into production, as plain objects.
// Pure: the I/O is in link-peak.ts.
import { CLUSTER_SECRET_LABEL } from "../discovery/cluster-sources.ts";
import { PEAK_PERMISSIONS, rbacRules } from "../kube/required-permissions.ts";

/** The namespace and ServiceAccount kubeburst reads a peak as (as in deploy/rbac-peak.yaml). */
export const PEAK_NAMESPACE = "kubeburst";
export const PEAK_SERVICE_ACCOUNT = "kubeburst";
/** The ClusterRole and ClusterRoleBinding of the peak's read-only rights. */
export const PEAK_ROLE = "kubeburst-peak-reader";

/** Marks every object `link` made, so `unlink` removes only those. */
export const LINK_LABEL = "kubeburst.io/linked-by";
export const LINK_LABEL_VALUE = "kubeburst-link";
/** Marks the Secrets a peak token is bound to (one per token). */
export const TOKEN_LABEL = "kubeburst.io/token";
/** On a token's anchor and on the discovery Secret: when the token expires (RFC 3339). */
export const EXPIRES_ANNOTATION = "kubeburst.io/token-expires-at";
/** On the discovery Secret: the name of the peak Secret its token is bound to. */
export const ANCHOR_ANNOTATION = "kubeburst.io/token-secret";

export interface KubeObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    uid?: string;
    resourceVersion?: string;
  };
  [field: string]: unknown;
}

const linked = { [LINK_LABEL]: LINK_LABEL_VALUE };

/** The peak's namespace, ServiceAccount, read-only ClusterRole and its binding, in creation order. */
export function peakObjects(): KubeObject[] {
  return [
    {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: PEAK_NAMESPACE, labels: linked },
    },
    {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: PEAK_SERVICE_ACCOUNT, namespace: PEAK_NAMESPACE, labels: linked },
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRole",
      metadata: { name: PEAK_ROLE, labels: linked },
      rules: rbacRules(PEAK_PERMISSIONS),
    },
    {
      apiVersion: "rbac.authorization.k8s.io/v1",
      kind: "ClusterRoleBinding",
      metadata: { name: PEAK_ROLE, labels: linked },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: PEAK_ROLE },
      subjects: [{ kind: "ServiceAccount", name: PEAK_SERVICE_ACCOUNT, namespace: PEAK_NAMESPACE }],
    },
  ];
}

/** The API path of an object (its collection's without a name). */
export function objectPath(obj: KubeObject, withName = true): string {
  const { kind, metadata } = obj;
  const plural = `${kind.toLowerCase()}s`;
  const base = obj.apiVersion === "v1" ? "/api/v1" : `/apis/${obj.apiVersion}`;
  const ns = metadata.namespace === undefined ? "" : `/namespaces/${metadata.namespace}`;
  return `${base}${ns}/${plural}${withName ? `/${metadata.name}` : ""}`;
}

/**
 * Whether `current` already has what `wanted` sets: its labels (others may be there too) and
 * every top-level field other than metadata. Equal means `link` writes nothing.
 */
export function hasWanted(current: KubeObject, wanted: KubeObject): boolean {
  const labels = wanted.metadata.labels ?? {};
  for (const [k, v] of Object.entries(labels)) if (current.metadata.labels?.[k] !== v) return false;
  for (const [key, value] of Object.entries(wanted)) {
    if (key === "metadata" || key === "apiVersion" || key === "kind") continue;
    if (canonical(current[key]) !== canonical(value)) return false;
  }
  return true;
}

/** JSON with sorted keys, and absent (undefined) fields left out. */
function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  if (typeof value === "object" && value !== null) {
    return `{${Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
      .map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`)
      .join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * A Secret in the peak that one token is bound to: deleting it revokes the token. With
 * `longLived`, it is a `kubernetes.io/service-account-token` Secret whose token the token
 * controller fills in and which never expires.
 */
export function tokenSecret(name: string, longLived: boolean, expiresAt?: string): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace: PEAK_NAMESPACE,
      labels: { ...linked, [TOKEN_LABEL]: longLived ? "long-lived" : "bound" },
      annotations: {
        ...(longLived ? { "kubernetes.io/service-account.name": PEAK_SERVICE_ACCOUNT } : {}),
        ...(expiresAt === undefined ? {} : { [EXPIRES_ANNOTATION]: expiresAt }),
      },
    },
    type: longLived ? "kubernetes.io/service-account-token" : "Opaque",
  };
}

/** The discovery Secret that registers the peak in production (see cluster-spec.ts). */
export function discoverySecret(init: {
  name: string;
  namespace: string;
  kubeconfig: string;
  allowedCIDRs: readonly string[];
  anchor: string;
  expiresAt: string | undefined;
}): KubeObject {
  const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64");
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name: init.name,
      namespace: init.namespace,
      labels: { [CLUSTER_SECRET_LABEL]: "true", ...linked },
      annotations: {
        [ANCHOR_ANNOTATION]: init.anchor,
        ...(init.expiresAt === undefined ? {} : { [EXPIRES_ANNOTATION]: init.expiresAt }),
      },
    },
    type: "Opaque",
    data: { kubeconfig: b64(init.kubeconfig), allowedCIDRs: b64(init.allowedCIDRs.join(",")) },
  };
}
