import { stringify } from "yaml";
import type { KubeClient } from "./kube-client.ts";

/** A token minted by the TokenRequest API. */
export interface MintedToken {
  token: string;
  /** ms since the epoch. */
  expiresAt: number;
}

export interface TokenRequestOptions {
  /** Lifetime asked for, s (the API server's minimum is 600; it may grant less than asked). */
  expirationSeconds: number;
  /**
   * A Secret in the ServiceAccount's namespace the token is bound to: deleting that Secret
   * revokes the token at once, long before it expires.
   */
  boundSecret?: { name: string; uid: string };
  signal?: AbortSignal;
}

/**
 * Mints a token of ServiceAccount `namespace/name` (POST .../serviceaccounts/NAME/token). Nothing
 * is stored in the cluster; the token is valid until it expires, its ServiceAccount is deleted,
 * or the Secret it is bound to is.
 */
export async function requestServiceAccountToken(
  client: KubeClient,
  namespace: string,
  name: string,
  options: TokenRequestOptions,
): Promise<MintedToken> {
  const { boundSecret } = options;
  const answer = await client.request<{
    status?: { token?: string; expirationTimestamp?: string };
  }>({
    method: "POST",
    path: `/api/v1/namespaces/${namespace}/serviceaccounts/${name}/token`,
    body: {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenRequest",
      spec: {
        audiences: null,
        expirationSeconds: options.expirationSeconds,
        ...(boundSecret === undefined
          ? {}
          : {
              boundObjectRef: {
                apiVersion: "v1",
                kind: "Secret",
                name: boundSecret.name,
                uid: boundSecret.uid,
              },
            }),
      },
    },
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  const token = answer?.status?.token;
  const expires = Date.parse(answer?.status?.expirationTimestamp ?? "");
  if (typeof token !== "string" || token === "" || Number.isNaN(expires)) {
    throw new Error(
      `TokenRequest for ${namespace}/${name} answered without a token or expiry; is the API server's --service-account-signing-key-file set?`,
    );
  }
  return { token, expiresAt: expires };
}

/**
 * A kubeconfig that authenticates with a bearer `token`, everything inline (as a discovery
 * Secret needs it): `server`, and the CA bundle when the server's certificate is not signed by
 * a system root.
 */
export function tokenKubeconfigYaml(
  name: string,
  server: string,
  ca: Buffer | undefined,
  token: string,
): string {
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      {
        name,
        cluster: {
          server,
          ...(ca === undefined ? {} : { "certificate-authority-data": ca.toString("base64") }),
        },
      },
    ],
    users: [{ name: `${name}-kubeburst`, user: { token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-kubeburst` } }],
    "current-context": name,
  });
}
