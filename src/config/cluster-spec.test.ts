// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { type ClusterSpec, clusterSpecHash, parseClusterSecret } from "./cluster-spec.ts";

const KUBECONFIG = "apiVersion: v1\nkind: Config\n";

function spec(overrides: Partial<ClusterSpec> = {}): ClusterSpec {
  return {
    name: "public",
    role: "peak",
    kubeconfig: { kind: "path", path: "/etc/kubeburst/public.kubeconfig" },
    context: undefined,
    allowedCIDRs: ["10.0.0.0/8"],
    ranges: { podCIDRs: [], serviceCIDRs: [], nodeCIDRs: [] },
    maxEndpointsPerService: 1000,
    allowInsecureKubeconfig: false,
    source: "file",
    ...overrides,
  };
}

test("clusterSpecHash is stable across key order and undefined fields", () => {
  const a = spec();
  const reordered = Object.fromEntries(Object.entries(a).reverse()) as unknown as ClusterSpec;
  const { context: _context, ...withoutContext } = a;
  assert.equal(clusterSpecHash(a), clusterSpecHash(reordered));
  assert.equal(clusterSpecHash(a), clusterSpecHash(withoutContext as ClusterSpec));
  assert.equal(clusterSpecHash(a), clusterSpecHash(spec()));
  assert.match(clusterSpecHash(a), /^[0-9a-f]{64}$/);
});

test("clusterSpecHash changes with every setting", () => {
  const changes: Partial<ClusterSpec>[] = [
    { name: "public-2" },
    { role: "production" },
    { kubeconfig: { kind: "path", path: "/other" } },
    { kubeconfig: { kind: "inline", text: "/etc/kubeburst/public.kubeconfig" } },
    { context: "admin" },
    { allowedCIDRs: ["10.0.0.0/9"] },
    { allowedCIDRs: [] },
    { ranges: { podCIDRs: ["10.0.0.0/8"], serviceCIDRs: [], nodeCIDRs: [] } },
    { maxEndpointsPerService: 999 },
    { allowInsecureKubeconfig: true },
    { source: "secret" },
  ];
  const hashes = new Set([
    clusterSpecHash(spec()),
    ...changes.map((change) => clusterSpecHash(spec(change))),
  ]);
  assert.equal(hashes.size, changes.length + 1);
});

test("parseClusterSecret reads a valid Secret with defaults", () => {
  const cases: { name: string; data: Record<string, string>; want: Partial<ClusterSpec> }[] = [
    {
      name: "minimal",
      data: { kubeconfig: KUBECONFIG, allowedCIDRs: "10.0.0.0/8" },
      want: { name: "east", allowedCIDRs: ["10.0.0.0/8"] },
    },
    {
      name: "comma list with spaces, canonicalised and sorted",
      data: { kubeconfig: KUBECONFIG, allowedCIDRs: " fd00::/8 , 10.0.0.0/8,10.0.0.0/8 " },
      want: { name: "east", allowedCIDRs: ["10.0.0.0/8", "fd00::/8"] },
    },
    {
      name: "YAML flow list",
      data: { kubeconfig: KUBECONFIG, allowedCIDRs: '["0.0.0.0/0", "::/0"]' },
      want: { name: "east", allowedCIDRs: ["0.0.0.0/0", "::/0"] },
    },
    {
      name: "YAML block list and every key",
      data: {
        kubeconfig: KUBECONFIG,
        allowedCIDRs: "- 198.18.32.0/20\n- 2001:DB8::/32\n",
        name: "public-east",
        role: "peak",
        maxEndpointsPerService: "250",
        context: "east-admin",
      },
      want: {
        name: "public-east",
        allowedCIDRs: ["198.18.32.0/20", "2001:db8::/32"],
        maxEndpointsPerService: 250,
        context: "east-admin",
      },
    },
    {
      name: "empty optional values count as absent",
      data: {
        kubeconfig: KUBECONFIG,
        allowedCIDRs: "10.0.0.0/8",
        name: "",
        context: " ",
        role: "",
      },
      want: { name: "east", allowedCIDRs: ["10.0.0.0/8"] },
    },
  ];
  for (const { name, data, want } of cases) {
    const result = parseClusterSecret({ name: "east", data });
    assert.deepEqual(
      result,
      {
        ok: true,
        spec: {
          name: "east",
          role: "peak",
          kubeconfig: { kind: "inline", text: KUBECONFIG },
          context: undefined,
          allowedCIDRs: [],
          ranges: { podCIDRs: [], serviceCIDRs: [], nodeCIDRs: [] },
          maxEndpointsPerService: 1000,
          allowInsecureKubeconfig: false,
          source: "secret",
          ...want,
        },
      },
      name,
    );
  }
});

test("parseClusterSecret refuses bad Secrets with messages prefixed by the Secret", () => {
  const ok = { kubeconfig: KUBECONFIG, allowedCIDRs: "10.0.0.0/8" };
  const cases: {
    name: string;
    secret: string;
    data: Record<string, string>;
    want: [string, RegExp][];
  }[] = [
    {
      name: "kubeconfig missing",
      secret: "east",
      data: { allowedCIDRs: "10.0.0.0/8" },
      want: [["secret east: kubeconfig", /required field is missing/]],
    },
    {
      name: "kubeconfig blank",
      secret: "east",
      data: { ...ok, kubeconfig: "  \n" },
      want: [["secret east: kubeconfig", /must not be empty/]],
    },
    {
      name: "allowedCIDRs missing",
      secret: "east",
      data: { kubeconfig: KUBECONFIG },
      want: [["secret east: allowedCIDRs", /required for a peak cluster/]],
    },
    {
      name: "allowedCIDRs host bits",
      secret: "east",
      data: { ...ok, allowedCIDRs: "10.0.0.0/8, 10.1.0.1/16" },
      want: [
        [
          "secret east: allowedCIDRs[1]",
          /"10.1.0.1\/16" has host bits set; the network is "10.1.0.0\/16"/,
        ],
      ],
    },
    {
      name: "allowedCIDRs broken YAML",
      secret: "east",
      data: { ...ok, allowedCIDRs: "[10.0.0.0/8" },
      want: [["secret east: allowedCIDRs", /expected a list, got a string/]],
    },
    {
      name: "allowedCIDRs YAML mapping",
      secret: "east",
      data: { ...ok, allowedCIDRs: "- a: 1" },
      want: [["secret east: allowedCIDRs[0]", /expected a string, got a mapping/]],
    },
    {
      name: "name from an invalid Secret name",
      secret: "East.1",
      data: ok,
      want: [
        [
          "secret East.1: name",
          /"East.1" is not a valid cluster name.*\(the Secret's name; set the "name" key to choose another\)$/,
        ],
      ],
    },
    {
      name: "name key invalid",
      secret: "east",
      data: { ...ok, name: "Bad_Name" },
      want: [
        [
          "secret east: name",
          /"Bad_Name" is not a valid cluster name: use at most 63 lowercase[^(]*$/,
        ],
      ],
    },
    {
      name: "role production",
      secret: "east",
      data: { ...ok, role: "production" },
      want: [["secret east: role", /"production" cannot come from a Secret/]],
    },
    {
      name: "role unknown",
      secret: "east",
      data: { ...ok, role: "burst" },
      want: [["secret east: role", /"burst" is not allowed; use one of: production, peak/]],
    },
    {
      name: "maxEndpointsPerService not a number",
      secret: "east",
      data: { ...ok, maxEndpointsPerService: "many" },
      want: [["secret east: maxEndpointsPerService", /expected a number, got a string \("many"\)/]],
    },
    {
      name: "maxEndpointsPerService zero",
      secret: "east",
      data: { ...ok, maxEndpointsPerService: "0" },
      want: [["secret east: maxEndpointsPerService", /0 is too small; it must be at least 1/]],
    },
    {
      name: "allowInsecureKubeconfig",
      secret: "east",
      data: { ...ok, allowInsecureKubeconfig: "true" },
      want: [["secret east: allowInsecureKubeconfig", /cannot be set from a Secret/]],
    },
    {
      name: "typo",
      secret: "east",
      data: { ...ok, kubeConfig: "x" },
      want: [
        ["secret east: kubeConfig", /unknown field "kubeConfig"; did you mean "kubeconfig"\?/],
      ],
    },
    {
      name: "unknown key",
      secret: "east",
      data: { ...ok, "ca.crt": "x" },
      want: [
        ["secret east: ca.crt", /unknown field "ca.crt"; known fields: kubeconfig, name, role/],
      ],
    },
    {
      name: "several at once",
      secret: "east",
      data: { role: "production", extra: "1" },
      want: [
        ["secret east: extra", /unknown field/],
        ["secret east: kubeconfig", /required field is missing/],
        ["secret east: role", /cannot come from a Secret/],
        ["secret east: allowedCIDRs", /required for a peak cluster/],
      ],
    },
  ];
  for (const { name, secret, data, want } of cases) {
    const result = parseClusterSecret({ name: secret, data });
    assert.equal(result.ok, false, name);
    if (result.ok) continue;
    assert.equal(result.errors.length, want.length, `${name}: ${JSON.stringify(result.errors)}`);
    for (const [index, [errorPath, pattern]] of want.entries()) {
      assert.equal(result.errors[index]?.path, errorPath, name);
      assert.match(result.errors[index]?.message ?? "", pattern, name);
    }
  }
});

test("a Secret and a file entry with the same settings hash differently only by source and kubeconfig", () => {
  const result = parseClusterSecret({
    name: "public",
    data: { kubeconfig: KUBECONFIG, allowedCIDRs: "10.0.0.0/8" },
  });
  assert.ok(result.ok);
  assert.equal(
    clusterSpecHash(result.spec),
    clusterSpecHash(spec({ source: "secret", kubeconfig: { kind: "inline", text: KUBECONFIG } })),
  );
});
