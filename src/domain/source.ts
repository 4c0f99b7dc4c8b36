import type { RefusedAddress } from "./address-policy.ts";
import type { EndpointGroup } from "./endpoints.ts";

/**
 * One peak EndpointSlice as production may see it: its endpoints after the address policy (SPEC
 * B1) and what the policy refused. kubeburst mirrors each source into slices of its own, so a
 * change in one peak slice touches only the slices of that source, as the EndpointSlice
 * controller's own changes do (SPEC B13).
 */
export interface Source {
  /** The peak slice's name (unique within its Service and cluster). */
  name: string;
  /**
   * Admitted endpoints: canonical addresses, one per address, sorted. Undefined for an FQDN
   * slice, which is never imported.
   */
  group: EndpointGroup | undefined;
  /** Sorted by address, then reason. */
  refused: readonly RefusedAddress[];
  /** The peak slice's last-change trigger time (RFC 3339), when it carries a valid one. */
  triggerTime?: string;
}

/**
 * Whether two sources would be written alike: same name, trigger time, family, ports, endpoints
 * (with conditions) and refusals, in the same order. Linear in their size.
 */
export function sameSource(a: Source, b: Source): boolean {
  if (a.name !== b.name || a.triggerTime !== b.triggerTime) return false;
  if (a.refused.length !== b.refused.length) return false;
  if (
    !a.refused.every(
      (r, i) => r.address === b.refused[i]!.address && r.reason === b.refused[i]!.reason,
    )
  ) {
    return false;
  }
  const [g, h] = [a.group, b.group];
  if (g === undefined || h === undefined) return g === h;
  return (
    g.addressType === h.addressType &&
    g.ports.length === h.ports.length &&
    g.ports.every((p, i) => {
      const q = h.ports[i]!;
      return (
        p.name === q.name &&
        p.port === q.port &&
        p.protocol === q.protocol &&
        p.appProtocol === q.appProtocol
      );
    }) &&
    g.endpoints.length === h.endpoints.length &&
    g.endpoints.every((e, i) => {
      const f = h.endpoints[i]!;
      return (
        e.address === f.address &&
        e.conditions.ready === f.conditions.ready &&
        e.conditions.serving === f.conditions.serving &&
        e.conditions.terminating === f.conditions.terminating
      );
    })
  );
}
