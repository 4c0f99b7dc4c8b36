import { compareText } from "./compare-text.ts";
import { type EndpointsSubset, subsetsContentKey } from "./endpoints-subsets.ts";
import { fnv1a32Hex } from "./hash.ts";

/**
 * Literal mode's record, kept in the `kubeburst.io/added-addresses` annotation: the addresses
 * kubeburst added to the Endpoints object, and a hash of the object's content as kubeburst wrote it.
 */
export interface AddedAddressesRecord {
  /** Canonical addresses, sorted, no duplicates. */
  addresses: string[];
  /**
   * The same addresses by the peak cluster they came from (sorted, no duplicates), so a peak that
   * has not synced since a restart keeps its own. Records of older versions have none.
   */
  clusters?: Record<string, string[]>;
  /** {@link contentHash} of the subsets as written. */
  hash: string;
}

/** FNV-1a hash (8 hex digits) of {@link subsetsContentKey}: equal for equal meaning. */
export function contentHash(subsets: readonly EndpointsSubset[]): string {
  return fnv1a32Hex(subsetsContentKey(subsets));
}

/**
 * Reads the annotation value. Returns `undefined` (never throws) when it is not JSON of the shape
 * `{"addresses": string[], "hash": string}`; `clusters` is read when it maps names to string
 * lists (other entries are dropped); other keys are ignored.
 */
export function parseAddedAddressesRecord(value: string): AddedAddressesRecord | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return undefined;
  }
  if (typeof parsed !== "object" || parsed === null) return undefined;
  if (!("addresses" in parsed) || !("hash" in parsed)) return undefined;
  const { addresses, hash } = parsed;
  if (!isStringList(addresses) || typeof hash !== "string") return undefined;
  const record: AddedAddressesRecord = { addresses: sortedSet(addresses), hash };
  const clusters = "clusters" in parsed ? parsed.clusters : undefined;
  if (typeof clusters === "object" && clusters !== null && !Array.isArray(clusters)) {
    const entries = Object.entries(clusters).filter((e): e is [string, string[]] =>
      isStringList(e[1]),
    );
    if (entries.length > 0) {
      record.clusters = Object.fromEntries(entries.map(([c, list]) => [c, sortedSet(list)]));
    }
  }
  return record;
}

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((item) => typeof item === "string");
}

function sortedSet(list: readonly string[]): string[] {
  return [...new Set(list)].sort(compareText);
}

/** The annotation value for a record: stable JSON, addresses sorted and unique. */
export function formatAddedAddressesRecord(record: AddedAddressesRecord): string {
  const clusters = Object.entries(record.clusters ?? {})
    .filter(([, list]) => list.length > 0)
    .sort(([a], [b]) => compareText(a, b))
    .map(([cluster, list]) => [cluster, sortedSet(list)]);
  return JSON.stringify({
    addresses: sortedSet(record.addresses),
    ...(clusters.length > 0 ? { clusters: Object.fromEntries(clusters) } : {}),
    hash: record.hash,
  });
}
