/**
 * Tracks, per cluster, which Services of its first list have not yet been handed to the
 * aggregator. When the last one is delivered the cluster's initial state is complete, and the
 * caller sends "cluster-ready" behind it on the same channel, so the aggregator sees the ready
 * mark only after every snapshot it covers (SPEC M4: nothing is written from half a picture).
 */
export class InitialSync {
  readonly #pending = new Map<string, Set<string>>();

  /**
   * Starts tracking `cluster` with the keys of its first list. Returns true when there is
   * nothing to wait for (the cluster is ready at once).
   */
  begin(cluster: string, keys: Iterable<string>): boolean {
    const pending = new Set(keys);
    if (pending.size === 0) {
      this.#pending.delete(cluster);
      return true;
    }
    this.#pending.set(cluster, pending);
    return false;
  }

  /** Marks `key` of `cluster` delivered. Returns true when it was the cluster's last pending key. */
  delivered(cluster: string, key: string): boolean {
    const pending = this.#pending.get(cluster);
    if (!pending?.delete(key)) return false;
    if (pending.size > 0) return false;
    this.#pending.delete(cluster);
    return true;
  }

  /** Whether `cluster` still has undelivered keys of its first list. */
  isPending(cluster: string): boolean {
    return this.#pending.has(cluster);
  }

  /** Stops tracking `cluster` (it was removed). */
  forget(cluster: string): void {
    this.#pending.delete(cluster);
  }
}
