// The pure core's cost: mirroring one peak slice into production's slices, and the no-op check
// (plan, compare with what is written) that a resync makes for every source.

import { sliceContentEqual, type WrittenSlice } from "../src/domain/slice-content-equal.ts";
import type { Source } from "../src/domain/source.ts";
import { sourceSlices } from "../src/domain/source-slices.ts";
import { webService } from "../test/support/domain-fixtures.ts";
import type { CoreRow } from "./bench-results.ts";
import { measure, report } from "./measure.ts";

function source(name: string, count: number, octet: number): Source {
  return {
    name,
    refused: [],
    group: {
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: Array.from({ length: count }, (_, i) => ({
        address: `198.18.${octet + Math.floor(i / 250)}.${(i % 250) + 1}`,
        conditions: { ready: i % 10 !== 0, serving: true, terminating: false },
      })).sort((a, b) => (a.address < b.address ? -1 : 1)),
    },
  };
}

const plan = (src: Source) =>
  sourceSlices({
    service: webService,
    cluster: "public-a",
    installation: "kubeburst",
    source: src,
    existing: () => undefined,
  });

export async function run(): Promise<CoreRow[]> {
  const rows: CoreRow[] = [];
  for (const endpoints of [10, 100, 1000]) {
    const src = source("web-abc12", endpoints, 32);
    const written = plan(src).slices.map(
      (s, i): WrittenSlice => ({ ...s, uid: `uid-${i}`, resourceVersion: String(i + 1) }),
    );
    const build = await measure(() => plan(src));
    const noop = await measure(() =>
      plan(src).slices.every((s, i) => sliceContentEqual(s, written[i]!)),
    );
    report(`one peak slice of ${endpoints} endpoints (${written.length} slices of ours)`, [
      ["plan", build],
      ["plan + no-op compare", noop],
    ]);
    rows.push({ endpoints, slices: written.length, planUs: build.medianUs, noopUs: noop.medianUs });
  }
  return rows;
}
if (import.meta.main) await run();
