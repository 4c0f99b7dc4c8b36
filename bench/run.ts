// `make bench`: runs every benchmark and prints its figures.
import { run as burstLatency } from "./burst-latency.ts";
import { run as union } from "./union.bench.ts";

await union();
await burstLatency();
