import type { AddressFamily } from "./endpoints.ts";
import { fnv1a32Hex } from "./hash.ts";

/** Our slice names stay within a DNS label (63), so they are valid names and label values alike. */
export const MAX_SLICE_NAME_LENGTH = 63;

/** What a slice name is derived from. */
export interface SliceNameParts {
  serviceName: string;
  cluster: string;
  addressType: AddressFamily;
  /** {@link portSetKey} of the slice's ports. */
  portSetKey: string;
  /** The name of the peak slice it mirrors. */
  source: string;
  /** The installation that writes it. */
  installation: string;
  /** The chunk index, 0 upwards. */
  index: number;
}

/** Digits kept free for the chunk index, so a source's names share one prefix. */
const INDEX_RESERVE = 4;

const MARKER = "-kb-";

// Lowercase, only [a-z0-9-], no '-' at either end; never empty.
function dnsPart(text: string): string {
  const part = text
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, "-")
    .replace(/^-+|-+$/g, "");
  return part === "" ? "x" : part;
}

function truncate(part: string, length: number): string {
  if (part.length <= length) return part;
  return part.slice(0, Math.max(1, length)).replace(/-+$/, "") || "x";
}

// Shares `budget` between two parts: a short part keeps its length, the long one takes the rest.
function share(a: number, b: number, budget: number): [number, number] {
  if (a + b <= budget) return [a, b];
  const half = Math.floor(budget / 2);
  if (a <= budget - half) return [a, budget - a];
  if (b <= half) return [budget - b, b];
  return [budget - half, half];
}

/**
 * A deterministic slice name, `<service>-kb-<cluster>-<v4|v6>-<hash>-<index>`, where `hash` is 8
 * hex digits of FNV-1a over the untruncated service name, cluster, family, port set, source slice
 * and installation. Service and cluster are lowercased, reduced to
 * `[a-z0-9-]` and truncated so the name fits in 63 characters, with room for a four-digit index,
 * so every chunk of one source shares the prefix before `-<index>`; the hash keeps truncated or
 * rewritten names distinct. The result is a valid DNS subdomain and DNS label for any input (an
 * index that is not a non-negative safe integer counts as 0), and the same input always gives the
 * same name.
 */
export function sliceName(parts: SliceNameParts): string {
  const family = parts.addressType === "IPv6" ? "v6" : "v4";
  const identity = [
    parts.serviceName,
    parts.cluster,
    parts.addressType,
    parts.portSetKey,
    parts.source,
    parts.installation,
  ];
  const hash = fnv1a32Hex(JSON.stringify(identity));
  const index = Number.isSafeInteger(parts.index) && parts.index >= 0 ? parts.index : 0;
  const reserve = Math.max(INDEX_RESERVE, String(index).length);
  const fixed = `-${family}-${hash}-`.length + reserve;
  const service = dnsPart(parts.serviceName);
  const cluster = dnsPart(parts.cluster);
  const budget = Math.max(2, MAX_SLICE_NAME_LENGTH - MARKER.length - fixed);
  const [serviceLength, clusterLength] = share(service.length, cluster.length, budget);
  const prefix = `${truncate(service, serviceLength)}${MARKER}${truncate(cluster, clusterLength)}`;
  return `${prefix}-${family}-${hash}-${index}`;
}

/** A slice name split into the part every chunk of its source shares and its chunk index. */
export function splitSliceName(name: string): { prefix: string; index: number } | undefined {
  const match = /^(.*)-(0|[1-9][0-9]*)$/.exec(name);
  if (match === null) return undefined;
  const index = Number(match[2]);
  return Number.isSafeInteger(index) ? { prefix: match[1] ?? "", index } : undefined;
}
