import assert from "node:assert/strict";
import { test } from "node:test";
import { inClusterSettings } from "./in-cluster.ts";

test("in-cluster settings come from the pod's environment", () => {
  const table: [Record<string, string>, unknown][] = [
    [
      { KUBERNETES_SERVICE_HOST: "198.18.128.1", KUBERNETES_SERVICE_PORT: "443" },
      {
        server: "https://198.18.128.1:443",
        tokenFile: "/var/run/secrets/kubernetes.io/serviceaccount/token",
        caFile: "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt",
      },
    ],
    [
      {
        KUBERNETES_SERVICE_HOST: "2001:2::1",
        KUBERNETES_SERVICE_PORT: "6443",
        KUBEBURST_SERVICE_ACCOUNT_DIR: "/tmp/sa/",
      },
      { server: "https://[2001:2::1]:6443", tokenFile: "/tmp/sa/token", caFile: "/tmp/sa/ca.crt" },
    ],
  ];
  for (const [env, want] of table) {
    const got = inClusterSettings(env);
    assert.ok(got.ok);
    assert.deepEqual(got.settings, want);
  }
});

test("a missing or wrong variable is named", () => {
  const table: [Record<string, string>, RegExp[]][] = [
    [{}, [/^KUBERNETES_SERVICE_HOST is not set/, /^KUBERNETES_SERVICE_PORT is not set/]],
    [
      { KUBERNETES_SERVICE_HOST: "h", KUBERNETES_SERVICE_PORT: "99999" },
      [/^KUBERNETES_SERVICE_PORT: "99999" is not a port number/],
    ],
    [{ KUBERNETES_SERVICE_HOST: " ", KUBERNETES_SERVICE_PORT: "443" }, [/HOST is not set/]],
  ];
  for (const [env, want] of table) {
    const got = inClusterSettings(env);
    assert.ok(!got.ok);
    assert.equal(got.problems.length, want.length);
    for (const [i, re] of want.entries()) assert.match(got.problems[i]!, re);
  }
});
