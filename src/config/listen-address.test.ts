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
    ["", { enabled: false }],
    ["off", { enabled: false }],
  ] as const;
  for (const [text, address] of cases) {
    assert.deepEqual(parseListenAddress(text), { ok: true, address }, text);
  }
});

test("parseListenAddress refuses bad addresses", () => {
  const cases: [string, RegExp][] = [
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
