import { compareText } from "./compare-text.ts";
import type { Endpoint, EndpointConditions } from "./endpoints.ts";

/**
 * Merges the conditions of two copies of one address, the most available winning: ready if
 * either is ready, serving if either is serving, terminating only if both are. Commutative,
 * associative and idempotent, so the result does not depend on the order copies arrive in.
 */
export function mergeConditions(a: EndpointConditions, b: EndpointConditions): EndpointConditions {
  return {
    ready: a.ready || b.ready,
    serving: a.serving || b.serving,
    terminating: a.terminating && b.terminating,
  };
}

function copyConditions({ ready, serving, terminating }: EndpointConditions): EndpointConditions {
  return { ready, serving, terminating };
}

/**
 * One endpoint per address (copies merged with {@link mergeConditions}), sorted by address in
 * code-unit order. Returns new objects; the input is not changed.
 */
export function mergeEndpoints(endpoints: readonly Endpoint[]): Endpoint[] {
  const byAddress = new Map<string, EndpointConditions>();
  for (const { address, conditions } of endpoints) {
    const seen = byAddress.get(address);
    byAddress.set(
      address,
      seen === undefined ? copyConditions(conditions) : mergeConditions(seen, conditions),
    );
  }
  return [...byAddress.keys()]
    .sort(compareText)
    .map((address) => ({ address, conditions: byAddress.get(address)! }));
}
