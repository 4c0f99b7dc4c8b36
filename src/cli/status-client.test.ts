import assert from "node:assert/strict";
import { createServer, type RequestListener } from "node:http";
import type { AddressInfo } from "node:net";
import { test } from "node:test";
import { explainDoc } from "../../test/support/status-fixtures.ts";
import { STATUS_API_VERSION } from "../observability/status-model.ts";
import { fetchStatus, STATUS_MAX_BYTES, serviceStatusSchema } from "./status-client.ts";

/** A server on loopback answering every request with `handler`; closed after `body`. */
async function withServer(handler: RequestListener, body: (address: string) => Promise<void>) {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    await body(`127.0.0.1:${(server.address() as AddressInfo).port}`);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

const json =
  (code: number, doc: unknown): RequestListener =>
  (_req, res) => {
    res.writeHead(code, { "content-type": "application/json" }).end(JSON.stringify(doc));
  };

test("fetchStatus tells kubeburst's answer from any other server's", async () => {
  const cases: [string, RequestListener, RegExp][] = [
    [
      "random bytes with 200",
      (_q, r) =>
        r.writeHead(200, { "content-type": "application/octet-stream" }).end(Buffer.alloc(64, 7)),
      /is not kubeburst's status API \(HTTP 200, content type "application\/octet-stream"/,
    ],
    [
      "a web page",
      (_q, r) => r.writeHead(200, { "content-type": "text/html" }).end("<html>hi</html>"),
      /not kubeburst's status API .*"text\/html"/,
    ],
    [
      "a redirect",
      (_q, r) => r.writeHead(302, { location: "http://127.0.0.1:1/" }).end(),
      /answers 302 with a redirect, which is not followed/,
    ],
    [
      "JSON that is not a status document",
      json(200, { status: "ok" }),
      /apiVersion: .*want apiVersion kubeburst\.io\/status\/v1/,
    ],
    [
      "JSON of another version",
      json(200, { ...explainDoc, apiVersion: "kubeburst.io/status/v9" }),
      /apiVersion/,
    ],
    [
      "not JSON at all",
      (_q, r) => r.writeHead(200, { "content-type": "application/json" }).end("{"),
      /not valid JSON/,
    ],
    [
      "an Error document",
      json(404, {
        apiVersion: STATUS_API_VERSION,
        kind: "Error",
        code: 404,
        message: "kubeburst knows no Service a/b",
      }),
      /^kubeburst knows no Service a\/b$/,
    ],
  ];
  for (const [name, handler, want] of cases) {
    await withServer(handler, async (address) => {
      const got = await fetchStatus(address, "/status/v1/services/shop/web", serviceStatusSchema);
      assert.equal(got.ok, false, name);
      assert.match(got.ok ? "" : got.message, want, name);
    });
  }
});

test("fetchStatus reads no more than its bound of an endless answer", async () => {
  let sent = 0;
  await withServer(
    (_q, res) => {
      res.writeHead(200, { "content-type": "application/json" });
      const chunk = Buffer.alloc(1024 * 1024, 0x20);
      const more = () => {
        while (sent <= STATUS_MAX_BYTES * 4 && res.write(chunk)) sent += chunk.length;
        if (sent <= STATUS_MAX_BYTES * 4) res.once("drain", more);
        else res.end();
      };
      more();
    },
    async (address) => {
      const got = await fetchStatus(address, "/status/v1", serviceStatusSchema);
      assert.equal(got.ok, false);
      assert.match(got.ok ? "" : got.message, /longer than 33554432 bytes/);
      assert.ok(sent < STATUS_MAX_BYTES * 4, `the client stopped reading (server wrote ${sent})`);
    },
  );
});

test("fetchStatus: nobody listening says so", async () => {
  // A port that was just free: bound, then closed.
  let address = "";
  await withServer(json(200, {}), async (a) => {
    address = a;
  });
  const got = await fetchStatus(address, "/status/v1", serviceStatusSchema);
  assert.equal(got.ok, false);
  assert.match(
    got.ok ? "" : got.message,
    /^no kubeburst answers at 127\.0\.0\.1:\d+ .*ECONNREFUSED/,
  );
});

test("fetchStatus returns a valid document and its text", async () => {
  await withServer(json(200, explainDoc), async (address) => {
    const got = await fetchStatus(address, "/status/v1/services/shop/web", serviceStatusSchema);
    assert.ok(got.ok, got.ok ? "" : got.message);
    assert.equal(got.doc.service, "shop/web");
    assert.deepEqual(JSON.parse(got.text), explainDoc);
  });
});
