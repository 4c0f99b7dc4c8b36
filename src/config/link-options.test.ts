import assert from "node:assert/strict";
import { test } from "node:test";
import { parseLinkFlags, type RawLinkFlags } from "./link-options.ts";

const good: RawLinkFlags = {
  name: "public",
  peakKubeconfig: "peak.kubeconfig",
  allowedCidrs: "198.18.48.0/20, 198.18.32.0/20",
};

test("link flags: defaults, canonical CIDRs", () => {
  const got = parseLinkFlags(good);
  assert.ok(got.ok);
  assert.deepEqual(got.flags.allowedCIDRs, ["198.18.32.0/20", "198.18.48.0/20"]);
  assert.equal(got.flags.namespace, "kubeburst");
  assert.equal(got.flags.tokenTtlSeconds, 720 * 3600);
  assert.equal(got.flags.revokeAfterMs, 120_000);
  assert.equal(got.flags.productionKubeconfig, undefined);
});

test("link flags: each problem names its flag", () => {
  const table: [RawLinkFlags, RegExp][] = [
    [{ ...good, name: "Public_1" }, /^--name: "Public_1" is not a valid cluster name/],
    [{ ...good, name: undefined }, /^--name: required/],
    [{ ...good, peakKubeconfig: undefined }, /^--peak-kubeconfig: required/],
    [{ ...good, allowedCidrs: "" }, /^--allowed-cidrs: required/],
    [{ ...good, allowedCidrs: "198.18.0.0/33" }, /^--allowed-cidrs: /],
    [{ ...good, apply: true }, /^--production-kubeconfig: required with --apply/],
    [{ ...good, productionKubeconfig: "p" }, /^--production-kubeconfig: only with --apply/],
    [{ ...good, tokenTtl: "5m" }, /^--token-ttl: must be from 10m/],
    [{ ...good, tokenTtl: "soon" }, /^--token-ttl: /],
    [{ ...good, longLivedToken: true, tokenTtl: "1h" }, /^--token-ttl: a long-lived token/],
    [{ ...good, peakServer: "http://198.18.0.1" }, /^--peak-server: .* is not an https/],
  ];
  for (const [raw, want] of table) {
    const got = parseLinkFlags(raw);
    assert.ok(!got.ok, JSON.stringify(raw));
    assert.equal(got.problems.length, 1, got.problems.join("\n"));
    assert.match(got.problems[0]!, want);
  }
});

test("unlink needs the production kubeconfig, not the CIDRs", () => {
  const got = parseLinkFlags({ name: "public", peakKubeconfig: "k" }, true);
  assert.ok(!got.ok);
  assert.deepEqual(got.problems.length, 1);
  assert.match(got.problems[0]!, /^--production-kubeconfig: required by unlink/);
});
