// What a watch on a cluster's EndpointSlices shows, per Service, and when it changed: how the
// benchmark sees every slice change (peak or production) from the outside.
import { performance } from "node:perf_hooks";
import type { KubeClient } from "../src/kube/kube-client.ts";
import { Reflector } from "../src/kube/reflector.ts";
import { systemClock } from "../src/runtime/clock.ts";

export interface ViewEndpoint {
  addresses: string[];
  conditions?: { ready?: boolean; serving?: boolean; terminating?: boolean };
}

export interface ViewSlice {
  metadata?: {
    name?: string;
    namespace?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  endpoints?: ViewEndpoint[] | null;
}

const SERVICE_NAME = "kubernetes.io/service-name";

/** `namespace/service` of a slice, from its label `serviceLabel`; undefined without one. */
export function serviceKeyOfSlice(
  slice: ViewSlice,
  serviceLabel = SERVICE_NAME,
): string | undefined {
  const service = slice.metadata?.labels?.[serviceLabel];
  const namespace = slice.metadata?.namespace;
  return service && namespace ? `${namespace}/${service}` : undefined;
}

/**
 * A list-and-watch of EndpointSlices matching `labelSelector` (in `namespace`, or all), grouped
 * by Service (named by the label `serviceLabel`, by default `kubernetes.io/service-name`).
 * Subscribers are called for every added, changed or deleted slice, with performance.now() when
 * the event arrived.
 */
export class SliceView {
  readonly #reflector: Reflector<ViewSlice>;
  readonly #byService = new Map<string, Map<string, ViewSlice>>();
  readonly #listeners = new Set<(key: string, at: number) => void>();
  readonly #stop = new AbortController();
  readonly #serviceLabel: string;
  #running: Promise<void> | undefined;

  constructor(
    client: KubeClient,
    labelSelector: string,
    namespace?: string,
    serviceLabel = SERVICE_NAME,
  ) {
    this.#serviceLabel = serviceLabel;
    const path =
      namespace === undefined
        ? "/apis/discovery.k8s.io/v1/endpointslices"
        : `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
    const put = (slice: ViewSlice) => this.#put(slice, false);
    this.#reflector = new Reflector<ViewSlice>({
      client,
      path,
      labelSelector,
      resyncMs: 0,
      clock: systemClock,
      watchTimeoutSeconds: 1800,
      handlers: {
        onAdd: put,
        onUpdate: (_old, slice) => put(slice),
        onDelete: (slice) => this.#put(slice, true),
      },
    });
  }

  /** Lists, then watches until {@link close}; resolves once the first list is in. */
  async start(): Promise<void> {
    this.#running = this.#reflector.run(this.#stop.signal);
    await this.#reflector.waitForSync(this.#stop.signal);
  }

  /** Calls `listener` on every change from now on; returns a function that stops it. */
  subscribe(listener: (key: string, at: number) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Slices of Service `key` now. */
  slicesOf(key: string): ViewSlice[] {
    return [...(this.#byService.get(key)?.values() ?? [])];
  }

  /** Endpoints over every slice of Service `key`. */
  endpointCount(key: string): number {
    let n = 0;
    for (const s of this.#byService.get(key)?.values() ?? []) n += s.endpoints?.length ?? 0;
    return n;
  }

  /**
   * Whether `address` is a ready endpoint of Service `key`: true or false as its slice says
   * (a missing `ready` means ready, as for kube-proxy), undefined when no slice holds it.
   */
  readyOf(key: string, address: string): boolean | undefined {
    let found: boolean | undefined;
    for (const s of this.#byService.get(key)?.values() ?? []) {
      for (const e of s.endpoints ?? []) {
        if (e.addresses.includes(address))
          found = (found ?? false) || e.conditions?.ready !== false;
      }
    }
    return found;
  }

  /** How many slices the view holds. */
  get sliceCount(): number {
    let n = 0;
    for (const slices of this.#byService.values()) n += slices.size;
    return n;
  }

  /** Stops the watch. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#running;
  }

  #put(slice: ViewSlice, deleted: boolean): void {
    const at = performance.now();
    const key = serviceKeyOfSlice(slice, this.#serviceLabel);
    const name = slice.metadata?.name;
    if (key === undefined || name === undefined) return;
    let slices = this.#byService.get(key);
    if (deleted) {
      slices?.delete(name);
      if (slices?.size === 0) this.#byService.delete(key);
    } else {
      if (!slices) {
        slices = new Map();
        this.#byService.set(key, slices);
      }
      slices.set(name, slice);
    }
    for (const listener of this.#listeners) listener(key, at);
  }
}
