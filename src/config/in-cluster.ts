import { isIP } from "node:net";

/** Where a pod's ServiceAccount credentials are mounted (the projected token and the cluster CA). */
export const SERVICE_ACCOUNT_DIR = "/var/run/secrets/kubernetes.io/serviceaccount";

/** How kubeburst reaches its own cluster from inside a pod. */
export interface InClusterSettings {
  /** `https://host:port` of the API server, from KUBERNETES_SERVICE_HOST and _PORT. */
  server: string;
  /** The projected token, re-read when it changes (the kubelet rotates it). */
  tokenFile: string;
  /** The cluster's CA bundle. */
  caFile: string;
}

/**
 * The in-cluster settings from the environment a kubelet gives every pod:
 * `KUBERNETES_SERVICE_HOST` and `KUBERNETES_SERVICE_PORT`, and the ServiceAccount's `token` and
 * `ca.crt` in {@link SERVICE_ACCOUNT_DIR}, or in `KUBEBURST_SERVICE_ACCOUNT_DIR` when set (tests,
 * or a token mounted elsewhere). Pure: reads only `env`.
 */
export function inClusterSettings(
  env: Readonly<Record<string, string | undefined>>,
): { ok: true; settings: InClusterSettings } | { ok: false; problems: string[] } {
  const host = env.KUBERNETES_SERVICE_HOST?.trim() ?? "";
  const port = env.KUBERNETES_SERVICE_PORT?.trim() ?? "";
  const problems: string[] = [];
  const unset = (name: string) =>
    `${name} is not set; without a kubeconfig the production cluster is the one kubeburst runs in as a pod (set clusters[].kubeconfig when it runs elsewhere)`;
  if (host === "") problems.push(unset("KUBERNETES_SERVICE_HOST"));
  if (port === "") problems.push(unset("KUBERNETES_SERVICE_PORT"));
  else if (!/^[0-9]{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) {
    problems.push(
      `KUBERNETES_SERVICE_PORT: ${JSON.stringify(port)} is not a port number (1-65535)`,
    );
  }
  if (problems.length > 0) return { ok: false, problems };
  const dir = env.KUBEBURST_SERVICE_ACCOUNT_DIR?.trim() || SERVICE_ACCOUNT_DIR;
  const hostPart = isIP(host) === 6 ? `[${host}]` : host;
  return {
    ok: true,
    settings: {
      server: `https://${hostPart}:${Number(port)}`,
      tokenFile: `${dir.replace(/\/+$/, "")}/token`,
      caFile: `${dir.replace(/\/+$/, "")}/ca.crt`,
    },
  };
}
