import assert from "node:assert/strict";
import { test } from "node:test";
import type { ClusterSpec } from "../config/cluster-spec.ts";
import { mergeClusterSources } from "./cluster-sources.ts";

function spec(
  name: string,
  source: ClusterSpec["source"],
  role: ClusterSpec["role"] = "peak",
): ClusterSpec {
  return {
    name,
    role,
    kubeconfig: { kind: "inline", text: `# ${name}` },
    context: undefined,
    allowedCIDRs: role === "peak" ? ["198.18.0.0/15"] : [],
    ranges: { podCIDRs: [], serviceCIDRs: [], nodeCIDRs: [] },
    maxEndpointsPerService: 1000,
    allowInsecureKubeconfig: false,
    source,
  };
}

test("file and Secret clusters are joined; name clashes are left out with a problem", () => {
  const cases: {
    name: string;
    file: string[];
    secrets: [secret: string, cluster: string][];
    want: string[];
    problems: RegExp[];
  }[] = [
    {
      name: "file only",
      file: ["private", "public"],
      secrets: [],
      want: ["private", "public"],
      problems: [],
    },
    {
      name: "secrets add clusters",
      file: ["private"],
      secrets: [
        ["b", "public-b"],
        ["a", "public-a"],
      ],
      want: ["private", "public-a", "public-b"],
      problems: [],
    },
    {
      name: "a Secret cannot replace a file cluster",
      file: ["private", "public"],
      secrets: [["evil", "public"]],
      want: ["private", "public"],
      problems: [/^secret evil: name: .*"public" is already declared by the config file/],
    },
    {
      name: "two Secrets with one name: the first by Secret name wins",
      file: ["private"],
      secrets: [
        ["z", "public"],
        ["y", "public"],
      ],
      want: ["private", "public"],
      problems: [/^secret z: name: .*already declared by secret y/],
    },
  ];
  for (const c of cases) {
    const result = mergeClusterSources(
      c.file.map((n, i) => spec(n, "file", i === 0 ? "production" : "peak")),
      c.secrets.map(([secret, cluster]) => ({ secret, spec: spec(cluster, "secret") })),
    );
    assert.deepEqual(
      result.specs.map((s) => s.name),
      c.want,
      c.name,
    );
    const texts = result.problems.map((p) => `${p.path}: ${p.message}`);
    assert.equal(texts.length, c.problems.length, `${c.name}: ${texts.join("; ")}`);
    for (const [i, re] of c.problems.entries()) assert.match(texts[i]!, re, c.name);
  }
});

test("the winning Secret keeps its spec", () => {
  const winner = spec("public", "secret");
  const result = mergeClusterSources(
    [spec("private", "file", "production")],
    [
      { secret: "a", spec: winner },
      { secret: "b", spec: { ...spec("public", "secret"), maxEndpointsPerService: 5 } },
    ],
  );
  assert.equal(result.specs[1], winner);
});
