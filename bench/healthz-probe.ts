// A separate process that asks kubeburst's /healthz every 100 ms, each probe after the previous
// one answered (or gave up after 120 s), and prints two lines per probe: {"sent": <ms since
// epoch>} as it goes out, then {"sent", "ms": <response time>, "ok": <200?>}.
// A blocked event loop in kubeburst shows as a slow answer. Being its own process, the probe
// is not held up by the benchmark's own work.
//
//   node healthz-probe.ts <url> [intervalMs]
import http from "node:http";
import { performance } from "node:perf_hooks";

const [url, intervalArg] = process.argv.slice(2);
const intervalMs = Number(intervalArg ?? 100);
if (!url || !(intervalMs > 0)) {
  process.stderr.write("usage: healthz-probe.ts <url> [intervalMs]\n");
  process.exit(2);
}
process.on("SIGTERM", () => process.exit(0));

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
function probe(): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get(url!, { agent, timeout: 120_000 }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode === 200));
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(false));
  });
}

for (;;) {
  const sent = Date.now();
  process.stdout.write(`${JSON.stringify({ sent })}\n`);
  const t0 = performance.now();
  const ok = await probe();
  const ms = performance.now() - t0;
  process.stdout.write(`${JSON.stringify({ sent, ms: Math.round(ms * 10) / 10, ok })}\n`);
  const wait = intervalMs - ms;
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
