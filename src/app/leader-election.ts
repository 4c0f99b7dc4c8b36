import { KubeApiError } from "../kube/kube-api-error.ts";
import type { KubeClient, KubeRequest } from "../kube/kube-client.ts";
import type { Logger } from "../observability/logger.ts";
import type { Clock } from "../runtime/clock.ts";
import type { Fence } from "../writer/fence.ts";

/**
 * How far apart two machines' clocks may run, as a fraction of elapsed time. NTP slews a clock
 * by at most 0.05%; 1% leaves room for worse time-keeping (virtual machines, no NTP at all).
 */
const CLOCK_RATE_BOUND = 0.01;

/**
 * Event-loop delay we allow between a writer's `canWrite()` check and its bytes leaving, and
 * by which a deadline timer may fire late on a busy process.
 */
const TIMER_SLACK_MS = 500;

/**
 * The safety margin of the write fence for a lease of `leaseDurationMs`, in ms.
 *
 * A standby takes the Lease only after it has seen the same Lease record for `leaseDuration` by
 * its own clock, counting from the first read that returned the record. That read was served
 * after the API server stored the record, which is after the leader sent it; and a standby's
 * polling only makes it see the record later. So by true time the standby's count starts no
 * earlier than the sending of the leader's last successful renewal, `lastRenewSent`, which is
 * why the fence counts from there too. What the margin covers is the rest: the two clocks may
 * run at rates that differ by up to 2 × {@link CLOCK_RATE_BOUND} (the leader's slow, the
 * standby's fast), and a timer of the leader may fire up to {@link TIMER_SLACK_MS} late. Clock
 * steps (a wall clock set back) are not covered.
 */
export function fenceMarginMs(leaseDurationMs: number): number {
  return Math.ceil(2 * CLOCK_RATE_BOUND * leaseDurationMs) + TIMER_SLACK_MS;
}

export interface LeaderElectionOptions {
  /** A client for the production API server; only `request` is used. */
  client: Pick<KubeClient, "request">;
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
  /**
   * This process could not renew within `renewDeadline` (called at that instant by our clock,
   * even if a renewal is still in flight), or saw another holder in the Lease: it no longer leads.
   * It keeps campaigning as a standby until `run`'s signal aborts.
   */
  onStoppedLeading: () => void;
  /**
   * On a clean stop, awaited after {@link LeaderElector.canWrite} turned false and before the
   * Lease is released: resolve once no write is in flight. A released Lease is taken at once, so
   * a write still in flight then could land after a standby took over. Default: resolves at once.
   */
  drainWrites?: () => Promise<void>;
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

/** A MicroTime of a Lease: RFC 3339 with exactly six fractional digits, as the API parses it. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

type Role = "standby" | "leading" | "releasing";

/** The result of one read-then-write of the Lease. */
type Attempt =
  /** Our write of the Lease succeeded; `sentAt` is when we sent it (our clock). */
  | { result: "held"; sentAt: number }
  /** Another replica holds the Lease and it has not expired. */
  | { result: "taken" }
  /** Someone wrote the Lease between our read and our write. */
  | { result: "conflict" };

/** A deadline for the calls of one attempt: the signal aborts at `at` (our clock) or with the parent. */
interface Deadline {
  at: number;
  signal: AbortSignal;
  /** Ends the timer. */
  end(): void;
}

/**
 * Lease-based leader election (SPEC B10), as client-go does it, with a fence for writers.
 *
 * The holder renews the Lease every `retryPeriod`; another process takes it over only when it has
 * seen no change of the Lease for `leaseDuration` by its own clock (so the offset between
 * machines' clocks does not matter), or when the holder released it. On a clean stop the leader
 * releases the Lease, so a standby takes over at once.
 *
 * Timing, all by our clock and anchored at `lastRenewSent`, the moment we sent the last renewal
 * that succeeded (the server may have stored it any time after, so the sending is the safe end):
 * - every Lease call has a deadline; while leading it is `lastRenewSent + renewDeadline`, so no
 *   call outlives leadership; while campaigning it is `renewDeadline - retryPeriod` from the
 *   start of the attempt, so that an acquisition still leaves time for the first renewal;
 * - at `lastRenewSent + renewDeadline` we stop leading and call `onStoppedLeading`, whether or
 *   not a renewal is still in flight;
 * - {@link LeaderElector.canWrite} is true only while leading, before that instant, and while a
 *   write would still get at least the margin ({@link fenceMarginMs}) as budget;
 * - {@link LeaderElector.writeBudgetMs} is `lastRenewSent + leaseDuration - margin - now`.
 *
 * With the defaults (lease 15 s, renew deadline 10 s, retry 2 s; margin 0.8 s) and T the sending
 * of the last successful renewal: writes may start until T + 10 s, every write's deadline ends
 * by T + 14.2 s, and a standby can hold the Lease at T + 15 s at the earliest. The window that
 * remains is on the API server's side: aborting a request does not recall bytes the server has
 * already received. A write lands after a standby took over only if the server applies it more
 * than 5 s (`leaseDuration - renewDeadline`) after we sent it, for a write started at the last
 * moment, or more than 15 s after, for one started right after a renewal. The new leader then
 * corrects the Service's slices at its next reconcile of it (at the latest its periodic resync).
 */
export class LeaderElector implements Fence {
  readonly #opts: LeaderElectionOptions;
  readonly #path: string;
  readonly #marginMs: number;
  #role: Role = "standby";
  /** When we sent the last write of the Lease that succeeded (our clock). */
  #lastRenewSent = Number.NEGATIVE_INFINITY;
  /** The Lease record last read, and when (our clock) a read first returned it. */
  #observed: { record: string; at: number } | undefined;
  #observedHolder: string | undefined;
  /** Ends leadership at the renew deadline; replaced at each renewal. */
  #watchdog: AbortController | undefined;

  constructor(opts: LeaderElectionOptions) {
    this.#opts = opts;
    this.#path = `/apis/coordination.k8s.io/v1/namespaces/${opts.namespace}/leases/${opts.leaseName}`;
    this.#marginMs = fenceMarginMs(opts.leaseDurationMs);
  }

  /** Whether this process leads (it may still be unable to write: see {@link canWrite}). */
  get isLeader(): boolean {
    return this.#role === "leading";
  }

  /** The holder in the Lease at the last read ("" when released); undefined before any read. */
  get observedHolder(): string | undefined {
    return this.#observedHolder;
  }

  /** The fence's safety margin, in ms (see {@link fenceMarginMs}). */
  get marginMs(): number {
    return this.#marginMs;
  }

  canWrite(): boolean {
    return this.#budgetAt(this.#opts.clock.now()) > 0;
  }

  writeBudgetMs(): number {
    return this.#budgetAt(this.#opts.clock.now());
  }

  #budgetAt(now: number): number {
    const { renewDeadlineMs, leaseDurationMs } = this.#opts;
    if (this.#role !== "leading" || now >= this.#lastRenewSent + renewDeadlineMs) return 0;
    const budget = this.#lastRenewSent + leaseDurationMs - this.#marginMs - now;
    return budget >= this.#marginMs ? budget : 0;
  }

  /**
   * Campaigns, then renews, until `signal` aborts; a leader then waits for `drainWrites` and
   * releases the Lease (best effort, within its renew deadline). Never rejects.
   */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, retryPeriodMs } = this.#opts;
    while (!signal.aborted) {
      const renewed = await this.#attempt(signal);
      // A leader renews every retryPeriod counted from the sending, so slow calls do not add up.
      const wait =
        renewed && this.#role === "leading"
          ? this.#lastRenewSent + retryPeriodMs - clock.now()
          : retryPeriodMs;
      await clock.sleep(wait, signal);
    }
    this.#stopWatchdog();
    if (this.#role === "leading") await this.#release();
  }

  /** One read-then-write of the Lease; true when we hold it now. */
  async #attempt(signal: AbortSignal): Promise<boolean> {
    const { clock, renewDeadlineMs, retryPeriodMs, logger } = this.#opts;
    const at =
      this.#role === "leading"
        ? this.#lastRenewSent + renewDeadlineMs
        : clock.now() + renewDeadlineMs - retryPeriodMs;
    const deadline = this.#deadline(at, signal);
    try {
      const attempt = await this.#tryAcquireOrRenew(deadline);
      if (attempt.result === "held") return this.#held(attempt.sentAt, signal);
      if (attempt.result === "taken") this.#stepDown("another replica holds the Lease");
      return false;
    } catch (err) {
      if (signal.aborted) return false;
      const kind = err instanceof KubeApiError ? err.kind : "error";
      logger.warn({ kind, err: String(err) }, "leader election: cannot read or write the Lease");
      return false;
    } finally {
      deadline.end();
    }
  }

  /** Our write sent at `sentAt` succeeded: lead until `sentAt + renewDeadline`. */
  #held(sentAt: number, signal: AbortSignal): boolean {
    const { clock, renewDeadlineMs, logger, identity } = this.#opts;
    const until = sentAt + renewDeadlineMs;
    if (clock.now() >= until) {
      logger.warn("leader election: the Lease was written too late to lead on");
      return false;
    }
    this.#lastRenewSent = sentAt;
    this.#startWatchdog(until, signal);
    if (this.#role !== "leading") {
      this.#role = "leading";
      logger.info({ identity }, "leader election: leading");
      this.#notify(this.#opts.onStartedLeading);
    }
    return true;
  }

  #startWatchdog(at: number, signal: AbortSignal): void {
    this.#stopWatchdog();
    const watchdog = new AbortController();
    this.#watchdog = watchdog;
    const stop = AbortSignal.any([watchdog.signal, signal]);
    const { clock } = this.#opts;
    void clock.sleep(at - clock.now(), stop).then(() => {
      if (!stop.aborted) this.#stepDown("could not renew the Lease within renewDeadline");
    });
  }

  #stopWatchdog(): void {
    this.#watchdog?.abort();
    this.#watchdog = undefined;
  }

  #stepDown(reason: string): void {
    if (this.#role !== "leading") return;
    this.#role = "standby";
    this.#stopWatchdog();
    this.#opts.logger.error({ reason }, "leader election: no longer leading");
    this.#notify(this.#opts.onStoppedLeading);
  }

  #notify(callback: () => void): void {
    try {
      callback();
    } catch (err) {
      this.#opts.logger.error({ err }, "leader election: a leadership callback threw");
    }
  }

  /** A signal that aborts at `at` by our clock (a `timeout` error) or when `parent` aborts. */
  #deadline(at: number, parent?: AbortSignal): Deadline {
    const { clock } = this.#opts;
    const timer = new AbortController();
    const ended = new AbortController();
    const stop = parent ? AbortSignal.any([ended.signal, parent]) : ended.signal;
    const expire = () =>
      timer.abort(new KubeApiError("timeout", `${this.#path}: Lease call deadline passed`));
    if (clock.now() >= at) expire();
    else
      void clock.sleep(at - clock.now(), stop).then(() => {
        if (!stop.aborted) expire();
      });
    return {
      at,
      signal: parent ? AbortSignal.any([timer.signal, parent]) : timer.signal,
      end: () => ended.abort(),
    };
  }

  /** Sends one call within `deadline`; settles when the deadline passes even if the client does not. */
  #request<T>(req: Omit<KubeRequest, "signal" | "timeoutMs">, deadline: Deadline): Promise<T> {
    const { signal } = deadline;
    const timeoutMs = Math.max(1, deadline.at - this.#opts.clock.now());
    return new Promise<T>((resolve, reject) => {
      const onAbort = () => reject(signal.reason);
      if (signal.aborted) {
        onAbort();
        return;
      }
      signal.addEventListener("abort", onAbort, { once: true });
      this.#opts.client
        .request<T>({ ...req, signal, timeoutMs })
        .then(resolve, reject)
        .finally(() => signal.removeEventListener("abort", onAbort));
    });
  }

  async #tryAcquireOrRenew(deadline: Deadline): Promise<Attempt> {
    const { identity, leaseDurationMs, clock } = this.#opts;
    const lease = await this.#get(deadline);
    // The read was served after the record was stored, so counting from its answer is safe.
    const seenAt = clock.now();
    this.#observedHolder = lease?.spec?.holderIdentity ?? "";
    if (!lease) return this.#write("POST", undefined, 0, deadline);
    const spec = lease.spec ?? {};
    const record = JSON.stringify([lease.metadata?.resourceVersion, spec]);
    if (this.#observed?.record !== record) this.#observed = { record, at: seenAt };
    const holder = spec.holderIdentity ?? "";
    const transitions = spec.leaseTransitions ?? 0;
    if (holder === identity) return this.#write("PUT", lease, transitions, deadline);
    // The holder's own lease duration counts (rounded up to seconds in the Lease).
    const heldForMs = (spec.leaseDurationSeconds ?? 0) * 1000 || leaseDurationMs;
    if (holder !== "" && seenAt - this.#observed.at < heldForMs) return { result: "taken" };
    return this.#write("PUT", lease, transitions + 1, deadline);
  }

  async #get(deadline: Deadline): Promise<Lease | undefined> {
    try {
      return await this.#request<Lease>({ method: "GET", path: this.#path }, deadline);
    } catch (err) {
      if (err instanceof KubeApiError && err.kind === "not-found") return undefined;
      throw err;
    }
  }

  /** Creates (POST) or updates (PUT, with `previous`'s resourceVersion) the Lease naming us. */
  async #write(
    method: "POST" | "PUT",
    previous: Lease | undefined,
    transitions: number,
    deadline: Deadline,
  ): Promise<Attempt> {
    const { identity, leaseDurationMs, clock } = this.#opts;
    const sentAt = clock.now();
    const ours = previous?.spec?.holderIdentity === identity;
    const spec = {
      holderIdentity: identity,
      leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000),
      acquireTime:
        ours && previous?.spec?.acquireTime ? previous.spec.acquireTime : microTime(sentAt),
      renewTime: microTime(sentAt),
      leaseTransitions: transitions,
    };
    return (await this.#send(method, previous, spec, deadline))
      ? { result: "held", sentAt }
      : { result: "conflict" };
  }

  /** Sends the Lease; false when someone else wrote it first (a conflict). */
  async #send(
    method: "POST" | "PUT",
    previous: Lease | undefined,
    spec: Lease["spec"],
    deadline: Deadline,
  ): Promise<boolean> {
    const { namespace, leaseName } = this.#opts;
    const resourceVersion = previous?.metadata?.resourceVersion;
    const body = {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: { name: leaseName, namespace, ...(resourceVersion ? { resourceVersion } : {}) },
      spec,
    };
    const path = method === "POST" ? this.#path.slice(0, this.#path.lastIndexOf("/")) : this.#path;
    try {
      await this.#request({ method, path, body, query: { fieldManager: "kubeburst" } }, deadline);
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

  /**
   * Closes the fence, waits for `drainWrites`, then gives the Lease up so a standby need not wait
   * for it to expire. Best effort, and only within our renew deadline: after it, the Lease may no
   * longer be ours to give.
   */
  async #release(): Promise<void> {
    const { renewDeadlineMs, logger, identity, drainWrites } = this.#opts;
    this.#role = "releasing";
    try {
      await drainWrites?.();
    } catch (err) {
      logger.warn({ err: String(err) }, "leader election: waiting for writes to end failed");
    }
    const deadline = this.#deadline(this.#lastRenewSent + renewDeadlineMs);
    try {
      const lease = await this.#get(deadline);
      if (!lease || lease.spec?.holderIdentity !== identity) return;
      const spec = { ...lease.spec, holderIdentity: "", leaseDurationSeconds: 1 };
      if (await this.#send("PUT", lease, spec, deadline)) {
        logger.info("leader election: released the Lease");
      }
    } catch (err) {
      logger.warn(
        { err: String(err) },
        "leader election: could not release the Lease; it expires by itself",
      );
    } finally {
      deadline.end();
      this.#role = "standby";
    }
  }
}
