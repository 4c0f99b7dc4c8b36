import { pino } from "pino";

/** Structured JSON logs, one child logger per component: constant messages, variables in fields. */
export type Logger = pino.Logger;

/** The process logger. `level` defaults to `KUBEBURST_LOG_LEVEL` or "info"; output is stderr. */
export function createLogger(level: string = process.env.KUBEBURST_LOG_LEVEL ?? "info"): Logger {
  return pino({ level, base: { app: "kubeburst" } }, pino.destination(2));
}

/** A logger that drops everything (tests of components that take a logger). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
