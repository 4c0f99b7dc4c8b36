/**
 * Runs every teardown step in order, each even when an earlier one failed (a test that failed
 * must still stop its processes and delete its namespaces and folders), then throws all the
 * failures together.
 */
export async function cleanUp(steps: readonly (() => Promise<unknown> | unknown)[]): Promise<void> {
  const errors: unknown[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (err) {
      errors.push(err);
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, "teardown was incomplete");
}
