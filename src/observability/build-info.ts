import { readFileSync } from "node:fs";

let cached: { version: string; nodejs: string } | undefined;

/** kubeburst's version (from its package.json) and the Node.js version it runs on. */
export function buildInfo(): { version: string; nodejs: string } {
  if (cached === undefined) {
    const pkg = JSON.parse(
      readFileSync(new URL("../../package.json", import.meta.url), "utf8"),
    ) as { version: string };
    cached = { version: pkg.version, nodejs: process.version };
  }
  return cached;
}
