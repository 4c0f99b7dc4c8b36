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
  /** {@link contentHash} of the subsets as written. */
  hash: string;
}

/** FNV-1a hash (8 hex digits) of {@link subsetsContentKey}: equal for equal meaning. */
export function contentHash(subsets: readonly EndpointsSubset[]): string {
  return fnv1a32Hex(subsetsContentKey(subsets));
}

/**
 * Reads the annotation value. Returns `undefined` (never throws) when it is not JSON of the shape
 * `{"addresses": string[], "hash": string}`; extra keys are ignored.
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
  if (!Array.isArray(addresses) || typeof hash !== "string") return undefined;
  if (!addresses.every((address): address is string => typeof address === "string")) {
    return undefined;
  }
  return { addresses: [...new Set(addresses)].sort(compareText), hash };
}

/** The annotation value for a record: stable JSON, addresses sorted and unique. */
export function formatAddedAddressesRecord(record: AddedAddressesRecord): string {
  return JSON.stringify({
    addresses: [...new Set(record.addresses)].sort(compareText),
    hash: record.hash,
  });
}
