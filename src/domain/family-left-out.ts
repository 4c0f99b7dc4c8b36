import type { AddressFamily } from "./endpoints.ts";
import type { Source } from "./source.ts";

/**
 * How many admitted peak endpoints a production Service leaves out because their family is not
 * one of its `ipFamilies` (SPEC B7): a dual-stack peak's IPv6 side behind an IPv4-only Service,
 * say. Counted so the gauge shows them; they are never written. Linear in the sources.
 */
export function endpointsOfOtherFamilies(
  families: readonly AddressFamily[],
  sources: Iterable<Source>,
): number {
  let count = 0;
  for (const { group } of sources) {
    if (group !== undefined && !families.includes(group.addressType)) {
      count += group.endpoints.length;
    }
  }
  return count;
}
