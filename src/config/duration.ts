import { quote } from "./quote.ts";

/** A parsed duration in milliseconds, or why the text is not one. */
export type DurationResult = { ok: true; ms: number } | { ok: false; message: string };

const UNIT_MS = { ms: 1n, s: 1000n, m: 60_000n, h: 3_600_000n } as const;
type Unit = keyof typeof UNIT_MS;

const PART = /^(\d+)(?:\.(\d+))?([a-zµ]+)/i;
const EXAMPLES = '"500ms", "30s", "5m", "1h" or "1h30m"';

/** No real duration is longer (`999h59m59s999ms` has 15); a longer text is not parsed at all. */
const MAX_DURATION_CHARS = 40;

function isUnit(text: string): text is Unit {
  return Object.hasOwn(UNIT_MS, text);
}

/**
 * Parses a duration such as `500ms`, `30s`, `1.5m`, `1h30m` into whole milliseconds: one or more
 * `<number><unit>` parts, units `ms`, `s`, `m`, `h`, summed. Refused, with a message quoting the
 * text (cut when long): a number without a unit, negative values, unknown units, spaces, text
 * longer than 40 characters, and values finer than a millisecond or beyond
 * `Number.MAX_SAFE_INTEGER` ms.
 */
export function parseDuration(text: string): DurationResult {
  const quoted = quote(text);
  if (text === "") return { ok: false, message: `empty duration; write e.g. ${EXAMPLES}` };
  if (text.length > MAX_DURATION_CHARS) {
    return { ok: false, message: `${quoted} is too long to be a duration; write e.g. ${EXAMPLES}` };
  }
  if (/^[-+]?\d+(\.\d+)?$/.test(text)) {
    return { ok: false, message: `${quoted} has no unit; write e.g. "${text}s" or "${text}ms"` };
  }
  if (text.startsWith("-"))
    return { ok: false, message: `${quoted} is negative; durations must be >= 0` };
  let rest = text;
  let total = 0n;
  while (rest !== "") {
    const match = PART.exec(rest);
    if (match === null) {
      return { ok: false, message: `${quoted} is not a duration; write e.g. ${EXAMPLES}` };
    }
    const [part, whole = "", fraction = "", unit = ""] = match;
    if (!isUnit(unit)) {
      return { ok: false, message: `${quoted} has unknown unit ${quote(unit)}; use ms, s, m or h` };
    }
    const scale = 10n ** BigInt(fraction.length);
    const scaled = (BigInt(whole) * scale + BigInt(fraction || "0")) * UNIT_MS[unit];
    if (scaled % scale !== 0n) {
      return { ok: false, message: `${quoted} is finer than a millisecond, the smallest step` };
    }
    total += scaled / scale;
    rest = rest.slice(part.length);
  }
  if (total > BigInt(Number.MAX_SAFE_INTEGER)) {
    return { ok: false, message: `${quoted} is too long` };
  }
  return { ok: true, ms: Number(total) };
}

/**
 * Formats milliseconds (rounded to whole ms; negative as 0) as the shortest text
 * {@link parseDuration} reads back, largest units first and zero parts left out: `0s`,
 * `500ms`, `1m30s`, `1h500ms`.
 */
export function formatDuration(ms: number): string {
  let rest = Math.max(0, Math.round(ms));
  if (rest === 0) return "0s";
  let text = "";
  for (const [unit, size] of [
    ["h", 3_600_000],
    ["m", 60_000],
    ["s", 1000],
    ["ms", 1],
  ] as const) {
    const count = Math.floor(rest / size);
    if (count > 0) text += `${count}${unit}`;
    rest -= count * size;
  }
  return text;
}
