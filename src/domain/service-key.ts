/**
 * The identity of a Service across clusters: `"namespace/name"`. A production Service and its
 * peak Services share one key, because pairing is by the same namespace and name (SPEC M6).
 */
export type ServiceKey = string;

/** Builds the key `"namespace/name"`. */
export function serviceKey(namespace: string, name: string): ServiceKey {
  return `${namespace}/${name}`;
}

/**
 * Splits a key built by {@link serviceKey}. Returns `undefined` (never throws) when the text is
 * not exactly two non-empty parts separated by one `/`.
 */
export function parseServiceKey(key: string): { namespace: string; name: string } | undefined {
  const parts = key.split("/");
  if (parts.length !== 2) return undefined;
  const [namespace, name] = parts;
  if (namespace === undefined || name === undefined || namespace === "" || name === "") {
    return undefined;
  }
  return { namespace, name };
}
