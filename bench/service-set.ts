// A growing set of Service pairs for the cold starts: production Service, peak Service and the
// peak's slices (written directly), spread over a few namespaces. Sizes grow by adding to it.
import type { BenchCloud } from "./bench-cloud.ts";
import {
  BENCH_MANAGER,
  KUBEBURST_MANAGER,
  MANAGED_BY_LABEL,
  peakEndpointAddress,
  peakService,
  peakSlice,
  productionService,
  serviceName,
} from "./bench-objects.ts";

/** Endpoints per slice in the peak, as the EndpointSlice controller cuts them. */
const PER_PEAK_SLICE = 100;
/** Endpoints per slice kubeburst writes (its default, 100): what the minimum of writes counts. */
const PER_OUR_SLICE = 100;

export class ServiceSet {
  readonly prefix: string;
  readonly namespaces: string[];
  readonly endpointsPerService: number;
  readonly #bc: BenchCloud;
  #created = 0;
  #namespacesMade = false;

  constructor(bc: BenchCloud, prefix: string, namespaceCount: number, endpointsPerService: number) {
    this.#bc = bc;
    this.prefix = prefix;
    this.namespaces = Array.from({ length: namespaceCount }, (_, i) => `${prefix}-${i}`);
    this.endpointsPerService = endpointsPerService;
  }

  /** How many Service pairs exist. */
  get size(): number {
    return this.#created;
  }

  #namespaceOf(i: number): string {
    return this.namespaces[i % this.namespaces.length]!;
  }

  /** `namespace/name` of the first `n` Services. */
  keys(n: number): string[] {
    return Array.from({ length: n }, (_, i) => `${this.#namespaceOf(i)}/${serviceName(i)}`);
  }

  /** The fewest writes that make production hold `n` Services' peak endpoints: one per slice. */
  minimumWrites(n: number): number {
    return n * Math.ceil(this.endpointsPerService / PER_OUR_SLICE);
  }

  /** Creates Service pairs and peak slices until there are `n`. */
  async ensure(n: number, log: (line: string) => void): Promise<void> {
    if (!this.#namespacesMade) {
      for (const ns of this.namespaces) await this.#bc.ensureNamespace(ns);
      this.#namespacesMade = true;
    }
    if (n <= this.#created) return;
    const started = Date.now();
    const peakIndex = this.#bc.peakIndex;
    const prod: { collection: string; body: object }[] = [];
    const peak: { collection: string; body: object }[] = [];
    for (let i = this.#created; i < n; i++) {
      const ns = this.#namespaceOf(i);
      const name = serviceName(i);
      prod.push({
        collection: `/api/v1/namespaces/${ns}/services`,
        body: productionService(ns, name),
      });
      peak.push({
        collection: `/api/v1/namespaces/${ns}/services`,
        body: peakService(ns, name, false),
      });
      const endpoints = Array.from({ length: this.endpointsPerService }, (_, j) => ({
        address: peakEndpointAddress(peakIndex, i * 7 + j),
        ready: true,
      }));
      for (let start = 0, k = 0; start < endpoints.length; start += PER_PEAK_SLICE, k++) {
        peak.push({
          collection: `/apis/discovery.k8s.io/v1/namespaces/${ns}/endpointslices`,
          body: peakSlice(ns, name, `${name}-${k}`, endpoints.slice(start, start + PER_PEAK_SLICE)),
        });
      }
    }
    await Promise.all([
      this.#bc.createAll(this.#bc.production, prod, 12),
      this.#bc.createAll(this.#bc.peak, peak, 12),
    ]);
    log(
      `${this.prefix}: ${n - this.#created} Service pairs (${this.endpointsPerService} peak endpoints each) created in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    this.#created = n;
  }

  /**
   * Removes the set from both clusters (Services, the peak's slices and kubeburst's), so that a
   * later section's kubeburst does not see it.
   */
  async remove(): Promise<void> {
    const keys = this.keys(this.#created);
    await this.#bc.deleteServices(this.#bc.production, keys);
    await this.#bc.deleteServices(this.#bc.peak, keys);
    await this.deleteOurSlices();
    await this.#bc.deleteSlices(
      this.#bc.peak,
      this.namespaces,
      `${MANAGED_BY_LABEL}=${BENCH_MANAGER}`,
    );
    this.#created = 0;
  }

  /** Deletes kubeburst's slices in the set's namespaces (a cold start begins without them). */
  async deleteOurSlices(): Promise<void> {
    await this.#bc.deleteSlices(
      this.#bc.production,
      this.namespaces,
      `${MANAGED_BY_LABEL}=${KUBEBURST_MANAGER}`,
    );
  }
}
