// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parseListenAddress } from "./listen-address.ts";

test("parseListenAddress reads host:port or off", () => {
  const cases = [
    ["127.0.0.1:9090", { enabled: true, host: "127.0.0.1", port: 9090 }],
    ["[::1]:9090", { enabled: true, host: "::1", port: 9090 }],
    ["localhost:80", { enabled: true, host: "localhost", port: 80 }],
    [":9090", { enabled: true, host: "", port: 9090 }],
    ["0.0.0.0:0", { enabled: true, host: "0.0.0.0", port: 0 }],
    ["off", { enabled: false }],
  ] as const;
  for (const [text, address] of cases) {
    assert.deepEqual(parseListenAddress(text), { ok: true, address }, text);
  }
});

test("parseListenAddress refuses bad addresses", () => {
  const cases: [string, RegExp][] = [
    ["", /^empty; write host:port, e.g. "127.0.0.1:9090", or "off" to turn the server off$/],
    [" ", /^empty;/],
    [
      "http://127.0.0.1:9090",
      /^"http:\/\/127.0.0.1:9090" is a URL; write HOST:PORT without a scheme or path, e.g. "127.0.0.1:9090"$/,
    ],
    ["https://[::1]:9090/metrics", /is a URL; write HOST:PORT/],
    ["OFF", /has no port/],
    ["9090", /has no port/],
    ["localhost", /has no port/],
    ["::1:9090", /put an IPv6 host in brackets/],
    ["[10.0.0.1]:80", /in brackets is not an IPv6 address/],
    ["127.0.0.1:65536", /port "65536" is not a number from 0 to 65535/],
    ["127.0.0.1:http", /port "http"/],
    ["127.0.0.1:", /port ""/],
    ["999.1.1.1:80", /"999.1.1.1" is not an IP address or host name/],
    ["bad_host:80", /"bad_host" is not an IP address or host name/],
  ];
  for (const [text, pattern] of cases) {
    const result = parseListenAddress(text);
    assert.equal(result.ok, false, text);
    if (!result.ok) assert.match(result.message, pattern, text);
  }
});

test("parseListenAddress quotes a long address cut, with its length", () => {
  const result = parseListenAddress(`${"h".repeat(1_000_000)}:80`);
  assert.equal(result.ok, false);
  if (!result.ok) {
    assert.ok(result.message.length < 300, `${result.message.length} characters`);
    assert.match(
      result.message,
      /^"h+…" \(1000003 characters\): "h+…" \(1000000 characters\) is not/,
    );
  }
});
