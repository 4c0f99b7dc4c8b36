import net from "node:net";
import type { ProbeSettings } from "../config/cluster-spec.ts";
import type { ServiceKey } from "../domain/service-key.ts";
import type { Logger } from "../observability/logger.ts";
import type { Metrics } from "../observability/metrics.ts";
import type { Clock } from "../runtime/clock.ts";
import type { ProbeTarget } from "../writer/burst-stage.ts";

/** Opens a TCP connection to `address:port` and closes it: true when it connected within `timeoutMs`. */
export type Dialer = (address: string, port: number, timeoutMs: number) => Promise<boolean>;

/** The real dialer: a TCP connect, nothing sent. */
export const tcpDialer: Dialer = (address, port, timeoutMs) =>
  new Promise((resolve) => {
    const socket = net.connect({ host: address, port });
    const done = (ok: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.once("connect", () => done(true));
    socket.once("error", () => done(false));
  });

export interface ReachabilityProbesOptions {
  clock: Clock;
  metrics: Metrics;
  logger: Logger;
  /** Probes in flight at once, over every peak. */
  concurrency: number;
  /** A peak's probe settings; undefined when it is not probed. */
  settings: (cluster: string) => ProbeSettings | undefined;
  /** An endpoint turned unreachable or reachable again: the Services that use it. */
  onChange: (services: ServiceKey[], target: ProbeTarget, reachable: boolean) => void;
  dialer?: Dialer;
  /** Random numbers in [0, 1) for the jitter (tests pass a fixed sequence). */
  random?: () => number;
}

interface Probe {
  target: ProbeTarget;
  users: Set<ServiceKey>;
  reachable: boolean;
  failures: number;
  successes: number;
  stop: AbortController;
}

const idOf = (t: ProbeTarget) => `${t.cluster}\u0000${t.address}\u0000${t.port}`;

/**
 * TCP reachability probes of peak endpoints from where kubeburst runs (SPEC B4): API
 * reachability is not data-path health. One loop per endpoint and port, started when a Service
 * first asks for it and stopped when none does; each probes at the peak's interval plus up to
 * its jitter, at most `concurrency` at once over all peaks. An endpoint is reachable until
 * `failureThreshold` probes in a row fail (a new endpoint is probed at once, so the API's word
 * holds only until the first answer), and reachable again after `successThreshold` successes.
 */
export class ReachabilityProbes {
  readonly #opts: ReachabilityProbesOptions;
  readonly #probes = new Map<string, Probe>();
  /** Address → probes of it, for {@link unreachable}. */
  readonly #byAddress = new Map<string, Set<Probe>>();
  readonly #wanted = new Map<ServiceKey, Set<string>>();
  #inFlight = 0;
  readonly #waiting: (() => void)[] = [];
  #signal: AbortSignal = AbortSignal.abort();

  constructor(opts: ReachabilityProbesOptions) {
    this.#opts = opts;
  }

  /** Probes run while `signal` is not aborted; {@link track} before this starts nothing. */
  start(signal: AbortSignal): void {
    this.#signal = signal;
    signal.addEventListener("abort", () => {
      for (const p of this.#probes.values()) p.stop.abort();
    });
  }

  /** Whether `address` of peak `cluster` failed its probes (on any port). */
  unreachable(cluster: string, address: string): boolean {
    for (const p of this.#byAddress.get(`${cluster}\u0000${address}`) ?? []) {
      if (!p.reachable) return true;
    }
    return false;
  }

  /** Service `key` wants exactly `targets` probed now. Linear in its targets. */
  track(key: ServiceKey, targets: readonly ProbeTarget[]): void {
    const before = this.#wanted.get(key);
    if (targets.length === 0 && before === undefined) return;
    const now = new Set<string>();
    for (const t of targets) {
      const id = idOf(t);
      now.add(id);
      if (before?.has(id)) continue;
      let probe = this.#probes.get(id);
      if (!probe) probe = this.#startProbe(id, t);
      probe.users.add(key);
    }
    for (const id of before ?? []) {
      if (now.has(id)) continue;
      const probe = this.#probes.get(id);
      probe?.users.delete(key);
      if (probe && probe.users.size === 0) this.#stopProbe(id, probe);
    }
    if (now.size === 0) this.#wanted.delete(key);
    else this.#wanted.set(key, now);
  }

  #startProbe(id: string, target: ProbeTarget): Probe {
    const probe: Probe = {
      target,
      users: new Set(),
      reachable: true,
      failures: 0,
      successes: 0,
      stop: new AbortController(),
    };
    this.#probes.set(id, probe);
    const at = `${target.cluster}\u0000${target.address}`;
    let set = this.#byAddress.get(at);
    if (!set) {
      set = new Set();
      this.#byAddress.set(at, set);
    }
    set.add(probe);
    this.#count(target.cluster, true, +1);
    if (!this.#signal.aborted) void this.#loop(probe);
    return probe;
  }

  #stopProbe(id: string, probe: Probe): void {
    probe.stop.abort();
    this.#probes.delete(id);
    const at = `${probe.target.cluster}\u0000${probe.target.address}`;
    const set = this.#byAddress.get(at);
    set?.delete(probe);
    if (set?.size === 0) this.#byAddress.delete(at);
    this.#count(probe.target.cluster, probe.reachable, -1);
  }

  async #loop(probe: Probe): Promise<void> {
    const { clock } = this.#opts;
    const random = this.#opts.random ?? Math.random;
    const signal = AbortSignal.any([probe.stop.signal, this.#signal]);
    while (!signal.aborted) {
      const settings = this.#opts.settings(probe.target.cluster);
      if (!settings) {
        // Probes turned off for this peak: what they found no longer holds.
        if (!probe.reachable) this.#flip(probe);
        return;
      }
      await this.#acquire(signal);
      if (signal.aborted) return;
      let ok: boolean;
      try {
        const dial = this.#opts.dialer ?? tcpDialer;
        ok = await dial(probe.target.address, probe.target.port, settings.timeoutMs);
      } finally {
        this.#release();
      }
      if (signal.aborted) return;
      this.#record(probe, ok, settings);
      await clock.sleep(settings.intervalMs + Math.floor(random() * settings.jitterMs), signal);
    }
  }

  #record(probe: Probe, ok: boolean, settings: ProbeSettings): void {
    const { cluster } = probe.target;
    this.#opts.metrics.probes.inc({ cluster, result: ok ? "success" : "failure" });
    if (ok) {
      probe.failures = 0;
      probe.successes++;
    } else {
      probe.successes = 0;
      probe.failures++;
    }
    const flip = probe.reachable
      ? probe.failures >= settings.failureThreshold
      : probe.successes >= settings.successThreshold;
    if (flip) this.#flip(probe);
  }

  #flip(probe: Probe): void {
    const { cluster } = probe.target;
    this.#count(cluster, probe.reachable, -1);
    probe.reachable = !probe.reachable;
    this.#count(cluster, probe.reachable, +1);
    this.#opts.logger.info(
      {
        cluster,
        address: probe.target.address,
        port: probe.target.port,
        reachable: probe.reachable,
      },
      probe.reachable ? "peak endpoint reachable again" : "peak endpoint unreachable",
    );
    this.#opts.onChange([...probe.users], probe.target, probe.reachable);
  }

  #count(cluster: string, reachable: boolean, delta: number): void {
    this.#opts.metrics.probeTargets.inc(
      { cluster, state: reachable ? "reachable" : "unreachable" },
      delta,
    );
  }

  async #acquire(signal: AbortSignal): Promise<void> {
    while (this.#inFlight >= this.#opts.concurrency && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const wake = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
        const onAbort = () => {
          const i = this.#waiting.indexOf(wake);
          if (i >= 0) this.#waiting.splice(i, 1);
          resolve();
        };
        this.#waiting.push(wake);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    }
    if (!signal.aborted) this.#inFlight++;
  }

  #release(): void {
    this.#inFlight--;
    this.#waiting.shift()?.();
  }
}
