import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { stringify } from "yaml";
import { type LoadKubeconfigOptions, type LoadResult, loadKubeconfig } from "./load-kubeconfig.ts";

// Not certificates: client-node only base64-decodes these when a request is made.
const FAKE_CA = Buffer.from("fake CA").toString("base64");
const FAKE_CERT = Buffer.from("fake client cert").toString("base64");
const FAKE_KEY = Buffer.from("fake client key").toString("base64");

type Doc = {
  "current-context"?: unknown;
  contexts: { name: string; context: Record<string, unknown> }[];
  clusters: { name: string; cluster: Record<string, unknown> }[];
  users: { name: string; user: Record<string, unknown> | null }[];
};

/** Context `peak` (current) uses cluster `peak` and user `peak`, with inline certificates. */
function base(): Doc {
  return {
    "current-context": "peak",
    contexts: [
      { name: "peak", context: { cluster: "peak", user: "peak", namespace: "default" } },
      { name: "other", context: { cluster: "other", user: "other" } },
    ],
    clusters: [
      {
        name: "peak",
        cluster: { server: "https://198.18.32.1:6443", "certificate-authority-data": FAKE_CA },
      },
      // Entries the chosen context does not use may be anything.
      { name: "other", cluster: { server: "http://x", "insecure-skip-tls-verify": true } },
    ],
    users: [
      {
        name: "peak",
        user: { "client-certificate-data": FAKE_CERT, "client-key-data": FAKE_KEY },
      },
      {
        name: "other",
        user: { exec: { command: "aws" }, "token-file": "/nonexistent/token", "client-key": "k" },
      },
    ],
  };
}

const files = mkdtempSync(path.join(tmpdir(), "kubeburst-kubeconfig-"));
after(() => rmSync(files, { recursive: true, force: true }));
const TOKEN_FILE = path.join(files, "token");
writeFileSync(TOKEN_FILE, "from-file\n");

const safe: LoadKubeconfigOptions = { context: undefined, allowInsecure: false };
const insecure: LoadKubeconfigOptions = { context: undefined, allowInsecure: true };

function load(doc: Doc, options: LoadKubeconfigOptions = safe): LoadResult {
  return loadKubeconfig({ kind: "inline", text: stringify(doc) }, options);
}

function problemsOf(result: LoadResult): string[] {
  return result.ok ? [] : result.problems;
}

const peakCluster = (doc: Doc) => doc.clusters[0]!.cluster;
const peakUser = (doc: Doc) => doc.users[0]!.user!;

test("a safe kubeconfig loads with the chosen context, cluster and user", () => {
  const result = load(base());
  assert.ok(result.ok, JSON.stringify(result));
  const kc = result.kubeConfig;
  assert.equal(kc.getCurrentContext(), "peak");
  assert.deepEqual(
    kc.getContexts().map((context) => context.name),
    ["peak"],
    "only the chosen entries are handed to client-node",
  );
  assert.equal(kc.getCurrentCluster()?.server, "https://198.18.32.1:6443");
  assert.equal(kc.getCurrentCluster()?.caData, FAKE_CA);
  assert.equal(kc.getCurrentCluster()?.skipTLSVerify, false);
  assert.equal(kc.getCurrentUser()?.certData, FAKE_CERT);
  assert.equal(kc.getCurrentUser()?.keyData, FAKE_KEY);
});

test("fake certificate data is not validated, even when request options are built", async () => {
  const result = load(base());
  assert.ok(result.ok, JSON.stringify(result));
  const options: { ca?: unknown; cert?: unknown; key?: unknown } = {};
  await result.kubeConfig.applyToHTTPSOptions(options);
  assert.deepEqual(options.ca, Buffer.from("fake CA"));
  assert.deepEqual(options.cert, Buffer.from("fake client cert"));
  assert.deepEqual(options.key, Buffer.from("fake client key"));
});

test("safe kubeconfigs load", () => {
  const cases: { name: string; change: (doc: Doc) => void; check: (result: LoadResult) => void }[] =
    [
      {
        name: "token",
        change: (doc) => {
          doc.users[0]!.user = { token: "abc.def" };
        },
        check: (result) => {
          assert.ok(result.ok);
          assert.equal(result.kubeConfig.getCurrentUser()?.token, "abc.def");
        },
      },
      {
        name: "user without credentials",
        change: (doc) => {
          doc.users[0]!.user = null;
        },
        check: (result) => assert.ok(result.ok, JSON.stringify(result)),
      },
      {
        name: "insecure-skip-tls-verify false",
        change: (doc) => Object.assign(peakCluster(doc), { "insecure-skip-tls-verify": false }),
        check: (result) => assert.ok(result.ok, JSON.stringify(result)),
      },
    ];
  for (const { change, check } of cases) {
    const doc = base();
    change(doc);
    check(load(doc));
  }
});

test("the context option wins over current-context", () => {
  const doc = base();
  doc.contexts.push({ name: "second", context: { cluster: "second", user: "second" } });
  doc.clusters.push({
    name: "second",
    cluster: { server: "https://198.18.48.1:6443", "certificate-authority-data": FAKE_CA },
  });
  doc.users.push({ name: "second", user: { token: "t2" } });
  const result = load(doc, { ...safe, context: "second" });
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.kubeConfig.getCurrentContext(), "second");
  assert.equal(result.kubeConfig.getCurrentCluster()?.server, "https://198.18.48.1:6443");
  assert.equal(result.kubeConfig.getCurrentUser()?.token, "t2");
});

const HINT = /; refused unless allowInsecureKubeconfig: true$/;

test("insecure settings are refused, naming the field, and allowInsecure lets each pass", () => {
  const cases: { name: string; change: (doc: Doc) => void; want: [string, RegExp][] }[] = [
    {
      name: "http server",
      change: (doc) => Object.assign(peakCluster(doc), { server: "http://198.18.32.1:8080" }),
      want: [["clusters[0].cluster.server", /"http:\/\/198.18.32.1:8080" is not an https:\/\//]],
    },
    {
      name: "insecure-skip-tls-verify",
      change: (doc) => Object.assign(peakCluster(doc), { "insecure-skip-tls-verify": true }),
      want: [["clusters[0].cluster.insecure-skip-tls-verify", /turns off the check/]],
    },
    {
      name: "certificate-authority file",
      change: (doc) => Object.assign(peakCluster(doc), { "certificate-authority": "/etc/ca.crt" }),
      want: [
        [
          "clusters[0].cluster.certificate-authority",
          /file reference "\/etc\/ca.crt" reads a local file on kubeburst's own filesystem \(an inline kubeconfig cannot carry files\); put the content inline with certificate-authority-data/,
        ],
      ],
    },
    {
      name: "client-certificate file",
      change: (doc) => Object.assign(peakUser(doc), { "client-certificate": "cert.pem" }),
      want: [
        ["users[0].user.client-certificate", /file reference "cert.pem".*client-certificate-data/],
      ],
    },
    {
      name: "client-key file",
      change: (doc) => Object.assign(peakUser(doc), { "client-key": "key.pem" }),
      want: [["users[0].user.client-key", /file reference "key.pem".*client-key-data/]],
    },
    {
      name: "tokenFile",
      change: (doc) => Object.assign(peakUser(doc), { tokenFile: TOKEN_FILE }),
      want: [["users[0].user.tokenFile", /file reference ".*\/token".*inline with token;/]],
    },
    {
      name: "client-node's token-file",
      change: (doc) => Object.assign(peakUser(doc), { "token-file": TOKEN_FILE }),
      want: [["users[0].user.token-file", /file reference.*inline with token;/]],
    },
    {
      name: "another field ending in a file path",
      change: (doc) => Object.assign(peakUser(doc), { "password-file": "/pw" }),
      want: [
        ["users[0].user.password-file", /file reference "\/pw".*an inline -data field or token/],
      ],
    },
    {
      name: "exec",
      change: (doc) =>
        Object.assign(peakUser(doc), {
          exec: { apiVersion: "client.authentication.k8s.io/v1", command: "aws" },
        }),
      want: [["users[0].user.exec", /^users\[0\]\.user\.exec: exec plugins run a local program/]],
    },
    {
      name: "auth-provider",
      change: (doc) =>
        Object.assign(peakUser(doc), { "auth-provider": { name: "oidc", config: {} } }),
      want: [["users[0].user.auth-provider", /auth providers run a local program/]],
    },
    {
      name: "every problem at once",
      change: (doc) => {
        Object.assign(peakCluster(doc), {
          server: "http://x",
          "insecure-skip-tls-verify": true,
          "certificate-authority": "ca",
        });
        Object.assign(peakUser(doc), { exec: { command: "x" }, "client-key": "k" });
      },
      want: [
        ["clusters[0].cluster.server", /not an https/],
        ["clusters[0].cluster.insecure-skip-tls-verify", /./],
        ["clusters[0].cluster.certificate-authority", /./],
        ["users[0].user.exec", /./],
        ["users[0].user.client-key", /./],
      ],
    },
  ];
  for (const { name, change, want } of cases) {
    const doc = base();
    change(doc);
    const problems = problemsOf(load(doc));
    assert.equal(problems.length, want.length, `${name}: ${JSON.stringify(problems)}`);
    for (const [index, [field, pattern]] of want.entries()) {
      const problem = problems[index] ?? "";
      assert.ok(problem.startsWith(`${field}: `), `${name}: ${problem}`);
      assert.match(problem, pattern, name);
      assert.match(problem, HINT, name);
    }
    const allowed = load(doc, insecure);
    assert.ok(allowed.ok, `${name} with allowInsecure: ${JSON.stringify(allowed)}`);
  }
});

test("a file reference in a kubeconfig file is named as one too, without the inline remark", () => {
  const doc = base();
  Object.assign(peakUser(doc), { "client-key": "key.pem" });
  const file = path.join(files, "refers-to-key");
  writeFileSync(file, stringify(doc));
  assert.deepEqual(problemsOf(loadKubeconfig({ kind: "path", path: file }, safe)), [
    'users[0].user.client-key: file reference "key.pem" reads a local file; put the content inline with client-key-data; refused unless allowInsecureKubeconfig: true',
  ]);
});

test("with allowInsecure, relative file references are resolved next to the kubeconfig file", () => {
  const doc = base();
  Object.assign(peakCluster(doc), { "certificate-authority": "ca.crt" });
  doc.users[0]!.user = { "client-key": "/abs/key.pem", tokenFile: "token" };
  const file = path.join(files, "relative");
  writeFileSync(file, stringify(doc));
  const result = loadKubeconfig({ kind: "path", path: file }, insecure);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.kubeConfig.getCurrentCluster()?.caFile, path.join(files, "ca.crt"));
  assert.equal(result.kubeConfig.getCurrentUser()?.keyFile, "/abs/key.pem");
  assert.equal(result.kubeConfig.getCurrentUser()?.token, "from-file", "read and trimmed");
});

test("with allowInsecure, an unreadable token file is a problem naming the field", () => {
  const doc = base();
  const missing = path.join(files, "no-token");
  doc.users[0]!.user = { tokenFile: missing };
  assert.deepEqual(problemsOf(load(doc, insecure)), [
    `users[0].user.tokenFile: cannot read ${missing}: no such file`,
  ]);
});

test("missing entries are errors even with allowInsecure", () => {
  const cases: { name: string; change: (doc: Doc) => void; context?: string; want: RegExp[] }[] = [
    {
      name: "no current-context",
      change: (doc) => delete doc["current-context"],
      want: [/^current-context: not set and no context was chosen; .* \(it has "peak", "other"\)$/],
    },
    {
      name: "current-context names nothing",
      change: (doc) => {
        doc["current-context"] = "gone";
      },
      want: [/^current-context: "gone" names no entry in contexts; it has "peak", "other"$/],
    },
    {
      name: "context option names nothing",
      change: () => {},
      context: "gone",
      want: [/^context setting: "gone" names no entry in contexts; it has "peak", "other"$/],
    },
    {
      name: "no contexts at all",
      change: (doc) => {
        doc.contexts = [];
      },
      want: [/^current-context: "peak" names no entry in contexts; it has none$/],
    },
    {
      name: "cluster and user missing",
      change: (doc) => {
        doc.clusters.shift();
        doc.users.shift();
      },
      want: [
        /^contexts\[0\]\.context\.cluster: "peak" names no entry in clusters; it has "other"$/,
        /^contexts\[0\]\.context\.user: "peak" names no entry in users; it has "other"$/,
      ],
    },
    {
      name: "context without cluster and user",
      change: (doc) => {
        doc.contexts[0]!.context = { namespace: "x" };
      },
      want: [
        /^contexts\[0\]\.context\.cluster: required field is missing$/,
        /^contexts\[0\]\.context\.user: required field is missing$/,
      ],
    },
    {
      name: "server missing",
      change: (doc) => delete peakCluster(doc).server,
      want: [/^clusters\[0\]\.cluster\.server: required field is missing$/],
    },
    {
      name: "server not a URL",
      change: (doc) => Object.assign(peakCluster(doc), { server: "198.18.32.1:6443" }),
      want: [/^clusters\[0\]\.cluster\.server: "198.18.32.1:6443" is not a URL$/],
    },
    {
      name: "duplicate user names",
      change: (doc) => doc.users.push({ name: "peak", user: { token: "x" } }),
      want: [/^users\[0\]\.name: "peak" is also the name of users\[2\]; names must be unique$/],
    },
  ];
  for (const { name, change, context, want } of cases) {
    const doc = base();
    change(doc);
    for (const options of [safe, insecure]) {
      const problems = problemsOf(load(doc, { ...options, context }));
      assert.equal(problems.length, want.length, `${name}: ${JSON.stringify(problems)}`);
      for (const [index, pattern] of want.entries()) {
        assert.match(problems[index] ?? "", pattern, name);
      }
    }
  }
});

test("unreadable files and bad YAML are one problem each", () => {
  const missing = path.join(files, "nope");
  const cases: [string, LoadResult, string | RegExp][] = [
    [
      "missing file",
      loadKubeconfig({ kind: "path", path: missing }, insecure),
      `cannot read kubeconfig ${missing}: no such file`,
    ],
    [
      "directory",
      loadKubeconfig({ kind: "path", path: files }, insecure),
      `cannot read kubeconfig ${files}: it is a directory`,
    ],
    [
      "unclosed flow sequence",
      loadKubeconfig({ kind: "inline", text: "clusters: [1, 2\nusers: []" }, insecure),
      /^kubeconfig YAML syntax error at line 2, column 1: /,
    ],
    [
      "duplicate keys",
      loadKubeconfig({ kind: "inline", text: "users: []\nusers: []" }, insecure),
      "kubeconfig YAML syntax error at line 2, column 1: Map keys must be unique",
    ],
    [
      "tab indentation",
      loadKubeconfig({ kind: "inline", text: "clusters:\n\t- a" }, insecure),
      /^kubeconfig YAML syntax error at line 2, column 1: /,
    ],
    ["empty", loadKubeconfig({ kind: "inline", text: "" }, insecure), "kubeconfig is empty"],
    [
      "a list",
      loadKubeconfig({ kind: "inline", text: "- a" }, insecure),
      /^kubeconfig must be a mapping/,
    ],
  ];
  for (const [name, result, want] of cases) {
    const problems = problemsOf(result);
    assert.equal(problems.length, 1, `${name}: ${JSON.stringify(problems)}`);
    if (typeof want === "string") assert.equal(problems[0], want, name);
    else assert.match(problems[0] ?? "", want, name);
  }
});

test("a YAML merge key cannot hide an exec plugin from the checks", () => {
  const text = [
    "plugin: &plugin",
    "  exec: {command: steal}",
    "current-context: c",
    "contexts: [{name: c, context: {cluster: c, user: u}}]",
    "clusters: [{name: c, cluster: {server: 'https://h'}}]",
    "users:",
    "- name: u",
    "  user:",
    "    <<: *plugin",
  ].join("\n");
  assert.deepEqual(problemsOf(loadKubeconfig({ kind: "inline", text }, safe)), [
    "users[0].user.exec: exec plugins run a local program; refused unless allowInsecureKubeconfig: true",
  ]);
});

test("refusalHint replaces the pointer to allowInsecureKubeconfig (a Secret cannot set it)", () => {
  const text = [
    "current-context: c",
    "contexts: [{name: c, context: {cluster: c, user: u}}]",
    "clusters: [{name: c, cluster: {server: 'http://h'}}]",
    "users: [{name: u, user: {exec: {command: steal}}}]",
  ].join("\n");
  const options = { ...safe, refusalHint: "refused in a Secret" };
  assert.deepEqual(problemsOf(loadKubeconfig({ kind: "inline", text }, options)), [
    'clusters[0].cluster.server: "http://h" is not an https:// URL; without TLS the credentials travel unprotected; refused in a Secret',
    "users[0].user.exec: exec plugins run a local program; refused in a Secret",
  ]);
});
