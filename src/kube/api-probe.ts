import type { Clock } from "../runtime/clock.ts";
import { KubeApiError } from "./kube-api-error.ts";
import type { KubeClient } from "./kube-client.ts";

export interface ApiProbeOptions {
  client: KubeClient;
  clock: Clock;
  /** Time between the starts of two probes, ms. */
  intervalMs: number;
  /** Deadline of one probe, ms; at most `intervalMs` keeps the bound below. */
  timeoutMs: number;
  /** Consecutive failed probes that make the server unhealthy (at least 1). */
  failureThreshold: number;
  /** The server turned unhealthy, with the last probe's failure. Once per transition. */
  onUnhealthy(cause: KubeApiError): void;
  /** The server answered again after onUnhealthy. Once per transition. */
  onHealthy(): void;
  /** The server answered a probe (every time). */
  onAnswered?(): void;
}

/**
 * Watches an API server's health with `GET /readyz`, because a watch cannot tell a quiet
 * collection from a frozen server: a SIGSTOPped kube-apiserver keeps its port accepting
 * connections, so its watches just go silent until their idle timeout (90 s by default).
 *
 * A probe starts every `intervalMs` and has its own `timeoutMs` deadline. After
 * `failureThreshold` consecutive failures onUnhealthy fires; the first success after that fires
 * onHealthy. With timeoutMs ≤ intervalMs a server that stops answering is reported within
 * failureThreshold × intervalMs + timeoutMs (5 s, 5 s, 2: at most 15 s).
 *
 * `/readyz` rather than `/livez`: it also fails while the server cannot serve requests properly
 * (storage unreachable, shutting down), which is what the caches depend on. It is readable by
 * every authenticated (and by default every anonymous) identity through the default
 * `system:public-info-viewer` ClusterRole. A failure is a timeout, a connection failure or a 5xx
 * answer. Anything else counts as success: any other answer, including 401, 403 (a hardened
 * cluster that dropped that role's binding) and 429, shows a server that responds; credentials
 * that cannot be read and a server certificate the kubeconfig does not trust are problems on our
 * side. The reflectors report those as `refused`, and the probe must not mask them as unreachable.
 */
export class ApiProbe {
  readonly #opts: ApiProbeOptions;
  #failures = 0;
  #healthy = true;

  constructor(opts: ApiProbeOptions) {
    this.#opts = opts;
  }

  /** False between onUnhealthy and the next onHealthy. */
  get healthy(): boolean {
    return this.#healthy;
  }

  /** Probes until `signal` aborts; never rejects. A probe in flight is aborted with it. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, intervalMs } = this.#opts;
    while (!signal.aborted) {
      const started = clock.now();
      const failure = await this.#probe(signal);
      if (signal.aborted) break;
      this.#record(failure);
      await clock.sleep(started + intervalMs - clock.now(), signal);
    }
  }

  /** One probe: undefined when the server answered, else why not. */
  async #probe(signal: AbortSignal): Promise<KubeApiError | undefined> {
    try {
      await this.#opts.client.requestText({
        method: "GET",
        path: "/readyz",
        signal,
        timeoutMs: this.#opts.timeoutMs,
      });
      return undefined;
    } catch (err) {
      const apiErr =
        err instanceof KubeApiError ? err : new KubeApiError("unreachable", String(err));
      return answered(apiErr) ? undefined : apiErr;
    }
  }

  #record(failure: KubeApiError | undefined): void {
    if (failure === undefined) {
      this.#failures = 0;
      const answered = this.#opts.onAnswered;
      if (answered) this.#call(answered);
      if (!this.#healthy) {
        this.#healthy = true;
        this.#call(() => this.#opts.onHealthy());
      }
      return;
    }
    this.#failures++;
    if (this.#healthy && this.#failures >= Math.max(1, this.#opts.failureThreshold)) {
      this.#healthy = false;
      this.#call(() => this.#opts.onUnhealthy(failure));
    }
  }

  #call(f: () => void): void {
    try {
      f();
    } catch {
      // A throwing callback must not stop the probe.
    }
  }
}

/**
 * The failure says nothing against the server's health: it answered in time with something
 * other than a server failure, or the problem is on our side (credentials, a certificate the
 * kubeconfig does not trust), which the reflectors report as `refused`.
 */
function answered(err: KubeApiError): boolean {
  if (err.status > 0) return err.status < 500;
  return err.kind !== "timeout" && err.kind !== "unreachable" && err.kind !== "server-error";
}
