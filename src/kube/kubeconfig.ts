// What kubeburst keeps of a kubeconfig once it is loaded and checked (load-kubeconfig.ts): the
// chosen context's cluster and user, with every referenced file already read and every `-data`
// field already decoded. Plain data: nothing here reads a file or runs a program.

/** The ExecCredential versions kubeburst speaks (v1alpha1 was removed in Kubernetes 1.24). */
export const EXEC_API_VERSIONS = [
  "client.authentication.k8s.io/v1",
  "client.authentication.k8s.io/v1beta1",
] as const;

export type ExecApiVersion = (typeof EXEC_API_VERSIONS)[number];

/** A user's `exec` plugin: a program that prints an ExecCredential on stdout. */
export interface ExecPlugin {
  apiVersion: ExecApiVersion;
  /** The program: a name looked up in PATH, or a path (relative ones already resolved). */
  command: string;
  args: readonly string[];
  /** Added to kubeburst's own environment. */
  env: readonly { name: string; value: string }[];
  /** Whether the plugin is told the cluster (`spec.cluster` of KUBERNETES_EXEC_INFO). */
  provideClusterInfo: boolean;
  /** Shown when the command is not found. */
  installHint: string | undefined;
}

export interface KubeconfigCluster {
  /** The entry's name in `clusters`. */
  name: string;
  /** `https://host:port` (or `http://` if allowed), without a trailing slash. */
  server: string;
  /** PEM CA bundle that replaces the system's roots; undefined: the system's. */
  certificateAuthority: Buffer | undefined;
  /** Name checked in the server's certificate (and sent as SNI) instead of the URL's host. */
  tlsServerName: string | undefined;
  insecureSkipTlsVerify: boolean;
  /**
   * The `client.authentication.k8s.io/exec` extension of the cluster entry, handed to an exec
   * plugin with provideClusterInfo as `spec.cluster.config`.
   */
  execConfig: unknown;
}

export interface KubeconfigUser {
  /** The entry's name in `users`. */
  name: string;
  /** A bearer token (`token`, or the content of `tokenFile`, read at load). */
  token: string | undefined;
  /**
   * In-cluster only: the file `token` was read from, read again when it changes (a projected
   * ServiceAccount token is rotated by the kubelet). A kubeconfig's own `tokenFile` is read once.
   */
  tokenFile?: string;
  basicAuth: { username: string; password: string } | undefined;
  /** PEM client certificate (chain) and its key: both or neither. */
  clientCertificate: Buffer | undefined;
  clientKey: Buffer | undefined;
  /** Run only when the user has no token, basic auth or client certificate (as in client-go). */
  exec: ExecPlugin | undefined;
  /** `as`: the user name to impersonate (`Impersonate-User`). */
  impersonate: string | undefined;
}

/** A loaded kubeconfig: the chosen context, its cluster and its user. */
export interface Kubeconfig {
  /** The chosen context's name. */
  context: string;
  cluster: KubeconfigCluster;
  user: KubeconfigUser;
}

/** Whether the user's own fields authenticate, so its exec plugin is not run (client-go's rule). */
export function hasStaticCredentials(user: KubeconfigUser): boolean {
  return (
    user.token !== undefined || user.basicAuth !== undefined || user.clientCertificate !== undefined
  );
}
