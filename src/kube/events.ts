import type { Clock } from "../runtime/clock.ts";
import type { KubeClient } from "./kube-client.ts";

/** The object an Event is about. */
export interface EventSubject {
  kind: string;
  apiVersion: string;
  namespace: string;
  name: string;
  uid: string;
}

/**
 * Records Kubernetes Events (core/v1) on objects of one cluster. The same (object, reason,
 * message) is recorded at most once per `repeatMs` (default 10 min), so a persistent problem
 * does not flood the API server. Recording is best effort: a failure is returned, never thrown.
 */
export class EventRecorder {
  readonly #client: KubeClient;
  readonly #clock: Clock;
  readonly #repeatMs: number;
  readonly #recent = new Map<string, number>();

  constructor(client: KubeClient, clock: Clock, repeatMs = 600_000) {
    this.#client = client;
    this.#clock = clock;
    this.#repeatMs = repeatMs;
  }

  async record(
    subject: EventSubject,
    type: "Normal" | "Warning",
    reason: string,
    message: string,
    signal: AbortSignal,
  ): Promise<Error | undefined> {
    const now = this.#clock.now();
    const dedupe = `${subject.uid}\u0000${reason}\u0000${message}`;
    const last = this.#recent.get(dedupe);
    if (last !== undefined && now - last < this.#repeatMs) return undefined;
    this.#recent.set(dedupe, now);
    if (this.#recent.size > 10_000) this.#recent.clear();
    const time = new Date(now).toISOString();
    try {
      await this.#client.request({
        method: "POST",
        path: `/api/v1/namespaces/${subject.namespace}/events`,
        body: {
          apiVersion: "v1",
          kind: "Event",
          metadata: { generateName: `${subject.name}.`, namespace: subject.namespace },
          involvedObject: subject,
          type,
          reason,
          message: message.slice(0, 1024),
          source: { component: "kubeburst" },
          reportingComponent: "kubeburst.io",
          reportingInstance: "kubeburst",
          firstTimestamp: time,
          lastTimestamp: time,
          count: 1,
        },
        signal,
      });
      return undefined;
    } catch (err) {
      return err as Error;
    }
  }
}
