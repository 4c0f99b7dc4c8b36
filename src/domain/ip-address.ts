import type { AddressFamily } from "./endpoints.ts";

/** A valid IP address and its canonical text (what kubeburst writes and compares). */
export interface ParsedIpAddress {
  family: AddressFamily;
  /** Dotted quad for IPv4; RFC 5952 form for IPv6 (lowercase, longest zero run as `::`). */
  canonical: string;
}

const IPV4 = /^(?:0|[1-9][0-9]{0,2})(?:\.(?:0|[1-9][0-9]{0,2})){3}$/;
const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/;
// "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255" is the longest valid form.
const MAX_IPV6_LENGTH = 45;

function ipv4Octets(text: string): number[] | undefined {
  if (!IPV4.test(text)) return undefined;
  const octets = text.split(".").map(Number);
  return octets.every((octet) => octet <= 255) ? octets : undefined;
}

function ipv6Groups(part: string, allowTrailingIpv4: boolean): number[] | undefined {
  if (part === "") return [];
  const fields = part.split(":");
  const groups: number[] = [];
  for (const [index, field] of fields.entries()) {
    if (allowTrailingIpv4 && index === fields.length - 1 && field.includes(".")) {
      const octets = ipv4Octets(field);
      if (octets === undefined) return undefined;
      const [a = 0, b = 0, c = 0, d = 0] = octets;
      groups.push(a * 256 + b, c * 256 + d);
    } else if (HEX_GROUP.test(field)) {
      groups.push(Number.parseInt(field, 16));
    } else {
      return undefined;
    }
  }
  return groups;
}

function parseIpv6(text: string): number[] | undefined {
  if (text.length > MAX_IPV6_LENGTH) return undefined;
  const gap = text.indexOf("::");
  if (gap === -1) {
    const groups = ipv6Groups(text, true);
    return groups?.length === 8 ? groups : undefined;
  }
  if (text.indexOf("::", gap + 1) !== -1) return undefined;
  const left = ipv6Groups(text.slice(0, gap), false);
  const right = ipv6Groups(text.slice(gap + 2), true);
  if (left === undefined || right === undefined) return undefined;
  const missing = 8 - left.length - right.length;
  if (missing < 1) return undefined;
  return [...left, ...new Array<number>(missing).fill(0), ...right];
}

function formatIpv6(groups: readonly number[]): string {
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < groups.length; ) {
    if (groups[start] !== 0) {
      start += 1;
      continue;
    }
    let end = start;
    while (end < groups.length && groups[end] === 0) end += 1;
    if (end - start > bestLength) {
      bestStart = start;
      bestLength = end - start;
    }
    start = end;
  }
  const hex = (slice: readonly number[]) => slice.map((group) => group.toString(16)).join(":");
  if (bestStart === -1) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLength))}`;
}

/**
 * Parses an IP address as an endpoint address. Returns `undefined` (never throws) for anything
 * else: surrounding spaces, IPv4 octets with leading zeros (ambiguous, refused by Kubernetes),
 * zone suffixes (`%eth0`), CIDRs, and IPv4-mapped IPv6 addresses (`::ffff:a.b.c.d`, which would
 * smuggle an IPv4 address into an IPv6 slice).
 */
export function parseIpAddress(text: string): ParsedIpAddress | undefined {
  if (text.includes(".") && !text.includes(":")) {
    return ipv4Octets(text) === undefined ? undefined : { family: "IPv4", canonical: text };
  }
  const groups = parseIpv6(text);
  if (groups === undefined) return undefined;
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (mapped) return undefined;
  return { family: "IPv6", canonical: formatIpv6(groups) };
}

/**
 * Reads an address as the host it names: like {@link parseIpAddress}, except that an IPv4-mapped
 * IPv6 address (`::ffff:a.b.c.d`, also written in hex as `::ffff:7f00:1`) is read as the IPv4
 * address it stands for, since traffic to it goes there. For judging and denying addresses,
 * never for choosing a slice's family.
 */
export function parseHostAddress(text: string): ParsedIpAddress | undefined {
  const direct = parseIpAddress(text);
  if (direct !== undefined || !text.includes(":")) return direct;
  const groups = parseIpv6(text);
  if (groups === undefined) return undefined;
  const mapped = groups.slice(0, 5).every((group) => group === 0) && groups[5] === 0xffff;
  if (!mapped) return undefined;
  const [high = 0, low = 0] = groups.slice(6);
  return { family: "IPv4", canonical: [high >> 8, high & 0xff, low >> 8, low & 0xff].join(".") };
}
