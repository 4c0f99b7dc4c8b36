import assert from "node:assert/strict";
import { test } from "node:test";
import { KubeApiError } from "../kube/kube-api-error.ts";
import { ExpectedError } from "./expected-error.ts";
import { serializeError } from "./logger.ts";

test("expected failures are logged without a stack; bugs keep theirs", () => {
  const expected = serializeError(
    new ExpectedError("cannot listen on 127.0.0.1:9090: in use", {
      code: "EADDRINUSE",
      cause: new Error("listen EADDRINUSE"),
    }),
  );
  assert.deepEqual(expected, {
    type: "ExpectedError",
    message: "cannot listen on 127.0.0.1:9090: in use",
    code: "EADDRINUSE",
  });
  const api = serializeError(
    new KubeApiError("forbidden", "/api/v1/services: 403 forbidden", {
      status: 403,
      reason: "Forbidden",
    }),
  );
  assert.deepEqual(api, {
    type: "KubeApiError",
    message: "/api/v1/services: 403 forbidden",
    kind: "forbidden",
    status: 403,
    reason: "Forbidden",
  });
  const bug = serializeError(new TypeError("x is undefined")) as { stack?: string; type?: string };
  assert.equal(bug.type, "TypeError");
  assert.match(bug.stack ?? "", /TypeError: x is undefined\n\s+at /);
  assert.equal(serializeError("a string"), "a string");
});
