import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { explainDoc, statusDoc } from "../../test/support/status-fixtures.ts";
import { ExpectedError } from "./expected-error.ts";
import {
  isLoopbackPeer,
  listenFailureReason,
  type StatusSource,
  startHealthServer,
} from "./health-server.ts";
import { Metrics } from "./metrics.ts";

test("listenFailureReason says what to do for each known setup problem", () => {
  const cases: [string | undefined, number, RegExp | undefined][] = [
    ["EADDRINUSE", 9090, /^the address is already in use/],
    ["EACCES", 80, /a port below 1024 needs root or the CAP_NET_BIND_SERVICE capability$/],
    ["EACCES", 9090, /^permission denied$/],
    ["EADDRNOTAVAIL", 9090, /no network interface of this machine has that address/],
    ["ENOTFOUND", 9090, /does not resolve/],
    ["EMFILE", 9090, undefined],
    [undefined, 9090, undefined],
  ];
  for (const [code, port, want] of cases) {
    const reason = listenFailureReason(code, port);
    if (want === undefined) assert.equal(reason, undefined, code);
    else assert.match(reason ?? "", want, code);
  }
});

test("a port already in use is an ExpectedError naming the address, with the code", async () => {
  const taken = createServer();
  await new Promise<void>((resolve) => taken.listen(0, "127.0.0.1", resolve));
  try {
    const address = taken.address();
    assert.ok(address !== null && typeof address === "object");
    await assert.rejects(
      startHealthServer("127.0.0.1", address.port, new Metrics(), () => ({
        ready: true,
        reason: "ok",
      })),
      (err: unknown) => {
        assert.ok(err instanceof ExpectedError);
        assert.equal(err.code, "EADDRINUSE");
        assert.match(
          err.message,
          new RegExp(`^cannot listen on 127.0.0.1:${address.port}: the address is already in use`),
        );
        return true;
      },
    );
  } finally {
    await new Promise<void>((resolve) => taken.close(() => resolve()));
  }
});

test("isLoopbackPeer: only loopback peers, IPv4-mapped ones included", () => {
  const cases: [string | undefined, boolean][] = [
    ["127.0.0.1", true],
    ["127.18.0.5", true],
    ["::1", true],
    ["::ffff:127.0.0.1", true],
    ["198.18.0.1", false],
    ["::ffff:198.18.0.1", false],
    ["2001:2::1", false],
    ["::", false],
    [undefined, false],
  ];
  for (const [address, want] of cases) assert.equal(isLoopbackPeer(address), want, address);
});

test("the status API: versioned JSON documents, errors as documents, off when asked", async () => {
  const source: StatusSource = {
    overview: async () => statusDoc,
    service: async (key) => (key === "shop/web" ? explainDoc : undefined),
  };
  const get = async (address: string, path: string) => {
    const res = await fetch(`http://${address}${path}`, { redirect: "manual" });
    assert.match(res.headers.get("content-type") ?? "", /^application\/json/, path);
    return { status: res.status, doc: (await res.json()) as { kind: string; message?: string } };
  };
  const ready = () => ({ ready: true, reason: "ok" });
  const on = await startHealthServer("127.0.0.1", 0, new Metrics(), ready, {
    source,
    access: "loopback",
  });
  try {
    assert.deepEqual(await get(on.address, "/status/v1"), { status: 200, doc: statusDoc });
    assert.deepEqual(await get(on.address, "/status/v1/services/shop/web"), {
      status: 200,
      doc: explainDoc,
    });
    const unknown = await get(on.address, "/status/v1/services/shop/gone");
    assert.equal(unknown.status, 404);
    assert.equal(unknown.doc.kind, "Error");
    assert.match(unknown.doc.message ?? "", /knows no Service shop\/gone/);
    const bad = await get(on.address, "/status/v1/services/%E0%A4%A/x");
    assert.equal(bad.status, 400);
    const nowhere = await get(on.address, "/status/v1/nothing");
    assert.equal(nowhere.status, 404);
    assert.match(nowhere.doc.message ?? "", /try \/status\/v1/);
  } finally {
    await on.close();
  }
  const failing = await startHealthServer("127.0.0.1", 0, new Metrics(), ready, {
    source: {
      overview: () => Promise.reject(new Error("boom")),
      service: () => Promise.reject(new Error("boom")),
    },
    access: "any",
  });
  try {
    for (const path of ["/status/v1", "/status/v1/services/shop/web"]) {
      const got = await get(failing.address, path);
      assert.equal(got.status, 500, path);
      assert.match(got.doc.message ?? "", /status failed: Error: boom/);
    }
  } finally {
    await failing.close();
  }
  const off = await startHealthServer("127.0.0.1", 0, new Metrics(), ready, {
    source,
    access: "off",
  });
  try {
    const got = await get(off.address, "/status/v1");
    assert.equal(got.status, 404);
    assert.match(got.doc.message ?? "", /the status API is off \(metrics\.statusAPI/);
  } finally {
    await off.close();
  }
});
