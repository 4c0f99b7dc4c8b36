import assert from "node:assert/strict";
import { test } from "node:test";
import {
  EX_REMOTE_LABEL,
  isOurs,
  isWrittenBy,
  MANAGED_BY_KUBEBURST,
  MANAGED_BY_LABEL,
  NOT_OURS_SELECTOR,
  PEER_CLUSTER_ALIAS_LABEL,
  PEER_CLUSTER_LABEL,
  pairs,
  ROLE_LABEL,
  type RoleResult,
  serviceRole,
} from "./labels.ts";

test("serviceRole", async (t) => {
  const cases: { name: string; labels: Record<string, string> | undefined; want: RoleResult }[] = [
    { name: "no labels", labels: undefined, want: { kind: "none" } },
    { name: "unrelated labels", labels: { app: "web" }, want: { kind: "none" } },
    { name: "production", labels: { [ROLE_LABEL]: "production" }, want: { kind: "production" } },
    { name: "peak", labels: { [ROLE_LABEL]: "peak" }, want: { kind: "peak" } },
    { name: "alias false", labels: { [EX_REMOTE_LABEL]: "false" }, want: { kind: "production" } },
    { name: "alias true", labels: { [EX_REMOTE_LABEL]: "true" }, want: { kind: "peak" } },
    {
      name: "both forms agree",
      labels: { [ROLE_LABEL]: "peak", [EX_REMOTE_LABEL]: "true" },
      want: { kind: "peak" },
    },
    {
      name: "peer cluster",
      labels: { [ROLE_LABEL]: "production", [PEER_CLUSTER_LABEL]: "public" },
      want: { kind: "production", peerCluster: "public" },
    },
    {
      name: "peer cluster alias",
      labels: { [EX_REMOTE_LABEL]: "true", [PEER_CLUSTER_ALIAS_LABEL]: "private" },
      want: { kind: "peak", peerCluster: "private" },
    },
    {
      name: "both peer forms equal",
      labels: {
        [ROLE_LABEL]: "peak",
        [PEER_CLUSTER_LABEL]: "private",
        [PEER_CLUSTER_ALIAS_LABEL]: "private",
      },
      want: { kind: "peak", peerCluster: "private" },
    },
    {
      name: "empty peer cluster narrows nothing",
      labels: { [ROLE_LABEL]: "peak", [PEER_CLUSTER_LABEL]: "" },
      want: { kind: "peak" },
    },
    {
      name: "peer cluster without role",
      labels: { [PEER_CLUSTER_LABEL]: "public" },
      want: { kind: "none" },
    },
  ];
  for (const { name, labels, want } of cases) {
    await t.test(name, () => assert.deepEqual(serviceRole(labels), want));
  }
});

test("serviceRole conflicts name the label and the accepted values", async (t) => {
  const cases: { name: string; labels: Record<string, string>; mentions: string[] }[] = [
    {
      name: "bad role value",
      labels: { [ROLE_LABEL]: "prod" },
      mentions: [ROLE_LABEL, '"prod"', '"production"', '"peak"'],
    },
    {
      name: "bad alias value",
      labels: { [EX_REMOTE_LABEL]: "yes" },
      mentions: [EX_REMOTE_LABEL, '"yes"', '"false"', '"true"'],
    },
    {
      name: "both roles via the two forms",
      labels: { [ROLE_LABEL]: "production", [EX_REMOTE_LABEL]: "true" },
      mentions: ["production", "peak", ROLE_LABEL, EX_REMOTE_LABEL],
    },
    {
      name: "peer forms disagree",
      labels: {
        [ROLE_LABEL]: "production",
        [PEER_CLUSTER_LABEL]: "a",
        [PEER_CLUSTER_ALIAS_LABEL]: "b",
      },
      mentions: [PEER_CLUSTER_LABEL, PEER_CLUSTER_ALIAS_LABEL, '"a"', '"b"'],
    },
    {
      name: "case matters",
      labels: { [ROLE_LABEL]: "Production" },
      mentions: ['"Production"'],
    },
  ];
  for (const { name, labels, mentions } of cases) {
    await t.test(name, () => {
      const role = serviceRole(labels);
      assert.equal(role.kind, "conflict");
      if (role.kind !== "conflict") return;
      for (const text of mentions)
        assert.ok(role.reason.includes(text), `${role.reason} ∌ ${text}`);
    });
  }
});

test("pairs", async (t) => {
  const production: RoleResult = { kind: "production" };
  const peak: RoleResult = { kind: "peak" };
  const cases: {
    name: string;
    production: RoleResult;
    peak: RoleResult;
    clusters?: [string, string];
    want: boolean;
  }[] = [
    { name: "plain", production, peak, want: true },
    { name: "swapped roles", production: peak, peak: production, want: false },
    { name: "both production", production, peak: production, want: false },
    { name: "none", production: { kind: "none" }, peak, want: false },
    { name: "conflict", production, peak: { kind: "conflict", reason: "x" }, want: false },
    {
      name: "production names this peak",
      production: { kind: "production", peerCluster: "public" },
      peak,
      want: true,
    },
    {
      name: "production names another peak",
      production: { kind: "production", peerCluster: "other" },
      peak,
      want: false,
    },
    {
      name: "peak names this production",
      production,
      peak: { kind: "peak", peerCluster: "private" },
      want: true,
    },
    {
      name: "peak names another production",
      production,
      peak: { kind: "peak", peerCluster: "other" },
      want: false,
    },
    {
      name: "both name each other",
      production: { kind: "production", peerCluster: "public" },
      peak: { kind: "peak", peerCluster: "private" },
      want: true,
    },
    { name: "same cluster", production, peak, clusters: ["private", "private"], want: false },
  ];
  for (const c of cases) {
    const [productionCluster, peakCluster] = c.clusters ?? ["private", "public"];
    await t.test(c.name, () =>
      assert.equal(pairs(c.production, c.peak, productionCluster, peakCluster), c.want),
    );
  }
});

test("isOurs", async (t) => {
  const cases: { labels: Record<string, string> | undefined; want: boolean }[] = [
    { labels: undefined, want: false },
    { labels: {}, want: false },
    { labels: { [MANAGED_BY_LABEL]: "endpointslice-controller.k8s.io" }, want: false },
    { labels: { [MANAGED_BY_LABEL]: MANAGED_BY_KUBEBURST }, want: true },
  ];
  for (const { labels, want } of cases) {
    await t.test(JSON.stringify(labels), () => assert.equal(isOurs(labels), want));
  }
});

test("NOT_OURS_SELECTOR excludes our managed-by value", () => {
  assert.equal(NOT_OURS_SELECTOR, "endpointslice.kubernetes.io/managed-by!=kubeburst.io");
});

test("the managed-by value we write is a valid label value (the API refuses selectors otherwise)", () => {
  const labelValue = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
  assert.match(MANAGED_BY_KUBEBURST, labelValue);
  assert.ok(MANAGED_BY_KUBEBURST.length <= 63);
});

test("isWrittenBy: an installation's own slices, and unlabelled ones from before installations", async (t) => {
  const ours = { [MANAGED_BY_LABEL]: MANAGED_BY_KUBEBURST };
  const cases: [string, Record<string, string> | undefined, string, boolean][] = [
    ["its own", { ...ours, "kubeburst.io/installation": "team-b" }, "team-b", true],
    ["another installation's", { ...ours, "kubeburst.io/installation": "team-a" }, "team-b", false],
    ["unlabelled, from before installations", ours, "team-b", true],
    ["not ours at all", { "kubeburst.io/installation": "team-b" }, "team-b", false],
    ["no labels", undefined, "kubeburst", false],
  ];
  for (const [name, labels, installation, want] of cases) {
    await t.test(name, () => assert.equal(isWrittenBy(labels, installation), want));
  }
});
