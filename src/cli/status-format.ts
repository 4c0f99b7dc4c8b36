import type { ServiceStatusView, StatusView } from "./status-client.ts";

/** "3 s ago", "2 min ago", "1 h ago", from two RFC 3339 times. */
export function ago(at: string, now: string): string {
  const s = Math.max(0, (Date.parse(now) - Date.parse(at)) / 1000);
  if (!Number.isFinite(s)) return at;
  if (s < 90) return `${Math.round(s)} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  if (s < 48 * 3600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

/** A duration in seconds, to the unit that reads best: "4.2 ms", "1.3 s". */
export function duration(seconds: number): string {
  if (seconds < 1) return `${(seconds * 1000).toFixed(seconds < 0.01 ? 1 : 0)} ms`;
  return `${seconds.toFixed(seconds < 10 ? 1 : 0)} s`;
}

/** Left-aligned columns, two spaces apart; a column empty in every row is left out. */
export function table(rows: readonly (readonly string[])[]): string[] {
  const widths: number[] = [];
  for (const row of rows) {
    row.forEach((cell, i) => {
      widths[i] = Math.max(widths[i] ?? 0, cell.length);
    });
  }
  return rows.map((row) =>
    row
      .flatMap((cell, i) => ((widths[i] ?? 0) === 0 ? [] : [cell.padEnd(widths[i] ?? 0)]))
      .join("  ")
      .trimEnd(),
  );
}

/** Whether the status says all is well: ready, and no declared cluster failing or withdrawn. */
export function statusHealthy(doc: StatusView): boolean {
  return (
    doc.ready &&
    doc.clusters.every((c) => !c.withdrawn && (c.state === "synced" || c.state === "syncing"))
  );
}

/** `kubeburst status`: readiness, one line per declared cluster and per Service. Pure. */
export function formatStatus(doc: StatusView, address: string): string {
  const now = doc.generatedAt;
  const failing = doc.clusters.filter(
    (c) => c.withdrawn || !["synced", "syncing"].includes(c.state),
  );
  const lines = [
    `kubeburst ${doc.kubeburst.version} at ${address}: ${doc.ready ? "ready" : "NOT READY"} (${doc.reason})`,
    `leader: ${doc.leader ? "yes" : "no (standby)"}; production's own ranges: ${doc.productionRangesKnown ? "known" : "not read yet (no peak endpoint is admitted)"}`,
  ];
  if (failing.length > 0) {
    lines.push(
      `attention: ${failing.map((c) => `${c.name} ${c.withdrawn ? "withdrawn" : c.state}`).join(", ")}`,
    );
  }
  lines.push("", "clusters:");
  lines.push(
    ...table([
      ["  NAME", "ROLE", "STATE", "LAST SYNC", "SERVICES", "ENDPOINTS", "REFUSED", "NOTE"],
      ...doc.clusters.map((c) => [
        `  ${c.name}`,
        c.role + (c.source === "secret" ? " (secret)" : ""),
        c.withdrawn ? `${c.state}, withdrawn` : c.state,
        c.lastSuccessfulSync ? ago(c.lastSuccessfulSync, now) : "never",
        String(c.services),
        c.role === "peak" ? String(c.endpointsSeen) : "-",
        c.role !== "peak"
          ? "-"
          : c.endpointsRefused === 0
            ? "0"
            : Object.entries(c.refusedByReason)
                .sort(([a], [b]) => (a < b ? -1 : 1))
                .map(([reason, n]) => `${reason}=${n}`)
                .join(" "),
        [c.reason, c.endpointsLeftOut > 0 ? `left out (family) ${c.endpointsLeftOut}` : undefined]
          .filter(Boolean)
          .join("; "),
      ]),
    ]),
  );
  lines.push("", "services:");
  if (doc.services.length === 0) lines.push("  (none takes part)");
  else {
    lines.push(
      ...table([
        ["  SERVICE", "PEAKS (ready/admitted, refused)", "WRITTEN", "LAST CHANGE", "POLICY"],
        ...doc.services.map((s) => [
          `  ${s.service}`,
          s.peaks.length === 0
            ? s.production
              ? "none"
              : s.conflicts > 0
                ? "labels conflict"
                : "not a production Service"
            : s.peaks
                .map(
                  (p) =>
                    `${p.cluster} ${p.ready}/${p.endpoints}${p.refused > 0 ? `, ${p.refused} refused` : ""}`,
                )
                .join("; "),
          `${s.written.endpoints} endpoint(s) in ${s.written.slices} slice(s)`,
          lastChangeCell(s, now),
          s.lastWrite?.result === "error"
            ? `write failing: ${s.lastWrite.error ?? ""}`
            : s.policy
              ? `${s.policy.mode}${s.policy.bursting ? " (bursting)" : ""}`
              : "-",
        ]),
      ]),
    );
  }
  lines.push(
    "",
    `writes: ${doc.writes.ok} ok, ${doc.writes.failed} failed; ${doc.writes.noop} reconciles found nothing to do`,
  );
  return lines.join("\n");
}

/** How long the last change took and when; a later write no event was timed for, after it. */
function lastChangeCell(s: StatusView["services"][number], now: string): string {
  const c = s.lastChange;
  const w = s.lastWrite;
  const written = w ? `written ${ago(w.at, now)}` : "-";
  if (!c) return written;
  const change = `${duration(c.propagationSeconds)} from ${c.cluster}, ${ago(c.writtenAt, now)}`;
  return w && Date.parse(w.at) > Date.parse(c.writtenAt) ? `${change}; ${written}` : change;
}

/** `kubeburst explain NAMESPACE/NAME`: everything about one Service, readably. Pure. */
export function formatExplain(doc: ServiceStatusView): string {
  const now = doc.generatedAt;
  const lines = [
    `${doc.service}: ${doc.takesPart ? `takes part (production Service in ${doc.production.cluster})` : `takes no part: ${doc.reason ?? "unknown"}`}`,
    `policy: ${doc.policy ? `${doc.policy.mode}, ${doc.policy.bursting ? "bursting" : "not bursting"}: ${doc.policy.reason}` : "not decided by this replica (a standby decides nothing)"}`,
  ];
  for (const c of doc.conflicts) lines.push(`labels conflict in ${c.cluster}: ${c.reason}`);
  const endpointRows = (eps: ServiceStatusView["peaks"][number]["endpoints"]) =>
    table(
      eps.map((e) => [
        `    ${e.address}`,
        e.ready ? "ready" : "not ready",
        e.serving ? "serving" : "not serving",
        e.terminating ? "terminating" : "",
        `slice ${e.slice}`,
      ]),
    );
  lines.push("");
  const prod = doc.production;
  if (prod.endpoints === null) {
    lines.push(`production ${prod.cluster}: endpoints not read (${prod.readError ?? "unknown"})`);
  } else {
    lines.push(`production ${prod.cluster}: ${prod.endpoints.length} endpoint(s) of its own`);
    lines.push(...endpointRows(prod.endpoints));
  }
  for (const p of doc.peaks) {
    const state = `${p.state}${p.withdrawn ? ", withdrawn" : ""}`;
    lines.push(
      "",
      `peak ${p.cluster} (${state}): ${p.endpoints.length} endpoint(s) admitted, ${p.refused.length} refused${p.counted ? "" : `; not counted: ${p.reason ?? ""}`}`,
    );
    lines.push(...endpointRows(p.endpoints));
    for (const r of p.refused)
      lines.push(`    refused ${r.address}: ${r.reason} (slice ${r.slice})`);
    if (p.truncated) {
      lines.push(
        `    cap: ${p.truncated.kept} kept, ${p.truncated.dropped} left out (maxEndpointsPerService)`,
      );
    }
  }
  if (doc.peaks.length === 0) lines.push("", "peaks: none reports this Service labelled peak");
  lines.push("", `written in ${prod.cluster}: ${doc.written.length} slice(s)`);
  lines.push(
    ...table(
      doc.written.map((w) => [
        `    ${w.name}`,
        w.addressType,
        `${w.ready}/${w.endpoints} ready`,
        `mirrors ${w.cluster}`,
      ]),
    ),
  );
  lines.push("");
  const w = doc.lastWrite;
  lines.push(
    w
      ? `last write: ${w.result === "ok" ? "ok" : `FAILED (${w.error ?? ""})`}, ${w.at} (${ago(w.at, now)})`
      : "last write: none by this process",
  );
  const c = doc.lastChange;
  lines.push(
    c
      ? `last change: from ${c.cluster}, event arrived ${c.observedAt}, written ${c.writtenAt}: ${duration(c.propagationSeconds)}`
      : "last change: none written by this process",
  );
  return lines.join("\n");
}
