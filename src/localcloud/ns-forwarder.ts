// Runs inside a node's network namespace (started with `ip netns exec`): accepts TCP on the
// namespace's own loopback and pipes each connection to a Unix socket, which the local cloud
// serves from the host namespace towards the API server. Unix sockets are not namespaced, so
// kube-proxy reaches its API server without any address outside the test's namespaces.
//
//   node ns-forwarder.ts <listen-port> <unix-socket-path>
import net from "node:net";

const [portArg, socketPath] = process.argv.slice(2);
const port = Number(portArg);
if (!Number.isInteger(port) || !socketPath) {
  process.stderr.write("usage: ns-forwarder.ts <listen-port> <unix-socket-path>\n");
  process.exit(2);
}

const server = net.createServer((client) => {
  const upstream = net.connect(socketPath);
  client.pipe(upstream).pipe(client);
  const close = () => {
    client.destroy();
    upstream.destroy();
  };
  client.on("error", close);
  upstream.on("error", close);
});
server.listen(port, "127.0.0.1", () => process.stdout.write(`forwarding 127.0.0.1:${port}\n`));
process.on("SIGTERM", () => process.exit(0));
