// The workload of a local-cloud pod: an HTTP server in the pod's own network namespace that
// answers every request with its pod name (and cluster), so tests can see who served them.
// `GET /stream?seconds=N` is a long-lived response instead: the same body as a first chunk, then
// one line a second for N seconds (at most 600), then the end.
//
//   node pod-server.ts <pod-name> <cluster-name> <port> [<listen-host>]   (default 0.0.0.0)
import http from "node:http";

const [podName, clusterName, portArg, host = "0.0.0.0"] = process.argv.slice(2);
const port = Number(portArg);
if (!podName || !clusterName || !Number.isInteger(port)) {
  process.stderr.write("usage: pod-server.ts <pod-name> <cluster-name> <port> [<listen-host>]\n");
  process.exit(2);
}

const body = JSON.stringify({ pod: podName, cluster: clusterName });
const server = http.createServer((req, res) => {
  const stream = /^\/stream\?seconds=(\d{1,3})$/.exec(req.url ?? "");
  if (!stream) {
    res.writeHead(200, { "content-type": "application/json", connection: "close" });
    res.end(body);
    return;
  }
  const seconds = Math.min(600, Number(stream[1]));
  res.writeHead(200, { "content-type": "application/x-ndjson", connection: "close" });
  res.write(`${body}\n`);
  let sent = 0;
  const timer = setInterval(() => {
    sent++;
    res.write(`${JSON.stringify({ tick: sent })}\n`);
    if (sent >= seconds) {
      clearInterval(timer);
      res.end();
    }
  }, 1000);
  res.on("close", () => clearInterval(timer));
});
server.listen(port, host, () => process.stdout.write(`serving ${podName} on ${port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
