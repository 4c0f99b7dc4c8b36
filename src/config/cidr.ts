import type { AddressFamily } from "../domain/endpoints.ts";
import { type ParsedIpAddress, parseIpAddress } from "../domain/ip-address.ts";
import { quote } from "./quote.ts";

/** A valid CIDR block. */
export interface Cidr {
  family: AddressFamily;
  /** Prefix length: 0–32 for IPv4, 0–128 for IPv6. */
  prefixLength: number;
  /** `<network>/<prefix>` with the network in canonical form (RFC 5952 for IPv6). */
  canonical: string;
}

/** A parsed CIDR, or why the text is not one. */
export type CidrResult = { ok: true; cidr: Cidr } | { ok: false; message: string };

const BITS = { IPv4: 32, IPv6: 128 } as const;

function toBigInt(canonical: string, family: AddressFamily): bigint {
  if (family === "IPv4") {
    return canonical.split(".").reduce((sum, octet) => (sum << 8n) | BigInt(octet), 0n);
  }
  const [left = "", right] = canonical.split("::");
  const head = left === "" ? [] : left.split(":");
  const tail = right === undefined || right === "" ? [] : right.split(":");
  const groups = [...head, ...new Array<string>(8 - head.length - tail.length).fill("0"), ...tail];
  return groups.reduce((sum, group) => (sum << 16n) | BigInt(`0x${group}`), 0n);
}

function fromBigInt(value: bigint, family: AddressFamily): string {
  if (family === "IPv4") {
    return [24n, 16n, 8n, 0n].map((shift) => String((value >> shift) & 0xffn)).join(".");
  }
  const groups: string[] = [];
  for (let shift = 112n; shift >= 0n; shift -= 16n)
    groups.push(((value >> shift) & 0xffffn).toString(16));
  // parseIpAddress re-formats the full form canonically (longest zero run as "::").
  return parseIpAddress(groups.join(":"))?.canonical ?? groups.join(":");
}

/**
 * Parses `<address>/<prefix>` for IPv4 or IPv6, e.g. `198.18.0.0/20`, `fd00::/64`, `0.0.0.0/0`.
 * Refused, with a message quoting the text (cut when long): a missing or out-of-range prefix, an invalid address
 * (including IPv4 octets with leading zeros and IPv4-mapped IPv6), and set host bits (the message
 * names the network that was probably meant).
 */
export function parseCidr(text: string): CidrResult {
  const quoted = quote(text);
  const slash = text.indexOf("/");
  if (slash === -1) {
    const single = parseIpAddress(text);
    if (single === undefined)
      return { ok: false, message: `${quoted} is not a CIDR block (address/prefix)` };
    return {
      ok: false,
      message: `${quoted} has no prefix length; write "${single.canonical}/${BITS[single.family]}" for this one address`,
    };
  }
  const addressText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  const address = parseIpAddress(addressText);
  if (address === undefined) {
    return {
      ok: false,
      message: `${quoted} is not a valid CIDR: ${quote(addressText)} is not an IPv4 or IPv6 address`,
    };
  }
  const bits = BITS[address.family];
  const prefixLength = /^(0|[1-9][0-9]{0,2})$/.test(prefixText) ? Number(prefixText) : Number.NaN;
  if (!(prefixLength <= bits)) {
    return {
      ok: false,
      message: `${quoted} has prefix length ${quote(prefixText)}; ${address.family} allows 0 to ${bits}`,
    };
  }
  const value = toBigInt(address.canonical, address.family);
  const hostBits = BigInt(bits - prefixLength);
  const network = (value >> hostBits) << hostBits;
  const networkText = `${fromBigInt(network, address.family)}/${prefixLength}`;
  if (network !== value) {
    return { ok: false, message: `${quoted} has host bits set; the network is "${networkText}"` };
  }
  return { ok: true, cidr: { family: address.family, prefixLength, canonical: networkText } };
}

/** Whether `address` lies inside `cidr`; never across families. */
export function cidrContains(cidr: Cidr, address: ParsedIpAddress): boolean {
  if (cidr.family !== address.family) return false;
  const network = cidr.canonical.slice(0, cidr.canonical.lastIndexOf("/"));
  const hostBits = BigInt(BITS[cidr.family] - cidr.prefixLength);
  return (
    toBigInt(network, cidr.family) >> hostBits ===
    toBigInt(address.canonical, address.family) >> hostBits
  );
}
