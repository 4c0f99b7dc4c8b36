import { formatConfigErrors, loadConfigFile } from "../config/load-config.ts";

/** One sample of a Prometheus text exposition: name, labels, value. */
interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text format lines (`name{a="b"} 1`); comments and junk are skipped. */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split("\n")) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      if (key !== undefined && value !== undefined) labels[key] = value;
    }
    const value = Number(m[3]);
    if (!Number.isNaN(value)) samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

/** The status report of a running kubeburst, from its metrics (pure). */
export function formatStatus(ready: { status: number; text: string }, samples: Sample[]): string {
  const lines = [`ready: ${ready.status === 200 ? "yes" : `no (${ready.text.trim()})`}`];
  const of = (name: string) => samples.filter((s) => s.name === name);
  const leader = of("kubeburst_leader")[0];
  if (leader) lines.push(`leader: ${leader.value === 1 ? "yes" : "no (standby)"}`);
  const ranges = of("kubeburst_production_ranges_known")[0];
  if (ranges) {
    lines.push(
      `production's own ranges: ${ranges.value === 1 ? "known" : "not read yet (no peak endpoint is admitted)"}`,
    );
  }
  const clusters = new Map<
    string,
    { state: string; withdrawn: boolean; refused: string[]; leftOut: string[] }
  >();
  const entry = (c: string | undefined) => {
    const name = c ?? "?";
    let e = clusters.get(name);
    if (!e) {
      e = { state: "unknown", withdrawn: false, refused: [], leftOut: [] };
      clusters.set(name, e);
    }
    return e;
  };
  for (const s of of("kubeburst_cluster_state")) {
    if (s.value === 1) entry(s.labels.cluster).state = s.labels.state ?? "unknown";
  }
  for (const s of of("kubeburst_cluster_withdrawn")) {
    entry(s.labels.cluster).withdrawn = s.value === 1;
  }
  for (const s of of("kubeburst_refused_endpoints")) {
    if (s.value > 0) entry(s.labels.cluster).refused.push(`${s.labels.reason}=${s.value}`);
  }
  for (const s of of("kubeburst_left_out_endpoints")) {
    if (s.value > 0) entry(s.labels.cluster).leftOut.push(`${s.labels.reason}=${s.value}`);
  }
  for (const [name, e] of [...clusters].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const parts = [`${name}: ${e.state}`];
    if (e.withdrawn) parts.push("endpoints withdrawn (failed for longer than staleTTL)");
    if (e.refused.length > 0) parts.push(`refused ${e.refused.sort().join(" ")}`);
    if (e.leftOut.length > 0) parts.push(`left out ${e.leftOut.sort().join(" ")}`);
    lines.push(`  ${parts.join(", ")}`);
  }
  const sum = (name: string, labels: Record<string, string> = {}) =>
    of(name)
      .filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))
      .reduce((n, s) => n + s.value, 0);
  lines.push(
    `writes: ${sum("kubeburst_writer_writes_total", { result: "ok" })} ok, ${sum("kubeburst_writer_writes_total", { result: "error" })} failed; ${sum("kubeburst_writer_noop_syncs_total")} reconciles found nothing to do`,
    `queues: input ${sum("kubeburst_queue_depth", { queue: "input" })}, write ${sum("kubeburst_queue_depth", { queue: "write" })}`,
  );
  return lines.join("\n");
}

/**
 * `kubeburst status`: asks a running kubeburst (at `metrics.address` of the config, or
 * `address`) whether it is ready, and prints each cluster's state, withdrawn peaks, refused
 * endpoints and write counts. Exit 0 when ready, 1 when not or unreachable, 2 on a bad config.
 */
export async function statusCommand(opts: { config?: string; address?: string }): Promise<number> {
  let address = opts.address;
  if (!address) {
    if (!opts.config) {
      process.stderr.write(
        "status: give --config FILE (its metrics.address is asked) or --address HOST:PORT\n",
      );
      return 2;
    }
    const loaded = await loadConfigFile(opts.config);
    if (!loaded.ok) {
      process.stderr.write(`${formatConfigErrors(loaded.errors)}\n`);
      return 2;
    }
    const m = loaded.config.metrics;
    if (!m.enabled || m.port === 0) {
      process.stderr.write(
        `status: metrics.address is ${m.enabled ? "port 0 (a random port)" : "off"} in ${opts.config}; pass --address HOST:PORT from kubeburst's log line "serving /metrics"\n`,
      );
      return 2;
    }
    const host = m.host === "" ? "127.0.0.1" : m.host.includes(":") ? `[${m.host}]` : m.host;
    address = `${host}:${m.port}`;
  }
  try {
    const get = async (path: string) => {
      const res = await fetch(`http://${address}${path}`, { signal: AbortSignal.timeout(5_000) });
      return { status: res.status, text: await res.text() };
    };
    const ready = await get("/readyz");
    const metrics = await get("/metrics");
    process.stdout.write(`${formatStatus(ready, parseMetrics(metrics.text))}\n`);
    return ready.status === 200 ? 0 : 1;
  } catch (err) {
    process.stderr.write(
      `status: no kubeburst answers at ${address} (${err instanceof Error ? err.message : String(err)}); is it running?\n`,
    );
    return 1;
  }
}
