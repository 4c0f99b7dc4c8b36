// Section 5: writes per endpoint change in one large Service. The peak holds `endpoints`
// endpoints in slices of 100 (written by the benchmark); each step changes one endpoint and
// counts kubeburst's writes until it is quiet again. Then a no-op resync.
import { performance } from "node:perf_hooks";
import { podAddress } from "../src/localcloud/address-plan.ts";
import {
  KUBEBURST_MANAGER,
  MANAGED_BY_LABEL,
  type PeakEndpoint,
  peakService,
  peakSlice,
  productionService,
} from "./bench-objects.ts";
import type { SteadyResult, SteadyStep } from "./bench-results.ts";
import { type BenchContext, until } from "./cold-start.ts";
import { KubeburstUnderTest } from "./kubeburst-under-test.ts";
import { measureResync } from "./resync.ts";
import { SliceView } from "./slice-view.ts";

const NAMESPACE = "bench-steady";
const SERVICE = "big";
const KEY = `${NAMESPACE}/${SERVICE}`;
const PER_SLICE = 100;

export async function runSteadySection(
  ctx: BenchContext,
  endpoints: number,
  resyncPeriodSeconds: number,
): Promise<SteadyResult> {
  const { bc, cleanup, log } = ctx;
  const peakIndex = bc.peakIndex;
  // Pod addresses 198.18.(16p+1..).x; the one added "first" sorts before all of them both as
  // text and as a number: 198.18.(16p).1.
  const peak: PeakEndpoint[][] = [];
  for (let start = 0; start < endpoints; start += PER_SLICE) {
    peak.push(
      Array.from({ length: Math.min(PER_SLICE, endpoints - start) }, (_, j) => ({
        address: podAddress(peakIndex, (start + j) % 3000),
        ready: true,
      })),
    );
  }
  const first = `198.18.${16 * peakIndex}.1`;
  const sliceName = (i: number) => `${SERVICE}-${i}`;
  const applyPeakSlice = (i: number) =>
    bc.peak.request({
      method: "PATCH",
      path: `/apis/discovery.k8s.io/v1/namespaces/${NAMESPACE}/endpointslices/${sliceName(i)}`,
      query: { fieldManager: "kubeburst-bench", force: true },
      contentType: "application/apply-patch+yaml",
      body: peakSlice(NAMESPACE, SERVICE, sliceName(i), peak[i]!),
    });

  await bc.ensureNamespace(NAMESPACE);
  await bc.production.request({
    method: "POST",
    path: `/api/v1/namespaces/${NAMESPACE}/services`,
    body: productionService(NAMESPACE, SERVICE),
  });
  await bc.peak.request({
    method: "POST",
    path: `/api/v1/namespaces/${NAMESPACE}/services`,
    body: peakService(NAMESPACE, SERVICE, false),
  });
  for (let i = 0; i < peak.length; i++) await applyPeakSlice(i);

  const view = new SliceView(bc.production, `${MANAGED_BY_LABEL}=${KUBEBURST_MANAGER}`, NAMESPACE);
  const unregisterView = cleanup.add("steady slice watch", () => view.close());
  const config = await bc.writeConfig("kubeburst-steady", { resyncPeriodSeconds });
  const kb = await KubeburstUnderTest.start(config, bc.dir, "kubeburst-steady");
  const unregisterKb = cleanup.add("kubeburst-steady", () => kb.stop());
  try {
    await view.start();
    await until("steady Service converged", () => view.endpointCount(KEY) === endpoints, 120_000);
    const initial = await kb.waitQuiet();
    const slices = view.slicesOf(KEY).length;
    log(`steady: ${endpoints} endpoints in ${slices} slices after ${initial.writes} writes`);

    const step = async (
      change: string,
      mutate: () => Promise<void>,
      shown: () => boolean,
    ): Promise<SteadyStep> => {
      const before = await kb.waitQuiet();
      const t0 = performance.now();
      await mutate();
      await until(`steady: ${change} reached production`, shown, 60_000);
      const seconds = (performance.now() - t0) / 1000;
      const after = await kb.waitQuiet();
      const writes =
        after.writes === undefined || before.writes === undefined
          ? undefined
          : after.writes - before.writes;
      log(`steady: ${change}: ${writes ?? "?"} writes`);
      return { change, ...(writes === undefined ? {} : { writes }), seconds };
    };

    const steps: SteadyStep[] = [];
    const middle = Math.floor(peak.length / 2);
    const flipped = peak[middle]![0]!;
    steps.push(
      await step(
        "one endpoint turns not ready",
        async () => {
          flipped.ready = false;
          await applyPeakSlice(middle);
        },
        () => view.readyOf(KEY, flipped.address) !== true,
      ),
    );
    steps.push(
      await step(
        "one endpoint added that sorts first",
        async () => {
          peak[0]!.unshift({ address: first, ready: true });
          await applyPeakSlice(0);
        },
        () => view.readyOf(KEY, first) === true,
      ),
    );
    // From the middle of the address order, like the other two changes: where a change lands
    // in the order is what decides how many slices a sorted layout has to rewrite.
    const victim = peak[middle]![Math.floor(peak[middle]!.length / 2)]!;
    steps.push(
      await step(
        "one endpoint removed",
        async () => {
          peak[middle]!.splice(peak[middle]!.indexOf(victim), 1);
          await applyPeakSlice(middle);
        },
        () => view.readyOf(KEY, victim.address) === undefined,
      ),
    );
    log(`steady: waiting for a resync (resyncPeriod ${resyncPeriodSeconds} s)`);
    const resync = await measureResync(kb, 1, resyncPeriodSeconds);
    log(`steady: resync observed=${resync.observed}, writes ${resync.writes ?? "?"}`);
    return {
      endpoints,
      slices,
      ...(initial.writes === undefined ? {} : { initialWrites: initial.writes }),
      steps,
      resync,
    };
  } finally {
    await kb.stop();
    unregisterKb();
    await view.close();
    unregisterView();
    await bc.deleteServices(bc.production, [KEY]);
    await bc.deleteServices(bc.peak, [KEY]);
    await bc.deleteSlices(bc.production, [NAMESPACE], `${MANAGED_BY_LABEL}=${KUBEBURST_MANAGER}`);
    await bc.deleteSlices(bc.peak, [NAMESPACE], "kubernetes.io/service-name");
  }
}
