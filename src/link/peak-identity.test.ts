import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import { parseClusterSecret } from "../config/cluster-spec.ts";
import {
  discoverySecret,
  hasWanted,
  type KubeObject,
  objectPath,
  peakObjects,
  tokenSecret,
} from "./peak-identity.ts";

test("link creates in a peak exactly the objects of deploy/rbac-peak.yaml (and their namespace)", () => {
  const text = readFileSync(new URL("../../deploy/rbac-peak.yaml", import.meta.url), "utf8");
  const strip = (o: KubeObject) => {
    const { labels: _labels, ...metadata } = o.metadata;
    return { ...o, metadata };
  };
  const deployed = parseAllDocuments(text).map((d) => d.toJS() as KubeObject);
  const linked = peakObjects()
    .filter((o) => o.kind !== "Namespace")
    .map(strip);
  assert.deepEqual(linked, deployed);
});

test("object paths", () => {
  const table: [KubeObject, string][] = [
    [peakObjects()[0]!, "/api/v1/namespaces/kubeburst"],
    [peakObjects()[1]!, "/api/v1/namespaces/kubeburst/serviceaccounts/kubeburst"],
    [peakObjects()[2]!, "/apis/rbac.authorization.k8s.io/v1/clusterroles/kubeburst-peak-reader"],
    [tokenSecret("t", false), "/api/v1/namespaces/kubeburst/secrets/t"],
  ];
  for (const [obj, want] of table) assert.equal(objectPath(obj), want);
  assert.equal(objectPath(tokenSecret("t", true), false), "/api/v1/namespaces/kubeburst/secrets");
});

test("hasWanted: other labels and server-set fields do not count; a changed rule does", () => {
  const [, , role] = peakObjects();
  const current = {
    ...role!,
    metadata: { ...role!.metadata, labels: { ...role!.metadata.labels, other: "x" }, uid: "u" },
  };
  assert.ok(hasWanted(current, role!));
  const narrowed = { ...current, rules: [] };
  assert.ok(!hasWanted(narrowed, role!));
  const unlabelled = { ...current, metadata: { name: role!.metadata.name } };
  assert.ok(!hasWanted(unlabelled, role!));
});

test("the discovery Secret is what parseClusterSecret reads", () => {
  const secret = discoverySecret({
    name: "public",
    namespace: "kubeburst",
    kubeconfig: "apiVersion: v1\n",
    allowedCIDRs: ["198.18.16.0/20", "198.18.32.0/20"],
    anchor: "kubeburst-token-1",
    expiresAt: "2026-12-30T21:00:00.000Z",
  });
  const data = secret.data as Record<string, string>;
  const decoded = Object.fromEntries(
    Object.entries(data).map(([k, v]) => [k, Buffer.from(v, "base64").toString("utf8")]),
  );
  assert.deepEqual(decoded, {
    kubeconfig: "apiVersion: v1\n",
    allowedCIDRs: "198.18.16.0/20,198.18.32.0/20",
  });
  assert.equal(secret.metadata.labels?.["kubeburst.io/cluster"], "true");
  const parsed = parseClusterSecret({ name: secret.metadata.name, data: decoded });
  assert.ok(parsed.ok);
  assert.deepEqual(parsed.spec.allowedCIDRs, ["198.18.16.0/20", "198.18.32.0/20"]);
  assert.equal(parsed.spec.name, "public");
});
