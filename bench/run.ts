// `make bench`: runs every benchmark and prints its figures.
import { run as union } from "./union.bench.ts";

await union();
