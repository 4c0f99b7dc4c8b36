// A test's own view of a set of EndpointSlices, kept from a list and then every watch event, so
// a test can check a property after each single event (what kube-proxy could have seen), count
// the events a change caused, and tell when a slice was first touched.
import type { V1EndpointSlice } from "@kubernetes/client-node";
import { KubeApiError, kindFromStatus } from "../../src/kube/kube-api-error.ts";
import type { KubeClient, WatchEvent } from "../../src/kube/kube-client.ts";

/** One event the watch applied, with when it arrived (ms since the epoch). */
export interface SliceWatchEntry {
  at: number;
  type: "ADDED" | "MODIFIED" | "DELETED";
  name: string;
  uid: string;
  resourceVersion: string;
}

export interface SliceWatchOptions {
  /** Called after each event is applied, with the slices as they are now. A throw is recorded. */
  onEvent?: (entry: SliceWatchEntry, slices: ReadonlyMap<string, V1EndpointSlice>) => void;
}

/**
 * EndpointSlices of one namespace matching `labelSelector`, kept up to date by a watch that
 * resumes from the last event it applied. If the server answers a resume with 410 Gone, the watch
 * lists again and counts it in {@link SliceWatch.relists}: events were then skipped, and a test
 * that checks every event should say so.
 */
export class SliceWatch {
  readonly slices = new Map<string, V1EndpointSlice>();
  /** Every event applied since the watch opened. */
  readonly entries: SliceWatchEntry[] = [];
  /** What `onEvent` threw, in order. */
  readonly failures: unknown[] = [];
  relists = 0;
  readonly #client: KubeClient;
  readonly #path: string;
  readonly #selector: string;
  readonly #options: SliceWatchOptions;
  readonly #stop = new AbortController();
  #resourceVersion = "";
  #running: Promise<void> = Promise.resolve();
  #error: unknown;

  private constructor(
    client: KubeClient,
    namespace: string,
    selector: string,
    options: SliceWatchOptions,
  ) {
    this.#client = client.fork();
    this.#path = `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
    this.#selector = selector;
    this.#options = options;
  }

  /** Lists the slices, then watches them in the background until {@link close}. */
  static async open(
    client: KubeClient,
    namespace: string,
    labelSelector: string,
    options: SliceWatchOptions = {},
  ): Promise<SliceWatch> {
    const watch = new SliceWatch(client, namespace, labelSelector, options);
    await watch.#list();
    watch.#running = watch.#watchLoop();
    return watch;
  }

  /** Events applied so far (a mark to count the events of one change). */
  get count(): number {
    return this.entries.length;
  }

  /** The watch's failure, if it stopped on one (it rethrows it). */
  assertRunning(): void {
    if (this.#error !== undefined) throw this.#error;
  }

  /** address → how many of the slices hold it, over every endpoint's first address. */
  addressCounts(): Map<string, number> {
    const counts = new Map<string, number>();
    for (const slice of this.slices.values()) {
      for (const e of slice.endpoints ?? []) {
        const a = e.addresses[0];
        if (a !== undefined) counts.set(a, (counts.get(a) ?? 0) + 1);
      }
    }
    return counts;
  }

  /** address → ready, as {@link readiness} in kube-fixtures, over the slices as they are now. */
  readiness(): Record<string, boolean> {
    const out: Record<string, boolean> = {};
    for (const slice of this.slices.values()) {
      for (const e of slice.endpoints ?? []) {
        for (const a of e.addresses) out[a] = e.conditions?.ready !== false;
      }
    }
    return out;
  }

  async close(): Promise<void> {
    this.#stop.abort();
    await this.#running;
    this.#client.close();
  }

  async #list(): Promise<void> {
    const list = await this.#client.request<{
      metadata?: { resourceVersion?: string };
      items: V1EndpointSlice[];
    }>({ method: "GET", path: this.#path, query: { labelSelector: this.#selector } });
    this.slices.clear();
    for (const s of list.items) this.slices.set(s.metadata?.name ?? "", s);
    this.#resourceVersion = list.metadata?.resourceVersion ?? "";
  }

  async #watchLoop(): Promise<void> {
    const signal = this.#stop.signal;
    while (!signal.aborted) {
      try {
        await this.#client.watch<V1EndpointSlice>(
          this.#path,
          {
            labelSelector: this.#selector,
            resourceVersion: this.#resourceVersion,
            allowWatchBookmarks: true,
            timeoutSeconds: 600,
          },
          signal,
          (event) => this.#apply(event),
        );
      } catch (err) {
        if (signal.aborted) return;
        if (err instanceof KubeApiError && err.kind === "gone") {
          this.relists++;
          await this.#list().catch(() => {});
          continue;
        }
        if (err instanceof KubeApiError) {
          await new Promise((r) => setTimeout(r, 200));
          continue;
        }
        this.#error = err;
        return;
      }
    }
  }

  #apply(event: WatchEvent<V1EndpointSlice>): void {
    const rv = event.object.metadata?.resourceVersion ?? "";
    if (event.type === "BOOKMARK") {
      this.#resourceVersion = rv;
      return;
    }
    if (event.type === "ERROR") {
      const status = event.object as unknown as {
        code?: number;
        reason?: string;
        message?: string;
      };
      const code = status.code ?? 0;
      throw new KubeApiError(kindFromStatus(code, status.reason), status.message ?? "watch error", {
        status: code,
        ...(status.reason === undefined ? {} : { reason: status.reason }),
      });
    }
    const name = event.object.metadata?.name ?? "";
    if (event.type === "DELETED") this.slices.delete(name);
    else this.slices.set(name, event.object);
    this.#resourceVersion = rv;
    const entry: SliceWatchEntry = {
      at: Date.now(),
      type: event.type,
      name,
      uid: event.object.metadata?.uid ?? "",
      resourceVersion: rv,
    };
    this.entries.push(entry);
    try {
      this.#options.onEvent?.(entry, this.slices);
    } catch (err) {
      this.failures.push(err);
    }
  }
}
