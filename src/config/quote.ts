/**
 * The most characters of a user's value that a message repeats. Enough to recognise a host, a
 * path or a CIDR; a longer value (a pasted certificate, a 50 MB line) is cut, so that an error
 * message stays one readable line and a log line stays small.
 */
export const MAX_QUOTED_CHARS = 100;

/**
 * `text` cut to {@link MAX_QUOTED_CHARS} characters with `…` at the end, or unchanged when it is
 * that short. Never splits a surrogate pair.
 */
export function shorten(text: string): string {
  if (text.length <= MAX_QUOTED_CHARS) return text;
  let cut = MAX_QUOTED_CHARS - 1;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1;
  return `${text.slice(0, cut)}…`;
}

/**
 * `text` in double quotes (JSON escapes) for a message, cut as by {@link shorten}; a cut value
 * says its full length: `"aaaa…" (52428800 characters)`.
 */
export function quote(text: string): string {
  if (text.length <= MAX_QUOTED_CHARS) return JSON.stringify(text);
  return `${JSON.stringify(shorten(text))} (${text.length} characters)`;
}
