import type { V1EndpointSlice, V1Endpoints, V1Service } from "@kubernetes/client-node";
import {
  MANAGED_BY_KUBEBURST,
  MANAGED_BY_LABEL,
  NOT_OURS_SELECTOR,
  SERVICE_NAME_LABEL,
} from "../domain/labels.ts";
import { type ServiceKey, serviceKey } from "../domain/service-key.ts";
import type { KubeApiError } from "../kube/kube-api-error.ts";
import type { KubeClient } from "../kube/kube-client.ts";
import { type KubeObject, objectKey, Reflector, type ReflectorState } from "../kube/reflector.ts";
import type { Logger } from "../observability/logger.ts";
import type { Clock } from "../runtime/clock.ts";

export type ClusterRole = "production" | "peak";

export interface ClusterControllerOptions {
  name: string;
  role: ClusterRole;
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  /** Full resync period of the informers, ms (SPEC M2; default 600 000 in the config). */
  resyncMs: number;
  /** Literal mode: the production cluster also watches Endpoints. */
  watchEndpoints: boolean;
  /** Called with the production Service a change may affect (SPEC M3: handlers only enqueue). */
  enqueue: (cluster: string, key: ServiceKey) => void;
  /** Called with the Service whose written objects (our slices, literal Endpoints) changed. */
  enqueueWrite: (key: ServiceKey) => void;
  /** Called once, when every informer of this cluster has listed (SPEC M4). */
  onSynced: (cluster: string) => void;
  /** Called when the cluster's overall state changes. */
  onState: (cluster: string, state: ReflectorState) => void;
}

/**
 * The controller of one watched cluster (SPEC M2, M3): informers for Services and for the
 * EndpointSlices that are not ours (plus, in the production cluster, our own slices for the
 * writer, and Endpoints in literal mode). Handlers map each event to the production Service key
 * it affects and only enqueue it. The caches are read by the workers and the writer.
 */
export class ClusterController {
  readonly name: string;
  readonly role: ClusterRole;
  readonly client: KubeClient;
  readonly services: Reflector<V1Service>;
  /** Slices of other managers (kube-controller-manager's, mirroring's, users'): the input. */
  readonly slices: Reflector<V1EndpointSlice>;
  /** Our own slices (production cluster only): what the writer compares against. */
  readonly ourSlices: Reflector<V1EndpointSlice> | undefined;
  /** Endpoints objects (production cluster, literal mode only). */
  readonly endpoints: Reflector<V1Endpoints> | undefined;
  readonly #opts: ClusterControllerOptions;
  /** Service key → keys of its input slices (index by the service-name label). */
  readonly #slicesByService = new Map<ServiceKey, Set<string>>();
  readonly #oursByService = new Map<ServiceKey, Set<string>>();
  #state: ReflectorState = "syncing";

  constructor(opts: ClusterControllerOptions) {
    this.#opts = opts;
    this.name = opts.name;
    this.role = opts.role;
    this.client = opts.client;
    const common = { client: opts.client, clock: opts.clock, resyncMs: opts.resyncMs };
    const log = opts.logger;
    const onHandlerError = (err: unknown) => log.error({ err }, "informer handler failed");
    const onState = (state: ReflectorState, cause?: KubeApiError) => {
      if (cause)
        log.warn({ state, kind: cause.kind, err: cause.message }, "informer failed; retrying");
      this.#updateState();
    };

    this.services = new Reflector<V1Service>({
      ...common,
      path: "/api/v1/services",
      handlers: {
        onAdd: (svc) => this.#enqueue(objectKey(svc)),
        onUpdate: (_old, svc) => this.#enqueue(objectKey(svc)),
        onDelete: (svc) => this.#enqueue(objectKey(svc)),
        onState,
        onHandlerError,
      },
    });
    this.slices = new Reflector<V1EndpointSlice>({
      ...common,
      path: "/apis/discovery.k8s.io/v1/endpointslices",
      labelSelector: `${SERVICE_NAME_LABEL},${NOT_OURS_SELECTOR}`,
      handlers: this.#sliceHandlers(
        this.#slicesByService,
        (k) => this.#enqueue(k),
        onState,
        onHandlerError,
      ),
    });
    this.ourSlices =
      opts.role === "production"
        ? new Reflector<V1EndpointSlice>({
            ...common,
            // Our own writes come back here and only here: never input (SPEC M8).
            resyncMs: 0,
            path: "/apis/discovery.k8s.io/v1/endpointslices",
            labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_KUBEBURST}`,
            handlers: this.#sliceHandlers(
              this.#oursByService,
              (k) => this.#enqueueWrite(k),
              onState,
              onHandlerError,
            ),
          })
        : undefined;
    this.endpoints =
      opts.role === "production" && opts.watchEndpoints
        ? new Reflector<V1Endpoints>({
            ...common,
            path: "/api/v1/endpoints",
            // What we compare against, not input: a change only asks the writer to look again.
            handlers: {
              onAdd: (ep) => this.#enqueueWrite(objectKey(ep)),
              onUpdate: (_old, ep) => this.#enqueueWrite(objectKey(ep)),
              onDelete: (ep) => this.#enqueueWrite(objectKey(ep)),
              onState,
              onHandlerError,
            },
          })
        : undefined;
  }

  /** The state of the cluster: the worst state of its informers. */
  get state(): ReflectorState {
    return this.#state;
  }

  /** True once every informer has listed once. */
  get hasSynced(): boolean {
    return this.#reflectors().every((r) => r.hasSynced);
  }

  /** Resolves once every informer has listed (or when `signal` aborts). */
  async waitForSync(signal: AbortSignal): Promise<void> {
    await Promise.all(this.#reflectors().map((r) => r.waitForSync(signal)));
  }

  /** Runs the informers until `signal` aborts; reports sync once all have listed. */
  async run(signal: AbortSignal): Promise<void> {
    const reflectors = this.#reflectors();
    const runs = reflectors.map((r) => r.run(signal));
    await this.waitForSync(signal);
    if (!signal.aborted) {
      this.#opts.logger.info({ cluster: this.name }, "cluster synced");
      this.#opts.onSynced(this.name);
    }
    await Promise.all(runs);
  }

  /** Keys of every Service in the cache (the first list is delivered in full after sync). */
  serviceKeys(): ServiceKey[] {
    return this.services.list().map((s) => objectKey(s));
  }

  /** The input slices of Service `key` (not ours). */
  slicesOf(key: ServiceKey): V1EndpointSlice[] {
    return this.#lookup(this.slices, this.#slicesByService, key);
  }

  /** Our slices for Service `key` (production cluster). */
  ourSlicesOf(key: ServiceKey): V1EndpointSlice[] {
    return this.ourSlices ? this.#lookup(this.ourSlices, this.#oursByService, key) : [];
  }

  /** Service keys that have slices of ours (to find leftovers of deleted Services). */
  servicesWithOurSlices(): ServiceKey[] {
    return [...this.#oursByService.keys()];
  }

  #lookup(
    reflector: Reflector<V1EndpointSlice>,
    index: Map<ServiceKey, Set<string>>,
    key: ServiceKey,
  ): V1EndpointSlice[] {
    return [...(index.get(key) ?? [])].flatMap((k) => reflector.get(k) ?? []);
  }

  #sliceHandlers(
    index: Map<ServiceKey, Set<string>>,
    enqueue: (key: ServiceKey) => void,
    onState: (state: ReflectorState, cause?: KubeApiError) => void,
    onHandlerError: (err: unknown) => void,
  ) {
    const add = (slice: KubeObject) => {
      const svc = sliceService(slice);
      if (!svc) return;
      let set = index.get(svc);
      if (!set) {
        set = new Set();
        index.set(svc, set);
      }
      set.add(objectKey(slice));
      enqueue(svc);
    };
    const remove = (slice: KubeObject) => {
      const svc = sliceService(slice);
      if (!svc) return;
      const set = index.get(svc);
      set?.delete(objectKey(slice));
      if (set?.size === 0) index.delete(svc);
      enqueue(svc);
    };
    return {
      onAdd: add,
      onUpdate: (old: KubeObject, slice: KubeObject) => {
        if (sliceService(old) !== sliceService(slice)) remove(old);
        add(slice);
      },
      onDelete: remove,
      onState,
      onHandlerError,
    };
  }

  #enqueue(key: ServiceKey): void {
    // Before sync the initial pass covers every Service; events then would only be duplicates.
    if (this.hasSynced) this.#opts.enqueue(this.name, key);
  }

  #enqueueWrite(key: ServiceKey): void {
    if (this.hasSynced) this.#opts.enqueueWrite(key);
  }

  #reflectors(): Reflector<KubeObject>[] {
    return [this.services, this.slices, this.ourSlices, this.endpoints].filter(
      (r): r is Reflector<KubeObject> => r !== undefined,
    ) as Reflector<KubeObject>[];
  }

  #updateState(): void {
    const order: ReflectorState[] = ["refused", "unreachable", "syncing", "stopped", "synced"];
    const states = this.#reflectors().map((r) => r.state);
    const worst = order.find((s) => states.includes(s)) ?? "synced";
    if (worst === this.#state) return;
    this.#state = worst;
    this.#opts.onState(this.name, worst);
  }
}

/** The Service a slice belongs to, from its `kubernetes.io/service-name` label. */
function sliceService(slice: KubeObject): ServiceKey | undefined {
  const name = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  const ns = slice.metadata?.namespace;
  return name && ns ? serviceKey(ns, name) : undefined;
}
