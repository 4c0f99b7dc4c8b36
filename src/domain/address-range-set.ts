import type { AddressFamily } from "./endpoints.ts";
import { type ParsedIpAddress, parseIpAddress } from "./ip-address.ts";

// Addresses are compared as fixed-width keys: four lowercase hex digits per 16 bits (8 digits for
// IPv4, 32 for IPv6). Two keys of one family compare as strings exactly as the addresses compare
// as numbers, so a range check is two string comparisons, with no BigInt and no re-parsing.

/** Inclusive first and last address keys of one block of addresses, all of one family. */
export interface AddressRange {
  family: AddressFamily;
  first: string;
  last: string;
}

/**
 * Sorted, non-overlapping ranges of one family, for binary search: `firsts[i]..lasts[i]` is the
 * i-th range, and `lasts[i] < firsts[i + 1]`.
 */
export interface AddressRangeSet {
  readonly firsts: readonly string[];
  readonly lasts: readonly string[];
}

const DIGITS = { IPv4: 8, IPv6: 32 } as const;
/** Two hex digits for each octet value. */
const OCTET_HEX = Array.from({ length: 256 }, (_, octet) => octet.toString(16).padStart(2, "0"));
const DOT = ".".charCodeAt(0);
const ZERO = "0".charCodeAt(0);
const PREFIX = /^(0|[1-9][0-9]{0,2})$/;

/** The key of an address, which must be parseIpAddress's output (canonical, never mapped). */
export function addressKey({ family, canonical }: ParsedIpAddress): string {
  if (family === "IPv4") {
    // Canonical dotted decimal is digits and dots only; reading it by char code is several times
    // faster than split and Number, and this runs for every endpoint address.
    let key = "";
    let octet = 0;
    for (let index = 0; index < canonical.length; index++) {
      const code = canonical.charCodeAt(index);
      if (code === DOT) {
        key += OCTET_HEX[octet];
        octet = 0;
      } else octet = octet * 10 + code - ZERO;
    }
    return key + OCTET_HEX[octet];
  }
  // Canonical IPv6 is hex fields only, with at most one "::" for a run of zero fields.
  const field = (text: string) => text.padStart(4, "0");
  const gap = canonical.indexOf("::");
  if (gap === -1) return canonical.split(":").map(field).join("");
  const head = gap === 0 ? [] : canonical.slice(0, gap).split(":");
  const tail = gap + 2 === canonical.length ? [] : canonical.slice(gap + 2).split(":");
  const zeros = "0000".repeat(8 - head.length - tail.length);
  return head.map(field).join("") + zeros + tail.map(field).join("");
}

/** The range of the block whose network key is `network`, or undefined when host bits are set. */
function blockRange(
  family: AddressFamily,
  network: string,
  prefixLength: number,
): AddressRange | undefined {
  const whole = prefixLength >> 2;
  if (whole === network.length) return { family, first: network, last: network };
  // The digit the prefix ends in: its low `4 - prefixLength % 4` bits belong to the host.
  const hostBits = (1 << (4 - (prefixLength & 3))) - 1;
  const digit = Number.parseInt(network.charAt(whole), 16);
  const rest = network.length - whole - 1;
  if ((digit & hostBits) !== 0 || network.slice(whole + 1) !== "0".repeat(rest)) return undefined;
  const head = network.slice(0, whole);
  return {
    family,
    first: network,
    last: head + (digit | hostBits).toString(16) + "f".repeat(rest),
  };
}

/**
 * The range of a CIDR block (`address/prefix`), accepting exactly what parseCidr accepts (no
 * prefix-length leading zeros, no host bits set, no IPv4-mapped network), or, when `bare` is set,
 * also a bare address as its /32 or /128. Undefined for anything else. Meant for compiling
 * policies: no BigInt, no error message.
 */
export function readRange(text: string, bare: boolean): AddressRange | undefined {
  const slash = text.indexOf("/");
  if (slash === -1) {
    const single = bare ? parseIpAddress(text) : undefined;
    if (single === undefined) return undefined;
    const key = addressKey(single);
    return { family: single.family, first: key, last: key };
  }
  const network = parseIpAddress(text.slice(0, slash));
  const prefixText = text.slice(slash + 1);
  if (network === undefined || !PREFIX.test(prefixText)) return undefined;
  const prefixLength = Number(prefixText);
  const bits = DIGITS[network.family] * 4;
  if (prefixLength > bits) return undefined;
  return blockRange(network.family, addressKey(network), prefixLength);
}

/** Sorts and merges ranges of one family into a set (overlapping and nested ranges become one). */
export function addressRangeSet(ranges: readonly AddressRange[]): AddressRangeSet {
  const sorted = ranges.toSorted((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
  const firsts: string[] = [];
  const lasts: string[] = [];
  for (const { first, last } of sorted) {
    const end = lasts.length - 1;
    const previous = lasts[end];
    if (previous !== undefined && first <= previous) {
      if (last > previous) lasts[end] = last;
    } else {
      firsts.push(first);
      lasts.push(last);
    }
  }
  return Object.freeze({ firsts: Object.freeze(firsts), lasts: Object.freeze(lasts) });
}

/** Whether `key` lies in one of the set's ranges; O(log n) in the number of ranges. */
export function rangeSetHas({ firsts, lasts }: AddressRangeSet, key: string): boolean {
  // The number of ranges that start at or before `key`; only the last of them can hold it.
  let low = 0;
  let high = firsts.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if (firsts[middle]! <= key) low = middle + 1;
    else high = middle;
  }
  return low > 0 && key <= lasts[low - 1]!;
}
