import { stat } from "node:fs/promises";
import { readBoundedFile } from "../config/read-bounded-file.ts";
import { KubeApiError } from "./kube-api-error.ts";
import { hasStaticCredentials, type Kubeconfig } from "./kubeconfig.ts";
import { runExecPlugin } from "./run-exec-plugin.ts";

/** TLS settings of the connections to one API server. */
export interface TlsMaterial {
  /** PEM CA bundle; undefined: the system's roots. */
  ca: Buffer | undefined;
  /** PEM client certificate and key (both or neither). */
  cert: Buffer | undefined;
  key: Buffer | undefined;
  /** Name checked in the server's certificate instead of the URL's host (and sent as SNI). */
  servername: string | undefined;
  rejectUnauthorized: boolean;
}

/** What one request authenticates with. */
export interface AuthMaterial {
  /** `Authorization` and `Impersonate-User`, as far as set. */
  headers: Readonly<Record<string, string>>;
  /** The same object while the TLS settings stay the same: a new one needs new connections. */
  tls: TlsMaterial;
}

export interface CredentialsOptions {
  /** How long an exec plugin may run, ms. Default 60 000 (a cloud CLI takes seconds). */
  execTimeoutMs?: number;
  /** Most an exec plugin may print on stdout, bytes. Default 1 MiB. */
  execMaxOutputBytes?: number;
  /** Clock for credential expiry, ms since the epoch. Default Date.now. */
  now?: () => number;
  /**
   * How often an in-cluster token file is checked for a new token, ms. Default 10 000: the
   * kubelet replaces a projected token at 80 % of its lifetime, so minutes remain; a 401 checks
   * at once.
   */
  tokenRecheckMs?: number;
}

/** An in-cluster token file and what was last read from it. */
interface TokenFile {
  path: string;
  /** mtime, size and inode of the file last read: a change means a new token. */
  stamp: string;
  /** When the file was last checked, ms since the epoch; 0: check at the next request. */
  checkedAt: number;
}

interface Cached {
  material: AuthMaterial;
  /** ms since the epoch; undefined: until the server refuses the credential. */
  expiresAt: number | undefined;
}

function sameBytes(a: Buffer | undefined, b: Buffer | undefined): boolean {
  return a === b || (a !== undefined && b !== undefined && a.equals(b));
}

/**
 * The credentials of a kubeconfig's user, for every request to its cluster: a static token,
 * basic auth or client certificate as they are, or else what the user's exec plugin prints
 * (client.authentication.k8s.io ExecCredential). A plugin's credential is kept until its
 * `expirationTimestamp` or until the server answers 401 to it (see {@link refused}), then the
 * plugin runs again; callers arriving meanwhile share one run. A failed run is not kept: the next
 * request runs the plugin again, so a plugin fixed later is picked up.
 */
export class Credentials {
  readonly #kc: Kubeconfig;
  readonly #execTimeoutMs: number;
  readonly #execMaxOutputBytes: number;
  readonly #now: () => number;
  #static: AuthMaterial | undefined;
  readonly #tokenFile: TokenFile | undefined;
  readonly #tokenRecheckMs: number;
  #rereading: Promise<void> | undefined;
  #cached: Cached | undefined;
  /** The TLS settings of the last credential, kept past a 401 or expiry to compare with. */
  #execTls: TlsMaterial | undefined;
  #running: Promise<AuthMaterial> | undefined;

  constructor(kc: Kubeconfig, options: CredentialsOptions = {}) {
    this.#kc = kc;
    this.#execTimeoutMs = options.execTimeoutMs ?? 60_000;
    this.#execMaxOutputBytes = options.execMaxOutputBytes ?? 1024 * 1024;
    this.#now = options.now ?? Date.now;
    this.#tokenRecheckMs = options.tokenRecheckMs ?? 10_000;
    const { user } = kc;
    if (user.tokenFile !== undefined) {
      this.#tokenFile = { path: user.tokenFile, stamp: "", checkedAt: 0 };
    }
    if (user.exec === undefined || hasStaticCredentials(user)) {
      const headers = this.#baseHeaders();
      if (user.token !== undefined) headers.Authorization = `Bearer ${user.token}`;
      else if (user.basicAuth !== undefined) {
        const { username, password } = user.basicAuth;
        headers.Authorization = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
      }
      this.#static = { headers, tls: this.#tls(user.clientCertificate, user.clientKey) };
    }
  }

  /** The kubeconfig user's name, for messages. */
  get userName(): string {
    return this.#kc.user.name;
  }

  /**
   * The material for the next request. Runs the exec plugin (within its deadline) when there is
   * no credential yet or it has expired. Throws a `no-credentials` KubeApiError naming the user
   * and what was wrong when the plugin fails.
   */
  async current(): Promise<AuthMaterial> {
    const file = this.#tokenFile;
    if (file !== undefined && this.#now() - file.checkedAt >= this.#tokenRecheckMs) {
      this.#rereading ??= this.#rereadToken(file).finally(() => {
        this.#rereading = undefined;
      });
      await this.#rereading;
    }
    if (this.#static !== undefined) return this.#static;
    const cached = this.#cached;
    if (
      cached !== undefined &&
      (cached.expiresAt === undefined || this.#now() < cached.expiresAt)
    ) {
      return cached.material;
    }
    this.#running ??= this.#run().finally(() => {
      this.#running = undefined;
    });
    return await this.#running;
  }

  /**
   * The server answered 401 to a request sent with `material`: the next {@link current} runs the
   * exec plugin again, unless it already has since. Static credentials are not read again.
   */
  refused(material: AuthMaterial): void {
    if (this.#cached?.material === material) this.#cached = undefined;
    // A rotated token may be on disk already: look before the next request.
    if (this.#tokenFile !== undefined && this.#static === material) this.#tokenFile.checkedAt = 0;
  }

  /**
   * Reads the token file again if it changed since last read. The new token replaces the old
   * one for the next requests; the TLS settings stay the same object, so open connections and
   * watches (authenticated when they opened) go on. A file that cannot be read, or is empty,
   * keeps the token in use: the kubelet writes the new one before the old one expires.
   */
  async #rereadToken(file: TokenFile): Promise<void> {
    file.checkedAt = this.#now();
    let stamp: string;
    try {
      const s = await stat(file.path);
      stamp = `${s.mtimeMs}:${s.size}:${s.ino}`;
    } catch {
      return;
    }
    if (stamp === file.stamp) return;
    const read = await readBoundedFile(file.path, 1024 * 1024);
    const token = read.ok ? read.bytes.toString("utf8").trim() : "";
    if (token === "") return;
    file.stamp = stamp;
    const old = this.#static;
    if (old === undefined || old.headers.Authorization === `Bearer ${token}`) return;
    this.#static = { headers: { ...old.headers, Authorization: `Bearer ${token}` }, tls: old.tls };
  }

  async #run(): Promise<AuthMaterial> {
    const { cluster, user } = this.#kc;
    const exec = user.exec;
    if (exec === undefined) throw new Error("bug: no exec plugin and no static credentials");
    const result = await runExecPlugin(exec, cluster, {
      timeoutMs: this.#execTimeoutMs,
      maxOutputBytes: this.#execMaxOutputBytes,
    });
    if (!result.ok) {
      throw new KubeApiError(
        "no-credentials",
        `kubeconfig user ${JSON.stringify(user.name)} gave no usable credentials: ${result.problem}; fix the user entry or its exec plugin`,
      );
    }
    const { credential } = result;
    const headers = this.#baseHeaders();
    if (credential.token !== undefined) headers.Authorization = `Bearer ${credential.token}`;
    const previous = this.#execTls;
    const tls =
      previous !== undefined &&
      sameBytes(previous.cert, credential.clientCertificate) &&
      sameBytes(previous.key, credential.clientKey)
        ? previous
        : this.#tls(credential.clientCertificate, credential.clientKey);
    this.#execTls = tls;
    const material: AuthMaterial = { headers, tls };
    this.#cached = { material, expiresAt: credential.expiresAt };
    return material;
  }

  #baseHeaders(): Record<string, string> {
    const as = this.#kc.user.impersonate;
    return as === undefined ? {} : { "Impersonate-User": as };
  }

  #tls(cert: Buffer | undefined, key: Buffer | undefined): TlsMaterial {
    const { cluster } = this.#kc;
    return {
      ca: cluster.certificateAuthority,
      cert,
      key,
      servername: cluster.tlsServerName,
      rejectUnauthorized: !cluster.insecureSkipTlsVerify,
    };
  }
}
