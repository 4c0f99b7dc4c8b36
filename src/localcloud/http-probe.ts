// Sends N HTTP GETs to a URL, each on a new connection, and prints how many each pod answered
// as JSON: {"byPod": {"cluster/pod": n}, "failed": n}. Run inside a node's network namespace so
// requests go through that node's kube-proxy rules.
//
//   node http-probe.ts <url> <count>
import http from "node:http";

const [url, countArg] = process.argv.slice(2);
const count = Number(countArg);
if (!url || !Number.isInteger(count) || count < 1) {
  process.stderr.write("usage: http-probe.ts <url> <count>\n");
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

const byPod: Record<string, number> = {};
let failed = 0;
for (let i = 0; i < count; i++) {
  const who = await once();
  if (who === undefined) failed++;
  else byPod[who] = (byPod[who] ?? 0) + 1;
}
process.stdout.write(`${JSON.stringify({ byPod, failed })}\n`);
