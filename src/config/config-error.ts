import { z } from "zod";
import { quote, shorten } from "./quote.ts";

/** One problem with the settings: the field it concerns and a reason a person can act on. */
export interface ConfigError {
  /** The field, e.g. `clusters[1].allowedCIDRs[0]`; `""` for the file as a whole. */
  path: string;
  message: string;
}

/**
 * `["clusters", 1, "name"]` → `clusters[1].name`; `[]` → `""`. A key longer than a message
 * should repeat (see `quote.ts`) is cut.
 */
export function formatConfigPath(path: readonly PropertyKey[]): string {
  let text = "";
  for (const segment of path) {
    if (typeof segment === "number") text += `[${segment}]`;
    else text += text === "" ? shorten(String(segment)) : `.${shorten(String(segment))}`;
  }
  return text;
}

/** Joins a field path under a prefix such as `secret foo:` or `clusters[0]`. */
export function joinConfigPath(prefix: string, path: string): string {
  if (prefix === "") return path;
  if (path === "") return prefix;
  if (prefix.endsWith(":")) return `${prefix} ${path}`;
  return path.startsWith("[") ? `${prefix}${path}` : `${prefix}.${path}`;
}

const KIND_NAMES: Record<string, string> = {
  string: "a string",
  number: "a number",
  int: "a whole number",
  boolean: "true or false",
  array: "a list",
  object: "a mapping",
};

/** What kind of value `value` is, for messages: `a string`, `a whole number`, `a list`, … */
export function kindOf(value: unknown): string {
  if (value === null) return "an empty value";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  if (typeof value === "number") return Number.isInteger(value) ? "a whole number" : "a number";
  if (typeof value === "boolean") return "true or false";
  return `a ${typeof value}`;
}

/** A short rendering of a value from the file for messages (a long string is cut, see `quote.ts`). */
export function describeValue(value: unknown): string {
  if (typeof value === "string") return quote(value);
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return kindOf(value);
}

/** The keys of the object schema at `path` inside `schema`, if there is one. */
function knownKeys(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let current: z.ZodType = schema;
  let remaining = [...path];
  for (let guard = 0; guard < 100; guard++) {
    if (
      current instanceof z.ZodOptional ||
      current instanceof z.ZodDefault ||
      current instanceof z.ZodPrefault ||
      current instanceof z.ZodNullable
    ) {
      current = current.unwrap() as z.ZodType;
    } else if (current instanceof z.ZodPipe) {
      current = current.in as z.ZodType;
    } else if (remaining.length === 0) {
      return current instanceof z.ZodObject ? Object.keys(current.shape) : undefined;
    } else if (current instanceof z.ZodObject && typeof remaining[0] === "string") {
      const next: unknown = current.shape[remaining[0]];
      if (!(next instanceof z.ZodType)) return undefined;
      current = next;
      remaining = remaining.slice(1);
    } else if (current instanceof z.ZodArray && typeof remaining[0] === "number") {
      current = current.element as z.ZodType;
      remaining = remaining.slice(1);
    } else {
      return undefined;
    }
  }
  return undefined;
}

/** Edit distance counting a swap of two neighbouring letters as one edit (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let best = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        best = Math.min(best, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = best;
    }
  }
  return rows[a.length]![b.length]!;
}

/** `unknown field "x"` with a did-you-mean for near misses (case, a letter or two). */
export function unknownFieldMessage(key: string, known: readonly string[] | undefined): string {
  const base = `unknown field ${quote(key)}`;
  if (known === undefined || known.length === 0) return base;
  const lower = key.toLowerCase();
  const limit = Math.max(1, Math.min(2, Math.floor(key.length / 4)));
  const close = known
    // Lengths further apart than the limit cannot be close; skipping them also keeps a huge key
    // from costing a huge edit-distance table.
    .filter((candidate) => Math.abs(candidate.length - key.length) <= limit)
    .map((candidate) => ({
      candidate,
      distance:
        candidate.toLowerCase() === lower ? 0 : editDistance(lower, candidate.toLowerCase()),
    }))
    .filter(({ distance }) => distance <= limit)
    .sort((a, b) => a.distance - b.distance)[0];
  if (close !== undefined) return `${base}; did you mean ${JSON.stringify(close.candidate)}?`;
  return `${base}; known fields: ${known.join(", ")}`;
}

function sizeMessage(issue: z.core.$ZodIssueTooBig | z.core.$ZodIssueTooSmall): string {
  const small = issue.code === "too_small";
  const bound = issue.code === "too_small" ? issue.minimum : issue.maximum;
  const inclusive = issue.inclusive !== false;
  switch (issue.origin) {
    case "string":
      if (small && bound === 1) return "must not be empty";
      return `must be at ${small ? "least" : "most"} ${bound} characters long`;
    case "array":
      return `must have at ${small ? "least" : "most"} ${bound} entries`;
    default: {
      const relation = small
        ? inclusive
          ? `at least ${bound}`
          : `greater than ${bound}`
        : inclusive
          ? `at most ${bound}`
          : `less than ${bound}`;
      return `${describeValue(issue.input)} is too ${small ? "small" : "large"}; it must be ${relation}`;
    }
  }
}

function issueMessage(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case "invalid_type":
      if (issue.input === undefined) return "required field is missing";
      // YAML's .inf and .nan, and numbers too large for a double (1e309), arrive as numbers.
      if (typeof issue.input === "number" && !Number.isFinite(issue.input)) {
        return `must be a finite number, got ${issue.input}`;
      }
      return `expected ${KIND_NAMES[issue.expected] ?? issue.expected}, got ${kindOf(issue.input)}${
        typeof issue.input === "string" || typeof issue.input === "number"
          ? ` (${describeValue(issue.input)})`
          : ""
      }`;
    case "invalid_value":
      if (issue.input === undefined) return "required field is missing";
      return `${describeValue(issue.input)} is not allowed; use one of: ${issue.values.map(String).join(", ")}`;
    case "too_small":
    case "too_big":
      return sizeMessage(issue);
    case "not_multiple_of":
      return `${describeValue(issue.input)} must be a multiple of ${issue.divisor}`;
    default:
      return issue.message;
  }
}

/**
 * Turns zod issues into {@link ConfigError}s with field paths and plain reasons. Unknown keys
 * become one error each, with a did-you-mean taken from `schema` when given. `prefix` is put in
 * front of every path (see {@link joinConfigPath}).
 */
export function configErrorsFromIssues(
  issues: readonly z.core.$ZodIssue[],
  options: { schema?: z.ZodType; prefix?: string } = {},
): ConfigError[] {
  const prefix = options.prefix ?? "";
  const errors: ConfigError[] = [];
  for (const issue of issues) {
    if (issue.code === "unrecognized_keys") {
      const known =
        options.schema === undefined ? undefined : knownKeys(options.schema, issue.path);
      for (const key of issue.keys) {
        errors.push({
          path: joinConfigPath(prefix, formatConfigPath([...issue.path, key])),
          message: unknownFieldMessage(key, known),
        });
      }
      continue;
    }
    errors.push({
      path: joinConfigPath(prefix, formatConfigPath(issue.path)),
      message: issueMessage(issue),
    });
  }
  return errors;
}
