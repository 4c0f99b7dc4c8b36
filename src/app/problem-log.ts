import type { ConfigError } from "../config/config-error.ts";
import type { Logger } from "../observability/logger.ts";

/**
 * Logs problems that persist (a broken config file, a refused kubeconfig, an invalid Secret) once
 * each, instead of at every discovery interval, and says when a topic's problems are gone.
 */
export class ProblemLog {
  readonly #log: Logger;
  readonly #reported = new Map<string, Set<string>>();

  constructor(log: Logger) {
    this.#log = log;
  }

  /** The current problems of `topic` (none: resolved). */
  report(topic: string, problems: readonly ConfigError[]): void {
    const lines = new Set(
      problems.map((p) => (p.path === "" ? p.message : `${p.path}: ${p.message}`)),
    );
    const before = this.#reported.get(topic) ?? new Set<string>();
    for (const line of lines) if (!before.has(line)) this.#log.error({ topic }, line);
    if (before.size > 0 && lines.size === 0) this.#log.info({ topic }, "problem resolved");
    if (lines.size === 0) this.#reported.delete(topic);
    else this.#reported.set(topic, lines);
  }
}
