import assert from "node:assert/strict";
import { test } from "node:test";
import { errorFromStatus, kindFromStatus, parseRetryAfter } from "./kube-api-error.ts";

test("kindFromStatus classifies by status, reason and cause type", () => {
  const cases = [
    { status: 404, reason: "NotFound", causes: [], want: "not-found" },
    { status: 409, reason: "AlreadyExists", causes: [], want: "already-exists" },
    { status: 409, reason: "Conflict", causes: [], want: "conflict" },
    { status: 410, reason: "Expired", causes: [], want: "gone" },
    { status: 410, reason: "Gone", causes: [], want: "gone" },
    // An in-stream ERROR without a code still says Expired.
    { status: 0, reason: "Expired", causes: [], want: "gone" },
    { status: 401, reason: "Unauthorized", causes: [], want: "unauthorized" },
    { status: 403, reason: "Forbidden", causes: [], want: "forbidden" },
    { status: 422, reason: "Invalid", causes: [], want: "invalid" },
    { status: 429, reason: "TooManyRequests", causes: [], want: "too-many-requests" },
    { status: 504, reason: "Timeout", causes: [], want: "timeout" },
    {
      status: 504,
      reason: "Timeout",
      causes: ["ResourceVersionTooLarge"],
      want: "resource-version-too-large",
    },
    // The cause alone does not make it: it must be a Timeout Status.
    {
      status: 500,
      reason: "InternalError",
      causes: ["ResourceVersionTooLarge"],
      want: "server-error",
    },
    { status: 503, reason: "ServiceUnavailable", causes: [], want: "server-error" },
  ] as const;
  for (const { status, reason, causes, want } of cases) {
    assert.equal(kindFromStatus(status, reason, causes), want, `${status} ${reason} ${causes}`);
  }
});

test("errorFromStatus reads the API server's too-large resourceVersion Status", () => {
  // The shape kube-apiserver sends (storage.NewTooLargeResourceVersionError).
  const body = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message: "Timeout: Too large resource version: 900, current: 12",
    reason: "Timeout",
    details: {
      causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
      retryAfterSeconds: 1,
    },
    code: 504,
  };
  const err = errorFromStatus("/api/v1/pods", 504, body);
  assert.equal(err.kind, "resource-version-too-large");
  assert.equal(err.status, 504);
  assert.equal(err.retryAfterSeconds, 1);
  const plain = errorFromStatus("/api/v1/pods", 504, { ...body, details: {} });
  assert.equal(plain.kind, "timeout", "a Timeout without that cause is a timeout");
});

test("errorFromStatus takes the code from an in-stream ERROR's Status", () => {
  const err = errorFromStatus("watch /api/v1/pods", 0, {
    kind: "Status",
    code: 410,
    reason: "Expired",
    message: "too old resource version: 5 (90)",
  });
  assert.equal(err.kind, "gone");
  assert.equal(err.status, 410);
  assert.equal(err.reason, "Expired");
  assert.match(err.message, /too old resource version/);
});

test("errorFromStatus keeps a body that is not a Status as text", () => {
  const err = errorFromStatus("/api", 502, "<html>bad gateway</html>");
  assert.equal(err.kind, "server-error");
  assert.equal(err.reason, undefined);
  assert.match(err.message, /502 <html>bad gateway/);
});

test("Retry-After: header wins over the Status's retryAfterSeconds", () => {
  const body = { code: 429, reason: "TooManyRequests", details: { retryAfterSeconds: 3 } };
  assert.equal(errorFromStatus("/x", 429, body).retryAfterSeconds, 3);
  assert.equal(errorFromStatus("/x", 429, body, "7").retryAfterSeconds, 7);
  assert.equal(errorFromStatus("/x", 429, {}).retryAfterSeconds, undefined);
});

test("parseRetryAfter reads seconds and HTTP dates", () => {
  const now = Date.parse("2026-11-28T12:00:00Z");
  const cases = [
    { value: undefined, want: undefined },
    { value: "0", want: 0 },
    { value: " 12 ", want: 12 },
    { value: "Sat, 28 Nov 2026 12:00:30 GMT", want: 30 },
    { value: "Sat, 28 Nov 2026 11:00:00 GMT", want: 0 },
    { value: "-5", want: undefined },
    { value: "soon", want: undefined },
  ];
  for (const { value, want } of cases) assert.equal(parseRetryAfter(value, now), want, value);
});
