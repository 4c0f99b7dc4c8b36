import type { ProductionService } from "../domain/production-service.ts";
import type { EventRecorder } from "../kube/events.ts";
import type { Logger } from "../observability/logger.ts";
import type { Fence } from "./fence.ts";

export interface ServiceEventsOptions {
  /** Production's Event recorder (undefined while production is not running). */
  recorder: () => EventRecorder | undefined;
  fence: Fence;
  logger: Logger;
}

/**
 * Events on production Services (SPEC B1, B3, B8: how a refused address, a left-out port or a
 * failing peak reaches a Service's owner). Events are writes: only a process that may write
 * records them. Repeats are the recorder's to suppress.
 */
export class ServiceEvents {
  readonly #opts: ServiceEventsOptions;

  constructor(opts: ServiceEventsOptions) {
    this.#opts = opts;
  }

  /** Records one Event on each of `services`. Best effort: failures are logged at debug. */
  async record(
    services: readonly ProductionService[],
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    signal: AbortSignal,
  ): Promise<void> {
    const recorder = this.#opts.recorder();
    if (!recorder) return;
    for (const service of services) {
      if (!this.#opts.fence.canWrite()) return;
      const subject = {
        kind: "Service",
        apiVersion: "v1",
        namespace: service.namespace,
        name: service.name,
        uid: service.uid,
      };
      const err = await recorder.record(subject, type, reason, message, signal);
      if (err) this.#opts.logger.debug({ reason, err: err.message }, "event not recorded");
    }
  }
}
