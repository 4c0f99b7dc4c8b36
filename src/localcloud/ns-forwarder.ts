// Runs inside a node's network namespace (started with `ip netns exec`) and joins that
// namespace's loopback to a Unix socket; Unix sockets are not namespaced, so the host and the
// namespace talk without any address outside the test's namespaces.
//
//   node ns-forwarder.ts <listen-port> <unix-socket-path> [<listen-address>]
//     accepts TCP on the namespace's 127.0.0.1:<listen-port> (or <listen-address>) and pipes each
//     connection to the Unix socket (served from the host namespace towards an API server): how
//     kube-proxy, or a kubeburst running in the namespace, reaches its API servers, and how pods
//     reach one exposed on the fabric.
//   node ns-forwarder.ts --to-tcp <unix-socket-path> <port>
//     listens on the Unix socket and pipes each connection to the namespace's 127.0.0.1:<port>:
//     how a test on the host reads the metrics of a kubeburst running in the namespace.
import net from "node:net";

const args = process.argv.slice(2);
const toTcp = args[0] === "--to-tcp";
const [a, b, listenAddress = "127.0.0.1"] = toTcp ? args.slice(1) : args;
const port = Number(toTcp ? b : a);
const socketPath = toTcp ? a : b;
if (!Number.isInteger(port) || !socketPath) {
  process.stderr.write(
    "usage: ns-forwarder.ts <listen-port> <unix-socket-path> | --to-tcp <unix-socket-path> <port>\n",
  );
  process.exit(2);
}

const server = net.createServer((client) => {
  const upstream = toTcp ? net.connect(port, "127.0.0.1") : net.connect(socketPath);
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", close);
  upstream.on("error", close);
});
if (toTcp) {
  server.listen(socketPath, () => process.stdout.write(`forwarding ${socketPath}\n`));
} else {
  server.listen(port, listenAddress, () =>
    process.stdout.write(`forwarding ${listenAddress}:${port}\n`),
  );
}
process.on("SIGTERM", () => process.exit(0));
