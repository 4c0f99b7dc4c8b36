// The workload of a local-cloud pod: an HTTP server in the pod's own network namespace that
// answers every request with its pod name (and cluster), so tests can see who served them.
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
const server = http.createServer((_req, res) => {
  res.writeHead(200, { "content-type": "application/json", connection: "close" });
  res.end(body);
});
server.listen(port, host, () => process.stdout.write(`serving ${podName} on ${port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
