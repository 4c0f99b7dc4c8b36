#!/usr/bin/env node
// Entry point of the `kubeburst` command. In a clone it runs the TypeScript sources directly
// (Node 24 strips the types); an installed package runs the JavaScript built by `npm pack`.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";

const major = Number(process.versions.node.split(".")[0]);
if (major < 24) {
  process.stderr.write(
    `kubeburst needs Node.js 24 or newer (this is ${process.version}). In a clone, run it as 'npx kubeburst' after 'make'; elsewhere install Node.js 24.\n`,
  );
  process.exit(1);
}

const built = new URL("../dist/cli/cli.js", import.meta.url);
const source = new URL("../src/cli/cli.ts", import.meta.url);
const insideNodeModules = fileURLToPath(import.meta.url).includes("/node_modules/");
const entry = insideNodeModules || !existsSync(fileURLToPath(source)) ? built : source;
const { main } = await import(entry.href);
process.exitCode = await main(process.argv.slice(2));
