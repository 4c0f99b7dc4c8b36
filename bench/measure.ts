// A tiny benchmark harness: warm up, then time batches until enough wall time has passed, and
// report the median time per call. Figures, never assertions.
import { performance } from "node:perf_hooks";

export interface Measurement {
  /** Median of the batch means, microseconds per call. */
  medianUs: number;
  calls: number;
}

export async function measure(f: () => unknown, minMs = 300): Promise<Measurement> {
  for (let i = 0; i < 20; i++) f();
  let batch = 1;
  const means: number[] = [];
  let calls = 0;
  const started = performance.now();
  while (performance.now() - started < minMs || means.length < 5) {
    const t0 = performance.now();
    for (let i = 0; i < batch; i++) f();
    const elapsed = performance.now() - t0;
    means.push((elapsed * 1000) / batch);
    calls += batch;
    if (elapsed < 5) batch *= 2;
  }
  means.sort((a, b) => a - b);
  return { medianUs: means[Math.floor(means.length / 2)]!, calls };
}

export function report(title: string, rows: [string, Measurement][]): void {
  process.stdout.write(`${title}\n`);
  const base = rows[0]?.[1].medianUs ?? 1;
  for (const [name, m] of rows) {
    const ratio = (m.medianUs / base).toFixed(2);
    process.stdout.write(
      `  ${name.padEnd(32)} ${m.medianUs.toFixed(1).padStart(10)} µs/call  ×${ratio}  (${m.calls} calls)\n`,
    );
  }
}
