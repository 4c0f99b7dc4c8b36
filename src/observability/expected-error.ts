/**
 * An expected failure, not a bug: bad input, a port already in use, a refused kubeconfig. Its
 * message says what is wrong and what to do, so the logger writes it without a stack (see
 * `logger.ts`); `code` is a stable name for the failure where one helps (`EADDRINUSE`).
 */
export class ExpectedError extends Error {
  readonly code: string | undefined;

  constructor(message: string, init: { code?: string; cause?: unknown } = {}) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = "ExpectedError";
    this.code = init.code;
  }
}
