import assert from "node:assert/strict";
import { test } from "node:test";
import { parseCpuTicks, parseStatusBytes, readProcessUsage } from "./process-usage.ts";

test("parseCpuTicks adds utime and stime, even when the command name has spaces and ')'", () => {
  const rest = "S 1 2 3 4 5 6 7 8 9 10 1234 567 0 0 20 0 11 0 99 1000 50";
  assert.equal(parseCpuTicks(`4242 (node) ${rest}`), 1801);
  assert.equal(parseCpuTicks(`4242 (a b) c)) ${rest}`), 1801);
  assert.throws(() => parseCpuTicks("garbage"), /not a \/proc\/<pid>\/stat line/);
  assert.throws(() => parseCpuTicks("1 (x) S 1 2"), /no utime\/stime/);
});

test("parseStatusBytes reads kB lines", () => {
  const status = "Name:\tnode\nVmHWM:\t  204800 kB\nVmRSS:\t  102400 kB\n";
  assert.equal(parseStatusBytes(status, "VmHWM"), 200 * 1024 * 1024);
  assert.equal(parseStatusBytes(status, "VmRSS"), 100 * 1024 * 1024);
  assert.equal(parseStatusBytes(status, "VmSwap"), undefined);
});

test("readProcessUsage reads this process", async () => {
  const usage = await readProcessUsage(process.pid);
  assert.ok(usage.cpuSeconds > 0);
  assert.ok(usage.peakRssBytes >= usage.rssBytes && usage.rssBytes > 0);
});
