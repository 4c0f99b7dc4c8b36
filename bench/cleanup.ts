// Everything the benchmark starts registers how to stop it here, so that Ctrl-C or a failure
// still stops every process and deletes every namespace and folder.

export class Cleanup {
  readonly #steps: { what: string; run: () => Promise<void> }[] = [];

  /** Registers `run` (newest runs first); returns a function that unregisters it. */
  add(what: string, run: () => Promise<void>): () => void {
    const step = { what, run };
    this.#steps.push(step);
    return () => {
      const i = this.#steps.indexOf(step);
      if (i >= 0) this.#steps.splice(i, 1);
    };
  }

  /** Runs every registered step, newest first, each once; reports failures and goes on. */
  async runAll(report: (line: string) => void): Promise<void> {
    while (this.#steps.length > 0) {
      const step = this.#steps.pop()!;
      try {
        await step.run();
      } catch (err) {
        report(`cleanup: ${step.what} failed: ${(err as Error).message}`);
      }
    }
  }
}
