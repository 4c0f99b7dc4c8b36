import type { Clock } from "../runtime/clock.ts";
import { KubeApiError } from "./kube-api-error.ts";
import type { KubeClient, WatchEvent } from "./kube-client.ts";

/** The metadata a reflector needs from every object. */
export interface KubeObject {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
}

/**
 * Where a reflector is: `syncing` until its first list succeeded, then `synced`;
 * `unreachable` while the API server cannot be reached, `refused` while it rejects the
 * credentials (401/403); `stopped` after its signal aborted.
 */
export type ReflectorState = "syncing" | "synced" | "unreachable" | "refused" | "stopped";

export interface ReflectorHandlers<T> {
  onAdd?(obj: T): void;
  onUpdate?(old: T, obj: T): void;
  onDelete?(obj: T): void;
  /** After the first successful list, once. Handlers fired before it describe the initial state. */
  onSynced?(): void;
  /** Every state change, with the failure that caused it. */
  onState?(state: ReflectorState, cause?: KubeApiError): void;
  /** A handler threw: the reflector keeps going. */
  onHandlerError?(err: unknown): void;
}

export interface ReflectorOptions<T> {
  client: KubeClient;
  /** Collection path, e.g. `/api/v1/services` (all namespaces) or `/api/v1/namespaces/x/secrets`. */
  path: string;
  labelSelector?: string;
  fieldSelector?: string;
  /** Every `resyncMs` each cached object is passed to onUpdate(obj, obj). 0 disables. */
  resyncMs: number;
  clock: Clock;
  handlers: ReflectorHandlers<T>;
  /** Back-off after a failed list or watch, ms: doubles from `minBackoffMs` (default 500) to `maxBackoffMs` (default 30 000). */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /** Server-side timeout of each watch, seconds; jittered ±50 %. Default 300. */
  watchTimeoutSeconds?: number;
}

interface ObjectList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns ? `${ns}/${name}` : name;
}

/**
 * Keeps a local cache of one collection in step with the API server: list, then watch from the
 * list's resourceVersion; relist after 410 Gone; retry with bounded back-off after any other
 * failure, forever, until the signal aborts. Our replacement for client-node's ListWatch, which
 * stops for good after a non-410 error and has no synced signal (see docs/adr/0001).
 */
export class Reflector<T extends KubeObject> {
  readonly #opts: ReflectorOptions<T>;
  readonly #store = new Map<string, T>();
  #state: ReflectorState = "syncing";
  #synced = false;
  /** The last resourceVersion listed or watched; `undefined`: list (again). */
  #resourceVersion: string | undefined;
  #syncWaiters: (() => void)[] = [];

  constructor(opts: ReflectorOptions<T>) {
    this.#opts = opts;
  }

  get state(): ReflectorState {
    return this.#state;
  }

  /** True once the first list has completed (stays true through later failures). */
  get hasSynced(): boolean {
    return this.#synced;
  }

  /** The cached object with key `namespace/name`, if any. Never mutate it. */
  get(key: string): T | undefined {
    return this.#store.get(key);
  }

  /** All cached objects. Never mutate them. */
  list(): T[] {
    return [...this.#store.values()];
  }

  /** Resolves once synced, or when `signal` aborts (check hasSynced). */
  waitForSync(signal: AbortSignal): Promise<void> {
    if (this.#synced || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        resolve();
      };
      this.#syncWaiters.push(done);
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Lists and watches until `signal` aborts; never rejects. */
  async run(signal: AbortSignal): Promise<void> {
    const resync = this.#opts.resyncMs > 0 ? this.#resyncLoop(signal) : Promise.resolve();
    let backoff = this.#opts.minBackoffMs ?? 500;
    const maxBackoff = this.#opts.maxBackoffMs ?? 30_000;
    while (!signal.aborted) {
      try {
        if (this.#resourceVersion === undefined) this.#resourceVersion = await this.#list(signal);
        backoff = this.#opts.minBackoffMs ?? 500;
        await this.#watch(signal);
      } catch (err) {
        if (signal.aborted) break;
        const apiErr =
          err instanceof KubeApiError ? err : new KubeApiError("server-error", String(err));
        if (apiErr.kind === "gone") {
          this.#resourceVersion = undefined; // too old: list again, at once
          continue;
        }
        this.#setState(
          apiErr.kind === "unauthorized" || apiErr.kind === "forbidden" ? "refused" : "unreachable",
          apiErr,
        );
        await this.#opts.clock.sleep(backoff, signal);
        backoff = Math.min(backoff * 2, maxBackoff);
      }
    }
    await resync;
    this.#setState("stopped");
    for (const w of this.#syncWaiters.splice(0)) w();
  }

  /** Lists in pages of 500, replaces the cache, fires add/update/delete for the differences. */
  async #list(signal: AbortSignal): Promise<string> {
    const items: T[] = [];
    let cont: string | undefined;
    let rv = "";
    do {
      const page = await this.#opts.client.request<ObjectList<T>>({
        method: "GET",
        path: this.#opts.path,
        query: { ...this.#selectors(), limit: 500, continue: cont },
        signal,
      });
      items.push(...page.items);
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? "";
    } while (cont);

    const fresh = new Map(items.map((o) => [objectKey(o), o]));
    const old = new Map(this.#store);
    this.#store.clear();
    for (const [k, v] of fresh) this.#store.set(k, v);
    for (const [k, obj] of fresh) {
      const prev = old.get(k);
      if (!prev) this.#call(() => this.#opts.handlers.onAdd?.(obj));
      else if (prev.metadata?.resourceVersion !== obj.metadata?.resourceVersion) {
        this.#call(() => this.#opts.handlers.onUpdate?.(prev, obj));
      }
    }
    for (const [k, prev] of old) {
      if (!fresh.has(k)) this.#call(() => this.#opts.handlers.onDelete?.(prev));
    }
    if (!this.#synced) {
      this.#synced = true;
      this.#call(() => this.#opts.handlers.onSynced?.());
      for (const w of this.#syncWaiters.splice(0)) w();
    }
    this.#setState("synced");
    return rv;
  }

  /**
   * Watches from the last resourceVersion seen. Every event advances it at once, so a watch that
   * breaks resumes after the last event it delivered: replaying older events would walk the
   * cache back through states that are long gone.
   */
  async #watch(signal: AbortSignal): Promise<void> {
    const base = this.#opts.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.round(base * (0.5 + Math.random()));
    await this.#opts.client.watch<T>(
      this.#opts.path,
      {
        ...this.#selectors(),
        resourceVersion: this.#resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds,
      },
      signal,
      (event: WatchEvent<T>) => {
        if (event.type === "ERROR") {
          const status = event.object as { code?: number; reason?: string; message?: string };
          throw new KubeApiError(
            status.code === 410 ? "gone" : "server-error",
            `watch ${this.#opts.path}: ${status.message ?? status.reason ?? "error"}`,
            { status: status.code ?? 0, ...(status.reason ? { reason: status.reason } : {}) },
          );
        }
        const obj = event.object;
        this.#resourceVersion = obj.metadata?.resourceVersion ?? this.#resourceVersion;
        if (event.type === "BOOKMARK") return;
        const key = objectKey(obj);
        const prev = this.#store.get(key);
        if (event.type === "DELETED") {
          this.#store.delete(key);
          this.#call(() => this.#opts.handlers.onDelete?.(prev ?? obj));
        } else {
          this.#store.set(key, obj);
          if (prev) this.#call(() => this.#opts.handlers.onUpdate?.(prev, obj));
          else this.#call(() => this.#opts.handlers.onAdd?.(obj));
        }
      },
      () => this.#setState("synced"),
    );
  }

  async #resyncLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.#opts.clock.sleep(this.#opts.resyncMs, signal);
      if (signal.aborted || !this.#synced) continue;
      for (const obj of this.#store.values()) {
        this.#call(() => this.#opts.handlers.onUpdate?.(obj, obj));
      }
    }
  }

  #selectors(): Record<string, string | undefined> {
    return { labelSelector: this.#opts.labelSelector, fieldSelector: this.#opts.fieldSelector };
  }

  #setState(state: ReflectorState, cause?: KubeApiError): void {
    if (state === this.#state && cause === undefined) return;
    const changed = state !== this.#state;
    this.#state = state;
    if (changed) this.#call(() => this.#opts.handlers.onState?.(state, cause));
  }

  #call(f: () => void): void {
    try {
      f();
    } catch (err) {
      try {
        this.#opts.handlers.onHandlerError?.(err);
      } catch {
        // Nothing more we can do; the reflector must keep running.
      }
    }
  }
}
