// Sends HTTP GETs to a URL, each on a new connection, from inside a node's network namespace so
// that requests go through that node's kube-proxy rules.
//
//   node http-probe.ts <url> <count>        N requests, then one line:
//                                           {"byPod": {"cluster/pod": n}, "failed": n}
//   node http-probe.ts <url> stream <rps>   requests until killed, at most <rps> a second, one
//                                           line each: {"at": <ms since epoch>, "who": "cluster/pod" | null}
//   node http-probe.ts <url> long           one long-lived request (a /stream URL): a line
//                                           {"who": "cluster/pod" | null} once it answers, then
//                                           {"lines": n, "complete": bool} when it ends
import http from "node:http";

const [url, countArg, rpsArg] = process.argv.slice(2);
const stream = countArg === "stream";
const long = countArg === "long";
const count = Number(countArg);
const rps = Number(rpsArg);
if (!url || (stream ? !(rps > 0) : !long && (!Number.isInteger(count) || count < 1))) {
  process.stderr.write("usage: http-probe.ts <url> <count> | http-probe.ts <url> stream <rps>\n");
  process.exit(2);
}

const agent = new http.Agent({ keepAlive: false });
function once(): Promise<string | undefined> {
  return new Promise((resolve) => {
    const req = http.get(url!, { agent, timeout: 2_000 }, (res) => {
      let body = "";
      res.on("data", (c) => {
        body += c;
      });
      res.on("end", () => {
        try {
          const parsed = JSON.parse(body) as { pod: string; cluster: string };
          resolve(`${parsed.cluster}/${parsed.pod}`);
        } catch {
          resolve(undefined);
        }
      });
    });
    req.on("timeout", () => req.destroy());
    req.on("error", () => resolve(undefined));
  });
}

if (long) {
  process.on("SIGTERM", () => process.exit(0));
  const req = http.get(url, { agent }, (res) => {
    let buffered = "";
    let lines = 0;
    res.setEncoding("utf8");
    res.on("data", (chunk: string) => {
      buffered += chunk;
      let nl = buffered.indexOf("\n");
      while (nl >= 0) {
        const line = buffered.slice(0, nl);
        buffered = buffered.slice(nl + 1);
        if (lines++ === 0) {
          const first = JSON.parse(line) as { pod: string; cluster: string };
          process.stdout.write(`${JSON.stringify({ who: `${first.cluster}/${first.pod}` })}\n`);
        }
        nl = buffered.indexOf("\n");
      }
    });
    res.on("end", () => {
      process.stdout.write(`${JSON.stringify({ lines, complete: true })}\n`);
      process.exit(0);
    });
    res.on("error", () => {
      process.stdout.write(`${JSON.stringify({ lines, complete: false })}\n`);
      process.exit(0);
    });
  });
  req.on("error", () => {
    process.stdout.write(`${JSON.stringify({ who: null })}\n`);
    process.stdout.write(`${JSON.stringify({ lines: 0, complete: false })}\n`);
    process.exit(0);
  });
} else if (stream) {
  process.on("SIGTERM", () => process.exit(0));
  const gapMs = 1000 / rps;
  for (;;) {
    const started = Date.now();
    const who = await once();
    process.stdout.write(`${JSON.stringify({ at: Date.now(), who: who ?? null })}\n`);
    const wait = gapMs - (Date.now() - started);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  }
}

if (!long) {
  const byPod: Record<string, number> = {};
  let failed = 0;
  for (let i = 0; i < count; i++) {
    const who = await once();
    if (who === undefined) failed++;
    else byPod[who] = (byPod[who] ?? 0) + 1;
  }
  process.stdout.write(`${JSON.stringify({ byPod, failed })}\n`);
}
