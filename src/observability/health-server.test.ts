import assert from "node:assert/strict";
import { createServer } from "node:net";
import { test } from "node:test";
import { ExpectedError } from "./expected-error.ts";
import { listenFailureReason, startHealthServer } from "./health-server.ts";
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
