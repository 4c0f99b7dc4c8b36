import { KubeApiError } from "../kube/kube-api-error.ts";
import type { KubeClient } from "../kube/kube-client.ts";
import type { Logger } from "../observability/logger.ts";
import type { Clock } from "../runtime/clock.ts";

export interface LeaderElectionOptions {
  client: KubeClient;
  namespace: string;
  leaseName: string;
  /** Who we are in the Lease (unique per process). */
  identity: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  clock: Clock;
  logger: Logger;
  /** This process now leads. */
  onStartedLeading: () => void;
  /** This process could not renew within `renewDeadline`: it no longer leads. */
  onStoppedLeading: () => void;
}

interface Lease {
  metadata?: { resourceVersion?: string };
  spec?: {
    holderIdentity?: string;
    leaseDurationSeconds?: number;
    acquireTime?: string;
    renewTime?: string;
    leaseTransitions?: number;
  };
}

/** A Lease's MicroTime: RFC 3339 with exactly six fractional digits, as the API parses it. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/**
 * Lease-based leader election (SPEC B10), as client-go does it: the holder renews the Lease every
 * `retryPeriod`; another process takes it over only when it has seen no change of the Lease for
 * `leaseDuration` by its own clock (so clock skew between machines does not matter), or when the
 * holder released it. A leader that cannot renew within `renewDeadline` stops leading. On a clean
 * stop the leader releases the Lease, so a standby takes over at once.
 */
export class LeaderElector {
  readonly #opts: LeaderElectionOptions;
  readonly #path: string;
  #leading = false;
  /** The Lease content last seen, and when (our clock) it was first seen. */
  #observed: { record: string; at: number } | undefined;
  #lastRenew = 0;

  constructor(opts: LeaderElectionOptions) {
    this.#opts = opts;
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${opts.namespace}/leases/${opts.leaseName}`;
  }

  get isLeader(): boolean {
    return this.#leading;
  }

  /** Campaigns, then renews, until `signal` aborts; releases the Lease if it leads then. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, retryPeriodMs, renewDeadlineMs, logger } = this.#opts;
    while (!signal.aborted) {
      let held = false;
      try {
        held = await this.#tryAcquireOrRenew(signal);
      } catch (err) {
        if (signal.aborted) break;
        const kind = err instanceof KubeApiError ? err.kind : "error";
        logger.warn({ kind, err: String(err) }, "leader election: cannot read or write the Lease");
      }
      const now = clock.now();
      if (held) {
        this.#lastRenew = now;
        if (!this.#leading) {
          this.#leading = true;
          logger.info({ identity: this.#opts.identity }, "leader election: leading");
          this.#opts.onStartedLeading();
        }
      } else if (this.#leading && now - this.#lastRenew >= renewDeadlineMs) {
        this.#leading = false;
        logger.error("leader election: could not renew the Lease in time; no longer leading");
        this.#opts.onStoppedLeading();
      }
      await clock.sleep(retryPeriodMs, signal);
    }
    if (this.#leading) await this.#release();
  }

  async #tryAcquireOrRenew(signal: AbortSignal): Promise<boolean> {
    const { identity, leaseDurationMs, clock } = this.#opts;
    const now = clock.now();
    const lease = await this.#get(signal);
    const desired = (previous: Lease | undefined, transitions: number): Lease => ({
      ...(previous?.metadata?.resourceVersion
        ? { metadata: { resourceVersion: previous.metadata.resourceVersion } }
        : {}),
      spec: {
        holderIdentity: identity,
        leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
        acquireTime:
          previous?.spec?.holderIdentity === identity && previous.spec.acquireTime
            ? previous.spec.acquireTime
            : microTime(now),
        renewTime: microTime(now),
        leaseTransitions: transitions,
      },
    });
    if (!lease) {
      return this.#write("POST", desired(undefined, 0), signal);
    }
    const spec = lease.spec ?? {};
    const record = JSON.stringify([spec.holderIdentity, spec.renewTime]);
    if (this.#observed?.record !== record) this.#observed = { record, at: now };
    const holder = spec.holderIdentity ?? "";
    const transitions = spec.leaseTransitions ?? 0;
    if (holder === identity) return this.#write("PUT", desired(lease, transitions), signal);
    const expired = now - this.#observed.at >= leaseDurationMs;
    if (holder !== "" && !expired) return false;
    return this.#write("PUT", desired(lease, transitions + 1), signal);
  }

  async #get(signal: AbortSignal): Promise<Lease | undefined> {
    try {
      return await this.#opts.client.request<Lease>({ method: "GET", path: this.#path, signal });
    } catch (err) {
      if (err instanceof KubeApiError && err.kind === "not-found") return undefined;
      throw err;
    }
  }

  /** Creates or updates the Lease; false when someone else wrote it first (a conflict). */
  async #write(method: "POST" | "PUT", lease: Lease, signal: AbortSignal): Promise<boolean> {
    const { client, namespace, leaseName } = this.#opts;
    const body = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { ...lease.metadata, name: leaseName, namespace },
      spec: lease.spec,
    };
    const path = method === "POST" ? this.#path.slice(0, this.#path.lastIndexOf("/")) : this.#path;
    try {
      await client.request({ method, path, body, query: { fieldManager: "kubeburst" }, signal });
      return true;
    } catch (err) {
      if (
        err instanceof KubeApiError &&
        (err.kind === "conflict" || err.kind === "already-exists")
      ) {
        return false;
      }
      throw err;
    }
  }

  /** Gives the Lease up so a standby need not wait for it to expire. Best effort. */
  async #release(): Promise<void> {
    const deadline = AbortSignal.timeout(2_000);
    try {
      const lease = await this.#get(deadline);
      if (!lease || lease.spec?.holderIdentity !== this.#opts.identity) return;
      await this.#write(
        "PUT",
        {
          ...(lease.metadata?.resourceVersion
            ? { metadata: { resourceVersion: lease.metadata.resourceVersion } }
            : {}),
          spec: { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 },
        },
        deadline,
      );
      this.#opts.logger.info("leader election: released the Lease");
    } catch (err) {
      this.#opts.logger.warn(
        { err: String(err) },
        "leader election: could not release the Lease; it expires by itself",
      );
    }
    this.#leading = false;
  }
}
