import type { V1EndpointSlice, V1Endpoints, V1Service } from "@kubernetes/client-node";
import type { AggregationInfo } from "../aggregate/aggregator.ts";
import type { ClusterSpec } from "../config/cluster-spec.ts";
import type { EndpointMode } from "../config/load-config.ts";
import {
  apiServerRanges,
  nodeRanges,
  RangeIndex,
  serviceCidrRanges,
} from "../discovery/production-ranges.ts";
import { parseAddedAddressesRecord } from "../domain/added-addresses-record.ts";
import { type CompiledAddressPolicy, compileAddressPolicy } from "../domain/address-policy.ts";
import { BURST_ANNOTATIONS, type BurstDefaults } from "../domain/burst-policy.ts";
import {
  isWrittenBy,
  MANAGED_BY_KUBEBURST,
  MANAGED_BY_LABEL,
  NOT_OURS_SELECTOR,
  SERVICE_NAME_LABEL,
  SOURCE_CLUSTER_LABEL,
  serviceRole,
} from "../domain/labels.ts";
import { literalKeys } from "../domain/literal-endpoints.ts";
import { type ServiceKey, serviceKey } from "../domain/service-key.ts";
import { type Source, sameSource } from "../domain/source.ts";
import { ApiProbe } from "../kube/api-probe.ts";
import {
  type CachedHpa,
  type CachedNode,
  type CachedServiceCidr,
  trimEndpoints,
  trimHpa,
  trimNode,
  trimOurSlice,
  trimService,
  trimServiceCidr,
  trimSlice,
} from "../kube/cache-shapes.ts";
import type { KubeApiError } from "../kube/kube-api-error.ts";
import type { KubeClient } from "../kube/kube-client.ts";
import {
  type KubeObject,
  objectKey,
  Reflector,
  type ReflectorHandlers,
  type ReflectorState,
} from "../kube/reflector.ts";
import type { Logger } from "../observability/logger.ts";
import type { Channel } from "../runtime/channel.ts";
import type { Clock } from "../runtime/clock.ts";
import type { LoopYielder } from "../runtime/loop-yielder.ts";
import type { RateLimiter } from "../runtime/rate-limiter.ts";
import { WorkQueue } from "../runtime/work-queue.ts";
import { runWorkers } from "../runtime/worker-pool.ts";
import {
  type BurstInputs,
  burstAnnotationsOf,
  burstNeeds,
  hpaSignalOf,
  readyAddresses,
} from "./burst-inputs.ts";
import { type DenyList, peakPolicy } from "./peak-policy.ts";
import { peakReportOf, productionReportOf, type ServiceReport, sourceOf } from "./report.ts";

export interface ClusterControllerOptions {
  spec: ClusterSpec;
  /** Counts up for each controller of one cluster name (a replacement gets a higher one). */
  generation: number;
  client: KubeClient;
  clock: Clock;
  logger: Logger;
  /** Full resync period of the informers, ms (SPEC M2; default 600 000 in the config). */
  resyncMs: number;
  /** The installation this kubeburst is (its namespace): whose written objects it reads. */
  installation: string;
  mode: EndpointMode;
  /** Workers that turn keys into reports (SPEC M4). */
  workers: number;
  rateLimiter: () => RateLimiter<ServiceKey>;
  /** Where reports go (SPEC M5). */
  channel: Channel<AggregationInfo>;
  yielder: LoopYielder;
  /** Longest back-off of its informers between attempts to reach the API, ms (default 30 000). */
  maxBackoffMs?: number;
  /** The API health probe: a frozen API server turns the cluster unreachable in bounded time. */
  probe: { intervalMs: number; timeoutMs: number; failureThreshold: number };
  /** Peak only: production's deny list now; undefined while it is not known (admit nothing). */
  denied?: () => DenyList | undefined;
  /** Production only: the burst policy settings when a Service's annotations say nothing. */
  burstDefaults?: BurstDefaults;
  /** Production only: our slices, or literal Endpoints, of this Service changed. */
  onWritten?: (key: ServiceKey) => void;
  /** Production only: its own ranges changed. */
  onRangesChanged?: () => void;
  /** Every informer has listed once (SPEC M4). */
  onSynced: () => void;
  /** The cluster's overall state changed. */
  onState: (state: ReflectorState, cause?: KubeApiError) => void;
  /** Every informer completed a list since the last {@link ClusterController.requestRelist}. */
  onRelisted?: () => void;
  /** Told how long a worker took for one key, ms. */
  onReported?: (ms: number) => void;
}

interface CachedSource {
  resourceVersion: string | undefined;
  policyVersion: number;
  source: Source;
}

/**
 * The controller of one watched cluster (SPEC M2–M5), in the shape of Kubernetes'
 * sample-controller: informers whose handlers only enqueue the key of the production Service an
 * event may affect; after the first list, workers read the current state of each key from the
 * caches and send it as a report to the aggregator. A peak's slices pass the address policy one
 * by one, and a slice that did not change is not judged again. In production it also keeps what
 * the writer compares against (our slices, Endpoints in literal mode) and production's own ranges.
 */
export class ClusterController {
  readonly name: string;
  readonly role: ClusterSpec["role"];
  readonly client: KubeClient;
  readonly services: Reflector<V1Service>;
  /** Peak: the input slices (other managers'). */
  readonly slices: Reflector<V1EndpointSlice> | undefined;
  /** Production: slices of ours (this installation's); what the writer compares against. */
  readonly ourSlices: Reflector<V1EndpointSlice> | undefined;
  /** Production: Endpoints (every one in literal mode; only ones we added to otherwise). */
  readonly endpoints: Reflector<V1Endpoints> | undefined;
  /** Production: its own (not kubeburst's) slices, for the ready count of the burst policy. */
  readonly nativeSlices: Reflector<V1EndpointSlice> | undefined;
  /** Production: HorizontalPodAutoscalers, for the hpa-saturated burst policy. */
  readonly hpas: Reflector<CachedHpa> | undefined;
  readonly #ranges: Reflector<KubeObject>[] = [];
  readonly #opts: ClusterControllerOptions;
  readonly #queue: WorkQueue<ServiceKey>;
  /** Service key → keys of its slices (input slices in a peak, ours in production). */
  readonly #slicesByService = new Map<ServiceKey, Set<string>>();
  /** Production: Service key → keys of its native slices. */
  readonly #nativeByService = new Map<ServiceKey, Set<string>>();
  /** Production: HPA key → production Services whose hpa-saturated policy names it. */
  readonly #hpaUsers = new Map<string, Set<ServiceKey>>();
  /** Production: Service key → the HPA key it names. */
  readonly #hpaOf = new Map<ServiceKey, string>();
  readonly #sources = new Map<string, CachedSource>();
  readonly #rangeIndexes = {
    nodes: new RangeIndex(),
    services: new RangeIndex(),
    api: new RangeIndex(),
  };
  #denied: DenyList | undefined;
  #policy: { version: number; compiled: CompiledAddressPolicy } | undefined;
  #state: ReflectorState = "syncing";
  /** Clock ms of the last moment this cluster's caches were known in sync; see lastSyncAt. */
  #lastSyncAt: number | undefined;
  /** Per Service key, when the earliest event not yet reported arrived (clock ms). */
  readonly #pendingSince = new Map<ServiceKey, number>();
  #probeDown: KubeApiError | undefined;
  /** Keys of the first list not yet reported; "cluster-ready" follows the last (SPEC M4). */
  #initial: Set<ServiceKey> | undefined;
  /** Informers (by name) that still owe a complete list after a relist request. */
  #relisting = new Set<string>();
  /** Every informer, by the name its handlers report with. */
  readonly #informers = new Map<string, Reflector<KubeObject>>();
  #signal: AbortSignal = new AbortController().signal;

  constructor(opts: ClusterControllerOptions) {
    this.#opts = opts;
    this.name = opts.spec.name;
    this.role = opts.spec.role;
    this.client = opts.client;
    this.#queue = new WorkQueue({ clock: opts.clock, rateLimiter: opts.rateLimiter() });
    const production = opts.spec.role === "production";
    const log = opts.logger;
    const common = {
      client: opts.client,
      clock: opts.clock,
      resyncMs: opts.resyncMs,
      ...(opts.maxBackoffMs === undefined ? {} : { maxBackoffMs: opts.maxBackoffMs }),
    };
    const onState = (state: ReflectorState, cause?: KubeApiError) => {
      if (cause)
        log.warn({ state, kind: cause.kind, reason: cause.message }, "informer failed; retrying");
      this.#updateState();
    };
    // Every informer's common handlers; `informer` names it for relist tracking.
    const base = (informer: string): CommonHandlers => ({
      onState,
      onHandlerError: (err: unknown) => log.error({ err, informer }, "informer handler failed"),
      onListed: () => this.#listed(informer),
    });

    const enqueue = (obj: KubeObject) => this.#enqueue(objectKey(obj));
    const serviceChanged = (svc: V1Service, gone = false) => {
      if (production) this.#indexHpa(svc, gone);
      enqueue(svc);
    };
    this.services = new Reflector<V1Service>({
      ...common,
      path: "/api/v1/services",
      transform: trimService,
      handlers: {
        ...base("services"),
        onAdd: (svc) => serviceChanged(svc),
        onUpdate: (_old, svc) => serviceChanged(svc),
        onDelete: (svc) => serviceChanged(svc, true),
      },
    });
    this.slices = production
      ? undefined
      : new Reflector<V1EndpointSlice>({
          ...common,
          path: "/apis/discovery.k8s.io/v1/endpointslices",
          labelSelector: `${SERVICE_NAME_LABEL},${NOT_OURS_SELECTOR}`,
          transform: trimSlice,
          handlers: { ...this.#sliceHandlers((k) => this.#enqueue(k)), ...base("slices") },
        });
    this.ourSlices = production
      ? new Reflector<V1EndpointSlice>({
          ...common,
          // Our own writes come back here and only here: never input (SPEC M8).
          resyncMs: 0,
          path: "/apis/discovery.k8s.io/v1/endpointslices",
          labelSelector: `${MANAGED_BY_LABEL}=${MANAGED_BY_KUBEBURST}`,
          transform: trimOurSlice,
          handlers: { ...this.#sliceHandlers((k) => this.#written(k)), ...base("our-slices") },
        })
      : undefined;
    this.endpoints = production
      ? new Reflector<V1Endpoints>({
          ...common,
          resyncMs: 0,
          path: "/api/v1/endpoints",
          // Literal mode reads every Endpoints object; otherwise only those we added to, to take
          // our addresses back out after a switch of mode (SPEC M7).
          ...(opts.mode === "endpoints"
            ? {}
            : { labelSelector: literalKeys(opts.installation).markerLabel }),
          transform: trimEndpoints,
          handlers: {
            ...base("endpoints"),
            onAdd: (ep) => this.#written(objectKey(ep)),
            onUpdate: (_old, ep) => this.#written(objectKey(ep)),
            onDelete: (ep) => this.#written(objectKey(ep)),
          },
        })
      : undefined;
    this.nativeSlices = production
      ? new Reflector<V1EndpointSlice>({
          ...common,
          path: "/apis/discovery.k8s.io/v1/endpointslices",
          labelSelector: `${SERVICE_NAME_LABEL},${NOT_OURS_SELECTOR}`,
          transform: trimSlice,
          handlers: { ...this.#nativeHandlers(), ...base("native-slices") },
        })
      : undefined;
    const hpaChanged = (hpa: KubeObject) => {
      for (const key of this.#hpaUsers.get(objectKey(hpa)) ?? []) this.#enqueue(key);
    };
    this.hpas = production
      ? new Reflector<CachedHpa>({
          ...common,
          path: "/apis/autoscaling/v2/horizontalpodautoscalers",
          // A cluster without autoscaling/v2 has no HPA: hpa-saturated stays off there.
          optional: true,
          transform: trimHpa,
          handlers: {
            ...base("hpas"),
            onAdd: hpaChanged,
            onUpdate: (_old, hpa) => hpaChanged(hpa),
            onDelete: hpaChanged,
          },
        })
      : undefined;
    const informers = {
      services: this.services,
      slices: this.slices,
      "our-slices": this.ourSlices,
      endpoints: this.endpoints,
      "native-slices": this.nativeSlices,
      hpas: this.hpas,
    };
    for (const [name, r] of Object.entries(informers)) {
      if (r) this.#informers.set(name, r as Reflector<KubeObject>);
    }
    if (production) this.#watchRanges(common, base);
  }

  /** The state of the cluster: the worst state of its informers and of its API probe. */
  get state(): ReflectorState {
    return this.#state;
  }

  /**
   * The last moment (clock ms) this cluster was known in sync: a list completed, the cluster
   * turned synced, or its API server answered a probe while every informer was synced.
   * Undefined before the first sync.
   */
  get lastSyncAt(): number | undefined {
    return this.#lastSyncAt;
  }

  /** Each informer's path, state and failure (the watch health shown by the status API). */
  informers(): { path: string; state: ReflectorState; synced: boolean; reason?: string }[] {
    return this.#reflectors().map((r) => ({
      path: r.path,
      state: r.state,
      synced: r.hasSynced,
      ...(r.cause ? { reason: r.cause.message } : {}),
    }));
  }

  /** The failure behind the state, when it is a failing one. */
  get cause(): KubeApiError | undefined {
    return this.#probeDown ?? this.#reflectors().find((r) => r.state === this.#state)?.cause;
  }

  /** True once every informer has listed once. */
  get hasSynced(): boolean {
    return this.#reflectors().every((r) => r.hasSynced);
  }

  /** Informers that have not listed once yet, by path (for readiness reasons). */
  notSynced(): string[] {
    return this.#reflectors()
      .filter((r) => !r.hasSynced)
      .map((r) => r.path);
  }

  /** Resolves once every informer has listed (or when `signal` aborts). */
  async waitForSync(signal: AbortSignal): Promise<void> {
    await Promise.all(this.#reflectors().map((r) => r.waitForSync(signal)));
  }

  /**
   * Runs the informers, the API probe and the workers until `signal` aborts. After the first
   * list it reports every Service once, then "cluster-ready" behind them on the same channel.
   */
  async run(signal: AbortSignal): Promise<void> {
    const opts = this.#opts;
    this.#signal = signal;
    const reflectors = this.#reflectors();
    const runs = reflectors.map((r) => r.run(signal));
    const probe = new ApiProbe({
      client: this.client,
      clock: opts.clock,
      ...opts.probe,
      onUnhealthy: (cause) => {
        this.#probeDown = cause;
        opts.logger.warn(
          { reason: cause.message },
          "API server does not answer; marking it unreachable",
        );
        for (const r of reflectors) r.markUnreachable(cause);
        this.#updateState();
      },
      onAnswered: () => {
        if (this.#state === "synced") this.#lastSyncAt = opts.clock.now();
      },
      onHealthy: () => {
        this.#probeDown = undefined;
        opts.logger.info("API server answers again; listing everything again");
        // At once, not after the informers' back-off: they list again and resume watching.
        this.requestRelist();
        this.#updateState();
      },
    }).run(signal);
    const workers = runWorkers(this.#queue, opts.workers, (key, s) => this.#report(key, s), {
      signal,
      yielder: opts.yielder,
      onError: (key, err) => opts.logger.error({ service: key, err }, "report failed"),
      ...(opts.onReported ? { onHandled: opts.onReported } : {}),
    });
    await this.waitForSync(signal);
    if (!signal.aborted) {
      opts.logger.info("cluster synced");
      if (this.#ranges.some((r) => r.notServed)) {
        opts.logger.warn(
          "the production cluster serves no ServiceCIDRs (Kubernetes before 1.33): its Service range is not discovered; set serviceCIDRs in the config",
        );
      }
      if (this.role === "production") this.#rangesChanged();
      this.#initial = new Set(this.serviceKeys());
      opts.onSynced();
      if (this.#initial.size === 0) this.#ready();
      else this.deliverAll();
    }
    await new Promise<void>((resolve) => {
      if (signal.aborted) resolve();
      else signal.addEventListener("abort", () => resolve(), { once: true });
    });
    this.#queue.shutDown();
    await Promise.all([...runs, probe, workers]);
  }

  /** Keys waiting for a worker. */
  queueDepth(): number {
    return this.#queue.len();
  }

  /** Reports every Service the cluster knows again (a policy change, a restore). */
  deliverAll(): void {
    for (const key of this.serviceKeys()) this.#queue.add(key);
  }

  /**
   * Makes every informer list again, as after a long outage: `onRelisted` fires once all have
   * completed a list, so nothing is restored from a cache that a replayed watch is still filling.
   */
  requestRelist(): void {
    this.#relisting = new Set(this.#informers.keys());
    for (const r of this.#informers.values()) r.requestRelist();
  }

  /** Keys of every Service in the cache. */
  serviceKeys(): ServiceKey[] {
    return this.services.list().map((s) => objectKey(s));
  }

  /** Our slices for Service `key` (production cluster; this installation's only). */
  ourSlicesOf(key: ServiceKey): V1EndpointSlice[] {
    if (!this.ourSlices) return [];
    return [...(this.#slicesByService.get(key) ?? [])].flatMap((k) => this.ourSlices!.get(k) ?? []);
  }

  /**
   * Service keys that have slices of ours (to find leftovers of deleted Services); with
   * `cluster`, only those holding slices that mirror that peak.
   */
  servicesWithOurSlices(cluster?: string): ServiceKey[] {
    if (!this.ourSlices) return [];
    const keys = [...this.#slicesByService.keys()];
    if (cluster === undefined) return keys;
    return keys.filter((key) =>
      this.ourSlicesOf(key).some((s) => s.metadata?.labels?.[SOURCE_CLUSTER_LABEL] === cluster),
    );
  }

  /** Keys of the Endpoints objects we added addresses to (production). */
  endpointsKeys(): ServiceKey[] {
    const { recordKey, markerLabel } = literalKeys(this.#opts.installation);
    return (this.endpoints?.list() ?? [])
      .filter(
        (e) =>
          e.metadata?.labels?.[markerLabel] !== undefined ||
          e.metadata?.annotations?.[recordKey] !== undefined,
      )
      .map((e) => objectKey(e));
  }

  /**
   * Production: its own ranges as last read (nodes, ServiceCIDRs, the API server's endpoints),
   * or undefined until every one of those informers has listed once: unknown is not empty.
   */
  discoveredRanges(): readonly string[] | undefined {
    if (!this.#ranges.every((r) => r.hasSynced)) return undefined;
    const { nodes, services, api } = this.#rangeIndexes;
    return [...nodes.union(), ...services.union(), ...api.union()];
  }

  // --- peaks: reports through the address policy (SPEC B1, M5) ---

  async #report(key: ServiceKey, signal: AbortSignal): Promise<"ok"> {
    const observedAt = this.#pendingSince.get(key);
    const made = this.#reportOf(key);
    // A peak's report waits for production's ranges; the controller is told to deliver again then.
    if (made === undefined) return "ok";
    this.#pendingSince.delete(key);
    const report = observedAt === undefined ? made : { ...made, observedAt };
    await this.#opts.channel.send(report, signal);
    if (this.#initial?.delete(key) && this.#initial.size === 0) this.#ready();
    return "ok";
  }

  #reportOf(key: ServiceKey): ServiceReport | undefined {
    const base = { cluster: this.name, service: key, generation: this.#opts.generation };
    const svc = this.services.get(key);
    if (this.role === "production") {
      return productionReportOf(base, svc, (s) => this.#burstInputs(key, s));
    }
    const role = svc ? serviceRole(svc.metadata?.labels) : undefined;
    const max = this.#opts.spec.maxEndpointsPerService;
    if (role?.kind !== "peak") return peakReportOf(base, svc, [], max);
    const policy = this.#currentPolicy();
    if (policy === undefined) return undefined;
    return peakReportOf(base, svc, this.#sourcesOf(key, policy), max);
  }

  /** What the Service's burst policy reads from production, and only that (SPEC B5). */
  #burstInputs(key: ServiceKey, svc: V1Service): BurstInputs {
    const annotations = burstAnnotationsOf(svc);
    const defaults = this.#opts.burstDefaults;
    if (!defaults) return { annotations };
    const needs = burstNeeds(annotations, defaults);
    const inputs: BurstInputs = { annotations };
    if (needs.readyCount) {
      const slices = [...(this.#nativeByService.get(key) ?? [])].flatMap(
        (k) => this.nativeSlices?.get(k) ?? [],
      );
      const record =
        this.endpoints?.get(key)?.metadata?.annotations?.[
          literalKeys(this.#opts.installation).recordKey
        ];
      const added = record === undefined ? undefined : parseAddedAddressesRecord(record);
      inputs.productionReady = readyAddresses(slices, new Set(added?.addresses ?? []));
    }
    if (needs.hpa !== undefined) {
      const ns = svc.metadata?.namespace ?? "";
      inputs.hpa = hpaSignalOf(this.hpas?.get(serviceKey(ns, needs.hpa)));
    }
    return inputs;
  }

  /** Keeps the index from HPAs to the Services that name them, so an HPA event finds them. */
  #indexHpa(svc: V1Service, gone: boolean): void {
    const key = objectKey(svc);
    const name = gone ? undefined : svc.metadata?.annotations?.[BURST_ANNOTATIONS.hpa];
    const hpa = name === undefined ? undefined : serviceKey(svc.metadata?.namespace ?? "", name);
    const before = this.#hpaOf.get(key);
    if (before === hpa) return;
    if (before !== undefined) {
      const users = this.#hpaUsers.get(before);
      users?.delete(key);
      if (users?.size === 0) this.#hpaUsers.delete(before);
    }
    if (hpa === undefined) {
      this.#hpaOf.delete(key);
      return;
    }
    this.#hpaOf.set(key, hpa);
    let users = this.#hpaUsers.get(hpa);
    if (!users) {
      users = new Set();
      this.#hpaUsers.set(hpa, users);
    }
    users.add(key);
  }

  /** The peak's compiled policy, recompiled only when production's deny list changed. */
  #currentPolicy(): { version: number; compiled: CompiledAddressPolicy } | undefined {
    const denied = this.#opts.denied?.();
    if (denied === undefined) return undefined;
    if (this.#policy?.version !== denied.version) {
      this.#policy = {
        version: denied.version,
        compiled: compileAddressPolicy(peakPolicy(this.#opts.spec, denied.ranges)),
      };
    }
    return this.#policy;
  }

  /** Each slice of Service `key` through the policy; unchanged slices keep their Source object. */
  #sourcesOf(
    key: ServiceKey,
    policy: { version: number; compiled: CompiledAddressPolicy },
  ): Source[] {
    const sources: Source[] = [];
    for (const sliceKey of [...(this.#slicesByService.get(key) ?? [])].sort()) {
      const slice = this.slices?.get(sliceKey);
      if (!slice) continue;
      const rv = slice.metadata?.resourceVersion;
      const cached = this.#sources.get(sliceKey);
      if (cached?.resourceVersion === rv && cached?.policyVersion === policy.version) {
        sources.push(cached.source);
        continue;
      }
      const fresh = sourceOf(slice, policy.compiled);
      const source = cached && sameSource(cached.source, fresh) ? cached.source : fresh;
      this.#sources.set(sliceKey, { resourceVersion: rv, policyVersion: policy.version, source });
      sources.push(source);
    }
    return sources;
  }

  #ready(): void {
    this.#initial = undefined;
    const { channel, generation } = this.#opts;
    // Behind every report already on the channel: the aggregator sees it after them.
    channel
      .send({ kind: "cluster-ready", cluster: this.name, generation }, this.#signal)
      .catch(() => {});
  }

  // --- informers ---

  #sliceHandlers(enqueue: (key: ServiceKey) => void): ReflectorHandlers<V1EndpointSlice> {
    const ours = this.role === "production";
    return sliceIndexHandlers(
      this.#slicesByService,
      // Another installation's slices are not ours to compare against or to delete.
      (slice) => !ours || isWrittenBy(slice.metadata?.labels, this.#opts.installation),
      (svc, sliceKey, gone) => {
        if (gone) this.#sources.delete(sliceKey);
        enqueue(svc);
      },
    );
  }

  /** Production's own slices: indexed by Service; a change asks for the Service's report. */
  #nativeHandlers(): ReflectorHandlers<V1EndpointSlice> {
    return sliceIndexHandlers(
      this.#nativeByService,
      () => true,
      (svc) => this.#enqueue(svc),
    );
  }

  #watchRanges(
    common: { client: KubeClient; clock: Clock; resyncMs: number },
    base: (informer: string) => CommonHandlers,
  ): void {
    const indexed = <T extends KubeObject>(
      informer: string,
      index: RangeIndex,
      ranges: (obj: T) => string[],
    ): ReflectorHandlers<T> => {
      const set = (obj: T) => {
        if (index.set(objectKey(obj), ranges(obj))) this.#rangesChanged();
      };
      return {
        ...base(informer),
        onAdd: set,
        onUpdate: (_old, obj) => set(obj),
        onDelete: (obj) => {
          if (index.delete(objectKey(obj))) this.#rangesChanged();
        },
      };
    };
    // Production's own addresses, kept current; a failed list keeps the last known (SPEC B15).
    const nodes = new Reflector<CachedNode>({
      ...common,
      resyncMs: 0,
      path: "/api/v1/nodes",
      transform: trimNode,
      handlers: indexed("nodes", this.#rangeIndexes.nodes, nodeRanges),
    });
    const serviceCidrs = new Reflector<CachedServiceCidr>({
      ...common,
      resyncMs: 0,
      path: "/apis/networking.k8s.io/v1/servicecidrs",
      // Clusters before Kubernetes 1.33 may not serve ServiceCIDRs: the configured ranges stand.
      optional: true,
      transform: trimServiceCidr,
      handlers: indexed("servicecidrs", this.#rangeIndexes.services, serviceCidrRanges),
    });
    const apiServer = new Reflector<V1EndpointSlice>({
      ...common,
      resyncMs: 0,
      path: "/apis/discovery.k8s.io/v1/namespaces/default/endpointslices",
      labelSelector: `${SERVICE_NAME_LABEL}=kubernetes`,
      transform: trimSlice,
      handlers: indexed("api-server", this.#rangeIndexes.api, apiServerRanges),
    });
    const ranges = { nodes, servicecidrs: serviceCidrs, "api-server": apiServer };
    for (const [name, r] of Object.entries(ranges)) {
      this.#ranges.push(r as Reflector<KubeObject>);
      this.#informers.set(name, r as Reflector<KubeObject>);
    }
  }

  #rangesChanged(): void {
    if (this.hasSynced) this.#opts.onRangesChanged?.();
  }

  #enqueue(key: ServiceKey): void {
    // Before sync the initial pass covers every Service; events then would only be duplicates.
    if (!this.hasSynced) return;
    // The earliest event since the last report starts the clock; a resync's report equals the
    // last one, and the aggregator drops it with its clock.
    if (!this.#pendingSince.has(key)) this.#pendingSince.set(key, this.#opts.clock.now());
    this.#queue.add(key);
  }

  #written(key: ServiceKey): void {
    if (this.hasSynced) this.#opts.onWritten?.(key);
  }

  #listed(informer: string): void {
    if (this.#state === "synced") this.#lastSyncAt = this.#opts.clock.now();
    if (this.#relisting.delete(informer) && this.#relisting.size === 0) this.#opts.onRelisted?.();
  }

  #reflectors(): Reflector<KubeObject>[] {
    return [...this.#informers.values()];
  }

  #updateState(): void {
    const order: ReflectorState[] = ["refused", "unreachable", "syncing", "stopped", "synced"];
    const states = this.#reflectors().map((r) => r.state);
    if (this.#probeDown) states.push("unreachable");
    const worst = order.find((s) => states.includes(s)) ?? "synced";
    if (worst === this.#state) return;
    this.#state = worst;
    if (worst === "synced") this.#lastSyncAt = this.#opts.clock.now();
    this.#opts.onState(worst, this.cause);
  }
}

type CommonHandlers = Pick<
  ReflectorHandlers<KubeObject>,
  "onState" | "onHandlerError" | "onListed"
>;

/** The Service a slice belongs to, from its `kubernetes.io/service-name` label. */
function sliceService(slice: KubeObject): ServiceKey | undefined {
  const name = slice.metadata?.labels?.[SERVICE_NAME_LABEL];
  const ns = slice.metadata?.namespace;
  return name && ns ? serviceKey(ns, name) : undefined;
}

/**
 * Handlers that keep `index` (slice keys by the Service they belong to) for the slices `accept`
 * takes, and call `changed` for each slice added, updated or removed (`gone`).
 */
function sliceIndexHandlers(
  index: Map<ServiceKey, Set<string>>,
  accept: (slice: V1EndpointSlice) => boolean,
  changed: (svc: ServiceKey, sliceKey: string, gone: boolean) => void,
): ReflectorHandlers<V1EndpointSlice> {
  const add = (slice: V1EndpointSlice) => {
    const svc = sliceService(slice);
    if (!svc || !accept(slice)) return;
    let set = index.get(svc);
    if (!set) {
      set = new Set();
      index.set(svc, set);
    }
    const key = objectKey(slice);
    set.add(key);
    changed(svc, key, false);
  };
  const remove = (slice: V1EndpointSlice) => {
    const svc = sliceService(slice);
    if (!svc) return;
    const key = objectKey(slice);
    const set = index.get(svc);
    if (!set?.delete(key)) return;
    if (set.size === 0) index.delete(svc);
    changed(svc, key, true);
  };
  return {
    onAdd: add,
    onUpdate: (old, slice) => {
      if (sliceService(old) !== sliceService(slice)) remove(old);
      add(slice);
    },
    onDelete: remove,
  };
}
