import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import { parseAllDocuments } from "yaml";
import {
  PEAK_PERMISSIONS,
  type Permission,
  PRODUCTION_PERMISSIONS,
  permissionsFor,
  rbacRules,
} from "./required-permissions.ts";

interface Doc {
  kind: string;
  metadata: { name: string; namespace?: string };
  rules?: { apiGroups: string[]; resources: string[]; verbs: string[] }[];
  roleRef?: { kind: string; name: string };
  subjects?: { kind: string; name: string; namespace?: string }[];
}

function manifest(name: string): Doc[] {
  const text = readFileSync(new URL(`../../deploy/${name}`, import.meta.url), "utf8");
  return parseAllDocuments(text).map((d) => d.toJS() as Doc);
}

/** `group/resource verb scope` for every verb a manifest's roles grant. */
function granted(docs: Doc[]): string[] {
  const out: string[] = [];
  for (const doc of docs) {
    if (doc.kind !== "ClusterRole" && doc.kind !== "Role") continue;
    const scope = doc.kind === "Role" ? "own" : "cluster";
    for (const rule of doc.rules ?? []) {
      for (const group of rule.apiGroups) {
        for (const resource of rule.resources) {
          for (const verb of rule.verbs) out.push(`${group}/${resource} ${verb} ${scope}`);
        }
      }
    }
  }
  return out.sort();
}

function needed(permissions: readonly Permission[]): string[] {
  return permissions
    .flatMap((p) => p.verbs.map((v) => `${p.apiGroup}/${p.resource} ${v} ${p.scope}`))
    .sort();
}

test("deploy/rbac-production.yaml grants exactly the production permissions", () => {
  assert.deepEqual(granted(manifest("rbac-production.yaml")), needed(PRODUCTION_PERMISSIONS));
});

test("deploy/rbac-peak.yaml grants exactly the peak permissions, read-only", () => {
  assert.deepEqual(granted(manifest("rbac-peak.yaml")), needed(PEAK_PERMISSIONS));
  for (const p of PEAK_PERMISSIONS) {
    assert.deepEqual(
      p.verbs.filter((v) => v !== "list" && v !== "watch"),
      [],
    );
  }
});

test("deploy/ binds ServiceAccounts, never users or groups", () => {
  for (const file of ["rbac-production.yaml", "rbac-peak.yaml"]) {
    const bindings = manifest(file).filter((d) => d.kind.endsWith("Binding"));
    assert.ok(bindings.length > 0, file);
    for (const b of bindings) {
      assert.deepEqual(b.subjects, [
        { kind: "ServiceAccount", name: "kubeburst", namespace: "kubeburst" },
      ]);
    }
  }
});

test("production writes nothing but slices, Endpoints, Events and its Lease", () => {
  const writes = PRODUCTION_PERMISSIONS.filter((p) =>
    p.verbs.some((v) => v !== "list" && v !== "watch" && v !== "get"),
  ).map((p) => p.resource);
  assert.deepEqual([...new Set(writes)].sort(), [
    "endpoints",
    "endpointslices",
    "events",
    "leases",
  ]);
  const secrets = PRODUCTION_PERMISSIONS.filter((p) => p.resource === "secrets");
  assert.deepEqual(
    secrets.map((p) => [p.scope, p.verbs]),
    [["own", ["list"]]],
  );
});

test("permissionsFor leaves out what the settings do not use", () => {
  const table: [{ literalMode: boolean; leaderElection: boolean }, string[]][] = [
    [{ literalMode: false, leaderElection: false }, []],
    [{ literalMode: true, leaderElection: false }, ["endpoints create,update"]],
    [{ literalMode: false, leaderElection: true }, ["leases get,create,update"]],
  ];
  for (const [settings, extra] of table) {
    const got = permissionsFor("production", settings)
      .filter((p) => p.only !== undefined)
      .map((p) => `${p.resource} ${p.verbs.join(",")}`);
    assert.deepEqual(got, extra);
  }
  assert.deepEqual(permissionsFor("peak", { literalMode: true, leaderElection: true }), [
    ...PEAK_PERMISSIONS,
  ]);
});

test("rbacRules merges the verbs of one resource", () => {
  assert.deepEqual(
    rbacRules(PRODUCTION_PERMISSIONS).find((r) => r.resources[0] === "endpoints"),
    {
      apiGroups: [""],
      resources: ["endpoints"],
      verbs: ["list", "watch", "create", "update"],
    },
  );
  assert.deepEqual(rbacRules(PEAK_PERMISSIONS), [
    { apiGroups: [""], resources: ["services"], verbs: ["list", "watch"] },
    { apiGroups: ["discovery.k8s.io"], resources: ["endpointslices"], verbs: ["list", "watch"] },
  ]);
});
