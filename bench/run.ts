// `make bench`: runs every benchmark and prints its figures.
import { run as burstLatency } from "./burst-latency.ts";
import { run as mirror } from "./mirror.bench.ts";

await mirror();
await burstLatency();
