/** Locale-independent ordering of strings by UTF-16 code units, for deterministic sorting. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
