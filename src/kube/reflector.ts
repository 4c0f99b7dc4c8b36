import { setImmediate } from "node:timers/promises";
import type { Clock } from "../runtime/clock.ts";
import { errorFromStatus, KubeApiError } from "./kube-api-error.ts";
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
  /**
   * After every completed list: the first, a relist after 410 Gone or a too-large
   * resourceVersion, and one asked for with {@link Reflector.requestRelist}. It fires after that
   * list's add/update/delete handlers (and after onSynced, the first time), with the state
   * already `synced`: the cache then equals the server's collection at the list's version.
   */
  onListed?(): void;
  /** Every state change, with the failure that caused it. */
  onState?(state: ReflectorState, cause?: KubeApiError): void;
  /** A handler (or the transform) threw: the reflector keeps going. */
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
  /**
   * Applied to every object from lists and watches before it is cached or handed to a handler,
   * like client-go's TransformFunc: return a smaller object (see {@link stripManagedFields}).
   * It must keep `metadata.name`, `namespace` and `resourceVersion`, and must not mutate objects
   * it did not create. If it throws, onHandlerError gets the error and the object is kept whole.
   * Default: objects are kept as they are.
   */
  transform?: (obj: T) => T;
  /**
   * Back-off after a failed list or watch, ms: doubles from `minBackoffMs` (default 500) to
   * `maxBackoffMs` (default 30 000). A watch that ends within 1 s without delivering an event
   * counts as a failure; one that lasted or delivered resets the back-off.
   */
  minBackoffMs?: number;
  maxBackoffMs?: number;
  /**
   * Longest wait a server's Retry-After (on 429, or 503 with Retry-After) may impose instead of
   * the back-off, ms. Default 60 000.
   */
  maxRetryAfterMs?: number;
  /** Server-side timeout of each watch, seconds; jittered ±50 %. Default 300. */
  watchTimeoutSeconds?: number;
  /**
   * The collection may not be served (an API a cluster of an older version lacks): a 404 on the
   * list counts as an empty list, and it is listed again every `maxBackoffMs`. See
   * {@link Reflector.notServed}.
   */
  optional?: boolean;
}

interface ObjectList<T> {
  metadata?: { resourceVersion?: string; continue?: string };
  items: T[];
}

/** Back-off after a failed list or watch, ms: it starts at the first and doubles up to the second. */
export const DEFAULT_MIN_BACKOFF_MS = 500;
export const DEFAULT_MAX_BACKOFF_MS = 30_000;

/** A watch that ends sooner than this without delivering anything counts as a failure. */
const HEALTHY_WATCH_MS = 1_000;

/**
 * A {@link ReflectorOptions.transform} that drops `metadata.managedFields` (server-side apply
 * bookkeeping, often a fifth to two fifths of an object, which kubeburst never reads). Returns
 * a shallow copy; the input is not changed.
 */
export function stripManagedFields<T extends KubeObject>(obj: T): T {
  const metadata = obj.metadata as
    | (KubeObject["metadata"] & { managedFields?: unknown })
    | undefined;
  if (metadata?.managedFields === undefined) return obj;
  const { managedFields: _dropped, ...rest } = metadata;
  return { ...obj, metadata: rest };
}

/** `namespace/name`, or `name` for cluster-scoped objects. */
export function objectKey(obj: KubeObject): string {
  const ns = obj.metadata?.namespace;
  const name = obj.metadata?.name ?? "";
  return ns ? `${ns}/${name}` : name;
}

/** How far one watch got, filled in as it goes (it may end with an error). */
interface WatchProgress {
  /** When its stream opened (clock ms); undefined if it never did. */
  openedAt: number | undefined;
  /** When it ended. */
  endedAt: number | undefined;
  /** Events it delivered, bookmarks included. */
  events: number;
}

/**
 * Keeps a local cache of one collection in step with the API server: list, then watch from the
 * list's resourceVersion; relist after 410 Gone or a resourceVersion the server does not have
 * yet; retry with bounded back-off after any other failure (or after the server's Retry-After),
 * forever, until the signal aborts. Our replacement for client-node's ListWatch, which stops for
 * good after a non-410 error and has no synced signal (see docs/adr/0001).
 */
/** Objects handed to handlers per event-loop turn during a resync. */
const RESYNC_BATCH = 1000;

export class Reflector<T extends KubeObject> {
  readonly #opts: ReflectorOptions<T>;
  readonly #store = new Map<string, T>();
  #state: ReflectorState = "syncing";
  #synced = false;
  #cause: KubeApiError | undefined;
  #notServed = false;
  #running = false;
  /** The last resourceVersion listed or watched; `undefined`: list (again). */
  #resourceVersion: string | undefined;
  #syncWaiters: (() => void)[] = [];
  /** Aborts the list or watch in flight, for requestRelist and markUnreachable. */
  #attempt: AbortController | undefined;
  #relistRequested = false;
  /** Ends the back-off wait under way, for requestRelist. */
  #wake: AbortController | undefined;
  /** Set by markUnreachable: why the attempt in flight was aborted. */
  #interruption: KubeApiError | undefined;

  constructor(opts: ReflectorOptions<T>) {
    this.#opts = opts;
  }

  get state(): ReflectorState {
    return this.#state;
  }

  /** True once the first list has completed (stays true through later failures). */
  /** The collection path it lists and watches. */
  get path(): string {
    return this.#opts.path;
  }

  /** The failure behind the current state, when it is `unreachable` or `refused`. */
  get cause(): KubeApiError | undefined {
    return this.#cause;
  }

  /** An optional collection the server answered 404 for at its last list: cached as empty. */
  get notServed(): boolean {
    return this.#notServed;
  }

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

  /**
   * Makes the next iteration a complete list, at once: the list or watch in flight is aborted
   * (without counting as a failure), a back-off wait under way is cut short (a server's
   * Retry-After is not), and the collection is listed again, its differences to the cache fired
   * as add/update/delete, then onListed. Meant for rare moments (a health probe that sees the
   * server again, a peak about to be restored): called in a loop it would defeat the back-off.
   * Before run, the first list is a complete list anyway.
   */
  requestRelist(): void {
    this.#relistRequested = true;
    this.#attempt?.abort();
    this.#wake?.abort();
  }

  /**
   * Declares the API server unreachable (a health probe found it frozen, say): aborts the list
   * or watch in flight, sets the state to `unreachable` with `cause` (onState fires), and the
   * loop retries after its back-off; the next watch that opens sets it `synced` again. Does
   * nothing while the reflector is not running.
   */
  markUnreachable(cause: KubeApiError): void {
    if (!this.#running) return;
    this.#interruption = cause;
    this.#setState("unreachable", cause);
    this.#attempt?.abort();
  }

  /**
   * Lists and watches until `signal` aborts; never rejects. May be run again after it settled:
   * it resumes from its cache and last resourceVersion. Running it twice at once is a bug.
   */
  async run(signal: AbortSignal): Promise<void> {
    if (this.#running) throw new Error(`reflector for ${this.#opts.path} is already running`);
    this.#running = true;
    const resync = this.#opts.resyncMs > 0 ? this.#resyncLoop(signal) : Promise.resolve();
    const minBackoff = this.#opts.minBackoffMs ?? DEFAULT_MIN_BACKOFF_MS;
    const maxBackoff = this.#opts.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS;
    let backoff = minBackoff;
    /** A relist after 410 or a too-large version happened with no healthy watch since. */
    let relistedAtOnce = false;
    const failed = async (): Promise<void> => {
      const wake = new AbortController();
      this.#wake = wake;
      await this.#opts.clock.sleep(backoff, AbortSignal.any([signal, wake.signal]));
      this.#wake = undefined;
      backoff = Math.min(backoff * 2, maxBackoff);
    };
    while (!signal.aborted) {
      const attempt = new AbortController();
      this.#attempt = attempt;
      this.#interruption = undefined;
      const attemptSignal = AbortSignal.any([signal, attempt.signal]);
      const watch: WatchProgress = { openedAt: undefined, endedAt: undefined, events: 0 };
      // A watch that delivered, or stayed open a while, shows the server works: whatever ends
      // it, the next wait starts from the minimum again.
      const progressed = () => {
        const open = watch.openedAt !== undefined && watch.endedAt !== undefined;
        return watch.events > 0 || (open && watch.endedAt! - watch.openedAt! >= HEALTHY_WATCH_MS);
      };
      try {
        if (this.#resourceVersion === undefined || this.#relistRequested) {
          this.#relistRequested = false;
          this.#resourceVersion = await this.#list(attemptSignal);
        }
        await this.#watch(attemptSignal, watch);
        if (watch.events === 0) await this.#confirmVersion(attemptSignal);
        if (progressed()) {
          backoff = minBackoff;
          relistedAtOnce = false;
          continue;
        }
        // Ended at once with nothing said (a proxy that closes every watch, say): do not spin.
        await failed();
      } catch (err) {
        if (signal.aborted) break;
        if (progressed()) {
          backoff = minBackoff;
          relistedAtOnce = false;
        }
        if (attempt.signal.aborted) {
          // requestRelist: list at once. markUnreachable: its state is set; back off.
          if (this.#interruption !== undefined) await failed();
          continue;
        }
        const apiErr =
          err instanceof KubeApiError ? err : new KubeApiError("server-error", String(err));
        if (
          apiErr.kind === "not-found" &&
          this.#opts.optional &&
          this.#resourceVersion === undefined
        ) {
          this.#notServed = true;
          this.#replace([]);
          this.#resourceVersion = undefined;
          await this.#opts.clock.sleep(maxBackoff, signal);
          continue;
        }
        if (apiErr.kind === "gone" || apiErr.kind === "resource-version-too-large") {
          // Too old, or newer than the server has: only a fresh list helps. Once at once; if
          // that list's version fails the same way before a watch got going, back off first.
          this.#resourceVersion = undefined;
          if (!relistedAtOnce) {
            relistedAtOnce = true;
            continue;
          }
          await failed();
          continue;
        }
        this.#setState(
          apiErr.kind === "unauthorized" ||
            apiErr.kind === "forbidden" ||
            apiErr.kind === "no-credentials"
            ? "refused"
            : "unreachable",
          apiErr,
        );
        const retryAfterMs = this.#retryAfterMs(apiErr, minBackoff);
        if (retryAfterMs === undefined) await failed();
        else await this.#opts.clock.sleep(retryAfterMs, signal);
      }
    }
    this.#attempt = undefined;
    await resync;
    this.#running = false;
    this.#setState("stopped");
    for (const w of this.#syncWaiters.splice(0)) w();
  }

  /** The server's Retry-After on a 429 (or a 503 that carries one), bounded; else undefined. */
  #retryAfterMs(err: KubeApiError, minBackoff: number): number | undefined {
    if (err.retryAfterSeconds === undefined) return undefined;
    if (err.kind !== "too-many-requests" && err.status !== 503) return undefined;
    const max = this.#opts.maxRetryAfterMs ?? 60_000;
    return Math.min(Math.max(err.retryAfterSeconds * 1000, minBackoff), max);
  }

  /**
   * Lists in pages of 500, replaces the cache, fires add/update/delete for the differences,
   * then onSynced (the first time) and onListed.
   */
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
      for (const item of page.items) items.push(this.#ingest(item));
      cont = page.metadata?.continue || undefined;
      rv = page.metadata?.resourceVersion ?? "";
    } while (cont);
    this.#notServed = false;
    this.#replace(items);
    return rv;
  }

  /** Makes the cache hold exactly `items`, with handlers for the differences; synced after. */
  #replace(items: T[]): void {
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
    this.#call(() => this.#opts.handlers.onListed?.());
  }

  /**
   * Watches from the last resourceVersion seen. Every event advances it at once, so a watch that
   * breaks resumes after the last event it delivered: replaying older events would walk the
   * cache back through states that are long gone.
   */
  async #watch(signal: AbortSignal, progress: WatchProgress): Promise<void> {
    const base = this.#opts.watchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.round(base * (0.5 + Math.random()));
    try {
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
            throw errorFromStatus(`watch ${this.#opts.path}`, 0, event.object);
          }
          progress.events++;
          const raw = event.object;
          this.#resourceVersion = raw.metadata?.resourceVersion ?? this.#resourceVersion;
          if (event.type === "BOOKMARK") return;
          const obj = this.#ingest(raw);
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
        () => {
          progress.openedAt = this.#opts.clock.now();
          this.#setState("synced");
        },
      );
    } finally {
      progress.endedAt = this.#opts.clock.now();
    }
  }

  /**
   * Checks, after a watch that delivered nothing at all, that the server has our
   * resourceVersion: a watch from a version newer than the server's (etcd restored from a
   * backup, another cluster behind the same address) is accepted and then stays silent, while a
   * list from it fails with ResourceVersionTooLarge, which the loop answers with a relist. One
   * item, from the watch cache where there is one.
   */
  async #confirmVersion(signal: AbortSignal): Promise<void> {
    await this.#opts.client.request<ObjectList<T>>({
      method: "GET",
      path: this.#opts.path,
      query: {
        ...this.#selectors(),
        resourceVersion: this.#resourceVersion,
        resourceVersionMatch: "NotOlderThan",
        limit: 1,
      },
      signal,
    });
  }

  /** The object as it will be cached: transformed, or whole if the transform threw. */
  #ingest(obj: T): T {
    const transform = this.#opts.transform;
    if (!transform) return obj;
    try {
      return transform(obj);
    } catch (err) {
      this.#call(() => {
        throw err;
      });
      return obj;
    }
  }

  async #resyncLoop(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await this.#opts.clock.sleep(this.#opts.resyncMs, signal);
      if (signal.aborted || !this.#synced) continue;
      // Tens of thousands of objects: let the event loop turn between batches, so watches,
      // Lease renewals and /readyz are served meanwhile. An object gone since is skipped.
      let batch = 0;
      for (const key of [...this.#store.keys()]) {
        const obj = this.#store.get(key);
        if (obj) this.#call(() => this.#opts.handlers.onUpdate?.(obj, obj));
        if (++batch % RESYNC_BATCH === 0) await setImmediate();
      }
    }
  }

  #selectors(): Record<string, string | undefined> {
    return { labelSelector: this.#opts.labelSelector, fieldSelector: this.#opts.fieldSelector };
  }

  #setState(state: ReflectorState, cause?: KubeApiError): void {
    if (cause !== undefined) this.#cause = cause;
    else if (state === "synced") this.#cause = undefined;
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
