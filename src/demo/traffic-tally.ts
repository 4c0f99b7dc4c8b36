/** What one phase of the demo counted. */
export interface PhaseSummary {
  phase: string;
  byPod: Record<string, number>;
  byCluster: Record<string, number>;
  failed: number;
}

/** The last responses seen since a change: how many, and how many came from the peak cluster. */
export interface Recent {
  total: number;
  peak: number;
}

/** How many of the latest responses `waitFor` looks at. */
const WINDOW = 40;

/**
 * Counts a stream of responses (`cluster/pod`, or null for a failure) per pod and per cluster
 * for the current phase, and tells when a change has shown up in the traffic.
 */
export class TrafficTally {
  readonly #peakCluster: string;
  #phase = "";
  #byPod: Record<string, number> = {};
  #failed = 0;
  /** Latest responses since the last change, newest last, at most WINDOW. */
  #recent: (string | null)[] = [];

  constructor(peakCluster = "public") {
    this.#peakCluster = peakCluster;
  }

  record(_at: number, who: string | null): void {
    if (who === null) this.#failed++;
    else this.#byPod[who] = (this.#byPod[who] ?? 0) + 1;
    this.#recent.push(who);
    if (this.#recent.length > WINDOW) this.#recent.shift();
  }

  /** The latest responses since the last {@link TrafficTally.waitFor} began. */
  recent(): Recent {
    const peak = this.#recent.filter((w) => w?.startsWith(`${this.#peakCluster}/`)).length;
    return { total: this.#recent.length, peak };
  }

  /**
   * Forgets earlier responses and waits until `done(recent)` holds for the responses since, or
   * `timeoutMs` passes. Resolves true when it held.
   */
  async waitFor(
    done: (recent: Recent) => boolean,
    timeoutMs: number,
    signal: AbortSignal,
  ): Promise<boolean> {
    this.#recent = [];
    const deadline = Date.now() + timeoutMs;
    while (!signal.aborted && Date.now() < deadline) {
      const r = this.recent();
      // "No peak response" means something only after a full window of responses.
      if (done(r) && (r.peak > 0 || r.total >= WINDOW)) return true;
      await sleep(50);
    }
    return false;
  }

  /** Starts counting a new phase from zero. */
  startPhase(name: string): void {
    this.#phase = name;
    this.#byPod = {};
    this.#failed = 0;
  }

  /** Waits `ms` (or until `signal` aborts), calling `tick` every 250 ms. */
  async countFor(ms: number, signal: AbortSignal, tick: () => void): Promise<void> {
    const end = Date.now() + ms;
    while (!signal.aborted && Date.now() < end) {
      tick();
      await sleep(Math.min(250, end - Date.now()));
    }
  }

  current(): PhaseSummary {
    const byCluster: Record<string, number> = {};
    for (const [pod, n] of Object.entries(this.#byPod)) {
      const cluster = pod.split("/")[0]!;
      byCluster[cluster] = (byCluster[cluster] ?? 0) + n;
    }
    return { phase: this.#phase, byPod: { ...this.#byPod }, byCluster, failed: this.#failed };
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}
