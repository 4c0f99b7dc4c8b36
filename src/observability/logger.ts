import { pino } from "pino";
import type { LogLevel } from "../config/log-level.ts";
import { KubeApiError } from "../kube/kube-api-error.ts";
import { ExpectedError } from "./expected-error.ts";

/** Structured JSON logs, one child logger per component: constant messages, variables in fields. */
export type Logger = pino.Logger;

/**
 * How an `err` field is written. Expected failures ({@link ExpectedError}, and classified API
 * failures, {@link KubeApiError}) are written as their message and code, without a stack: the
 * message is the whole story for the person reading it. Anything else is a bug and keeps its
 * stack (and its causes').
 */
export function serializeError(err: unknown): unknown {
  if (err instanceof ExpectedError) {
    return {
      type: err.name,
      message: err.message,
      ...(err.code === undefined ? {} : { code: err.code }),
    };
  }
  if (err instanceof KubeApiError) {
    return {
      type: err.name,
      message: err.message,
      kind: err.kind,
      status: err.status,
      ...(err.reason === undefined ? {} : { reason: err.reason }),
    };
  }
  return err instanceof Error ? pino.stdSerializers.err(err) : err;
}

/**
 * The process logger at `level` (validated by the caller: see `config/log-level.ts`), writing
 * JSON lines to stderr.
 */
export function createLogger(level: LogLevel): Logger {
  return pino(
    { level, base: { app: "kubeburst" }, serializers: { err: serializeError } },
    pino.destination(2),
  );
}

/** A logger that drops everything (tests of components that take a logger). */
export function silentLogger(): Logger {
  return pino({ level: "silent" });
}
