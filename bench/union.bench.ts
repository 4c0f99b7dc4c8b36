// The pure core's cost per reconcile: building the desired slices of one production Service from
// its peaks, and comparing them with what is written (the no-op path every resync takes).

import { desiredSlices } from "../src/domain/desired-slices.ts";
import type { Contribution } from "../src/domain/endpoints.ts";
import type { WrittenSlice } from "../src/domain/slice-content-equal.ts";
import { planSliceWrites } from "../src/domain/write-plan.ts";
import { webService } from "../test/support/domain-fixtures.ts";
import type { UnionRow } from "./bench-results.ts";
import { measure, report } from "./measure.ts";

const service = webService;

function contribution(cluster: string, count: number, octet: number): Contribution {
  return {
    cluster,
    groups: [
      {
        addressType: "IPv4",
        ports: [{ name: "http", port: 8080, protocol: "TCP" }],
        endpoints: Array.from({ length: count }, (_, i) => ({
          address: `198.18.${octet + Math.floor(i / 250)}.${(i % 250) + 1}`,
          conditions: { ready: i % 10 !== 0, serving: true, terminating: false },
        })),
      },
    ],
  };
}

/** What the API server would hand back after applying `desired`. */
function asWritten(slices: ReturnType<typeof desiredSlices>["slices"]): WrittenSlice[] {
  return slices.map((s, i) => ({
    ...s,
    uid: `uid-${i}`,
    resourceVersion: String(i + 1),
  })) as WrittenSlice[];
}

export async function run(): Promise<UnionRow[]> {
  const rows: UnionRow[] = [];
  for (const endpoints of [10, 100, 1000, 5000]) {
    const peaks = [
      contribution("public-a", endpoints, 32),
      contribution("public-b", endpoints, 64),
    ];
    const desired = desiredSlices(service, peaks).slices;
    const written = asWritten(desired);
    const build = await measure(() => desiredSlices(service, peaks));
    const noop = await measure(() =>
      planSliceWrites(desiredSlices(service, peaks).slices, written),
    );
    report(`union of 2 peaks × ${endpoints} endpoints (${desired.length} slices)`, [
      ["desiredSlices", build],
      ["desiredSlices + no-op plan", noop],
    ]);
    rows.push({
      endpointsPerPeak: endpoints,
      slices: desired.length,
      desiredSlicesUs: build.medianUs,
      noopPlanUs: noop.medianUs,
    });
  }
  return rows;
}
if (import.meta.main) await run();
