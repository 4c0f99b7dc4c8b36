import type { ConfigError } from "./config-error.ts";
import { quote } from "./quote.ts";

/** The environment variable that sets the log level. */
export const LOG_LEVEL_VARIABLE = "KUBEBURST_LOG_LEVEL";

/** Log levels, most verbose first; `silent` logs nothing. */
export const LOG_LEVELS = ["trace", "debug", "info", "warn", "error", "fatal", "silent"] as const;

export type LogLevel = (typeof LOG_LEVELS)[number];

/** The level when the variable is unset or empty. */
export const DEFAULT_LOG_LEVEL: LogLevel = "info";

/** A log level, or why the variable's value is not one. */
export type LogLevelResult = { ok: true; level: LogLevel } | { ok: false; errors: ConfigError[] };

function isLogLevel(text: string): text is LogLevel {
  return (LOG_LEVELS as readonly string[]).includes(text);
}

/**
 * Reads {@link LOG_LEVEL_VARIABLE} from `env`. Unset or empty (as a Deployment's `value: ""`
 * or `KUBEBURST_LOG_LEVEL=` in a shell leaves it, like an empty optional value in a Secret) means
 * {@link DEFAULT_LOG_LEVEL}. Surrounding spaces and case are ignored (`" Debug "` is `debug`);
 * anything else is an error naming the variable and the accepted values.
 */
export function logLevelFromEnv(env: Readonly<Record<string, string | undefined>>): LogLevelResult {
  const raw = env[LOG_LEVEL_VARIABLE];
  if (raw === undefined || raw.trim() === "") return { ok: true, level: DEFAULT_LOG_LEVEL };
  const text = raw.trim().toLowerCase();
  if (isLogLevel(text)) return { ok: true, level: text };
  return {
    ok: false,
    errors: [
      {
        path: LOG_LEVEL_VARIABLE,
        message: `${quote(raw)} is not a log level; use one of: ${LOG_LEVELS.join(", ")} (unset or empty: ${DEFAULT_LOG_LEVEL})`,
      },
    ],
  };
}
