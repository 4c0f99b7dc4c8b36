// Preloaded with `node --import` by tests that check what a process loads: appends the URL of
// every module it loads (ESM and CommonJS, once each) to the file named by
// KUBEBURST_TEST_MODULE_LOG, as it happens, so the list is complete however the process ends.
import { appendFileSync } from "node:fs";
import { registerHooks } from "node:module";

const log = process.env.KUBEBURST_TEST_MODULE_LOG;
const seen = new Set<string>();

if (log !== undefined && log !== "") {
  registerHooks({
    load(url, context, nextLoad) {
      if (!seen.has(url)) {
        seen.add(url);
        appendFileSync(log, `${url}\n`);
      }
      return nextLoad(url, context);
    },
  });
}
