import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, test } from "node:test";
import { stringify } from "yaml";
import type { KubeconfigUser } from "./kubeconfig.ts";
import {
  kubeconfigFromText,
  type LoadKubeconfigOptions,
  type LoadResult,
  loadInCluster,
  loadKubeconfig,
} from "./load-kubeconfig.ts";

const files = mkdtempSync(path.join(tmpdir(), "kubeburst-kubeconfig-"));
after(() => rmSync(files, { recursive: true, force: true }));
const TOKEN_FILE = path.join(files, "token");
writeFileSync(TOKEN_FILE, "from-file\n");

/** A self-signed P-256 certificate and its key, made for this run (PEM files in `files`). */
function selfSigned(name: string): { cert: string; key: string } {
  const cert = path.join(files, `${name}.crt`);
  const key = path.join(files, `${name}.key`);
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      key,
      "-out",
      cert,
      "-subj",
      `/CN=${name}`,
      "-days",
      "2",
    ],
    { stdio: "ignore" },
  );
  return { cert, key };
}

const CA_FILES = selfSigned("ca");
const CLIENT_FILES = selfSigned("client");
const base64Of = (file: string) => readFileSync(file).toString("base64");
const CA = base64Of(CA_FILES.cert);
const CERT = base64Of(CLIENT_FILES.cert);
const KEY = base64Of(CLIENT_FILES.key);
const pkcs8 = (options: { cipher?: string; passphrase?: string } = {}) =>
  generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
    format: "pem",
    type: "pkcs8",
    ...options,
  });
const OTHER_KEY = Buffer.from(pkcs8()).toString("base64");
const ENCRYPTED_KEY = Buffer.from(pkcs8({ cipher: "aes-256-cbc", passphrase: "x" })).toString(
  "base64",
);

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
        cluster: { server: "https://198.18.32.1:6443", "certificate-authority-data": CA },
      },
      // Entries the chosen context does not use may be anything.
      { name: "other", cluster: { server: "http://x", "insecure-skip-tls-verify": true } },
    ],
    users: [
      {
        name: "peak",
        user: { "client-certificate-data": CERT, "client-key-data": KEY },
      },
      {
        name: "other",
        user: { exec: { command: "aws" }, "token-file": "/nonexistent/token", "client-key": "k" },
      },
    ],
  };
}

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

/** Replaces the inline `<field>-data` of `body` with a reference to `file`. */
function asFile(body: Record<string, unknown>, field: string, file: string): void {
  delete body[`${field}-data`];
  body[field] = file;
}

test("a safe kubeconfig loads with the chosen context, cluster and user", () => {
  const result = load(base());
  assert.ok(result.ok, JSON.stringify(result));
  assert.deepEqual(result.kubeConfig, {
    context: "peak",
    cluster: {
      name: "peak",
      server: "https://198.18.32.1:6443",
      certificateAuthority: readFileSync(CA_FILES.cert),
      tlsServerName: undefined,
      insecureSkipTlsVerify: false,
      execConfig: undefined,
    },
    user: {
      name: "peak",
      token: undefined,
      basicAuth: undefined,
      clientCertificate: readFileSync(CLIENT_FILES.cert),
      clientKey: readFileSync(CLIENT_FILES.key),
      exec: undefined,
      impersonate: undefined,
    },
  });
});

test("TLS material that is not valid PEM is refused at load, naming the field", () => {
  const garbage = Buffer.from("not a certificate").toString("base64");
  const cases: { name: string; change: (doc: Doc) => void; want: string[] }[] = [
    {
      name: "client-key-data not base64",
      change: (doc) => Object.assign(peakUser(doc), { "client-key-data": "%%% not base64 %%%" }),
      want: [
        'users[0].user.client-key-data: not valid base64; it must hold the PEM text base64-encoded (as "base64 -w0" writes it)',
      ],
    },
    {
      name: "client-key-data not a key",
      change: (doc) => Object.assign(peakUser(doc), { "client-key-data": garbage }),
      want: [
        'users[0].user.client-key-data: holds no valid PEM private key (a "-----BEGIN … PRIVATE KEY-----" block)',
      ],
    },
    {
      name: "client-key-data a certificate",
      change: (doc) => Object.assign(peakUser(doc), { "client-key-data": CERT }),
      want: [
        'users[0].user.client-key-data: holds no valid PEM private key (a "-----BEGIN … PRIVATE KEY-----" block)',
      ],
    },
    {
      name: "client-key-data encrypted",
      change: (doc) => Object.assign(peakUser(doc), { "client-key-data": ENCRYPTED_KEY }),
      want: [
        "users[0].user.client-key-data: the private key is encrypted; kubeburst needs it unencrypted",
      ],
    },
    {
      name: "client-key-data of another certificate",
      change: (doc) => Object.assign(peakUser(doc), { "client-key-data": OTHER_KEY }),
      want: [
        "users[0].user.client-key-data: the key does not belong to the certificate in users[0].user.client-certificate-data",
      ],
    },
    {
      name: "client-certificate-data not a certificate",
      change: (doc) => Object.assign(peakUser(doc), { "client-certificate-data": garbage }),
      want: [
        'users[0].user.client-certificate-data: holds no PEM certificate (a "-----BEGIN CERTIFICATE-----" block)',
      ],
    },
    {
      name: "client-certificate-data with a broken block",
      change: (doc) =>
        Object.assign(peakUser(doc), {
          "client-certificate-data": Buffer.from(
            `${readFileSync(CLIENT_FILES.cert, "utf8")}-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n`,
          ).toString("base64"),
        }),
      want: [
        "users[0].user.client-certificate-data: certificate 2 of 2 is not a valid X.509 certificate",
      ],
    },
    {
      name: "certificate-authority-data not a certificate",
      change: (doc) => Object.assign(peakCluster(doc), { "certificate-authority-data": garbage }),
      want: [
        'clusters[0].cluster.certificate-authority-data: holds no PEM certificate (a "-----BEGIN CERTIFICATE-----" block)',
      ],
    },
    {
      name: "a certificate without its key",
      change: (doc) => delete peakUser(doc)["client-key-data"],
      want: [
        "users[0].user.client-key-data: required with a client certificate (the key of the certificate in client-certificate-data)",
      ],
    },
    {
      name: "a key without its certificate",
      change: (doc) => delete peakUser(doc)["client-certificate-data"],
      want: [
        "users[0].user.client-certificate-data: required with a client key (the certificate the key in client-key-data belongs to)",
      ],
    },
  ];
  for (const { name, change, want } of cases) {
    const doc = base();
    change(doc);
    for (const options of [safe, insecure]) {
      assert.deepEqual(problemsOf(load(doc, options)), want, name);
    }
  }
  const bundle = base();
  Object.assign(peakCluster(bundle), {
    "certificate-authority-data": Buffer.from(
      readFileSync(CA_FILES.cert, "utf8") + readFileSync(CLIENT_FILES.cert, "utf8"),
    ).toString("base64"),
  });
  assert.ok(load(bundle).ok, "a CA bundle of several certificates loads");
});

test("fields of the wrong type and proxy-url are refused, naming the field", () => {
  const cases: { name: string; change: (doc: Doc) => void; want: string[] }[] = [
    {
      name: "proxy-url",
      change: (doc) => Object.assign(peakCluster(doc), { "proxy-url": "http://198.18.0.9:3128" }),
      want: [
        "clusters[0].cluster.proxy-url: not supported; kubeburst connects directly to the API server (remove the field, or run kubeburst where the server is reachable)",
      ],
    },
    {
      name: "insecure-skip-tls-verify as a string",
      change: (doc) => Object.assign(peakCluster(doc), { "insecure-skip-tls-verify": "true" }),
      want: ["clusters[0].cluster.insecure-skip-tls-verify: expected true or false, got a string"],
    },
    {
      name: "certificate-authority-data a number",
      change: (doc) => Object.assign(peakCluster(doc), { "certificate-authority-data": 123 }),
      want: [
        "clusters[0].cluster.certificate-authority-data: expected a string, got a whole number",
      ],
    },
    {
      name: "token a mapping",
      change: (doc) => {
        doc.users[0]!.user = { token: { value: "x" } };
      },
      want: ["users[0].user.token: expected a string, got a mapping"],
    },
  ];
  for (const { name, change, want } of cases) {
    const doc = base();
    change(doc);
    for (const options of [safe, insecure]) {
      assert.deepEqual(problemsOf(load(doc, options)), want, name);
    }
  }
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
          assert.equal(result.kubeConfig.user.token, "abc.def");
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
    cluster: { server: "https://198.18.48.1:6443", "certificate-authority-data": CA },
  });
  doc.users.push({ name: "second", user: { token: "t2" } });
  const result = load(doc, { ...safe, context: "second" });
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.kubeConfig.context, "second");
  assert.equal(result.kubeConfig.cluster.server, "https://198.18.48.1:6443");
  assert.equal(result.kubeConfig.user.token, "t2");
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
      change: (doc) => asFile(peakCluster(doc), "certificate-authority", CA_FILES.cert),
      want: [
        [
          "clusters[0].cluster.certificate-authority",
          /file reference ".*\/ca.crt" reads a local file on kubeburst's own filesystem \(an inline kubeconfig cannot carry files\); put the content inline with certificate-authority-data/,
        ],
      ],
    },
    {
      name: "client-certificate file",
      change: (doc) => asFile(peakUser(doc), "client-certificate", CLIENT_FILES.cert),
      want: [
        [
          "users[0].user.client-certificate",
          /file reference ".*\/client.crt".*client-certificate-data/,
        ],
      ],
    },
    {
      name: "client-key file",
      change: (doc) => asFile(peakUser(doc), "client-key", CLIENT_FILES.key),
      want: [["users[0].user.client-key", /file reference ".*\/client.key".*client-key-data/]],
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
      name: "every problem at once",
      change: (doc) => {
        Object.assign(peakCluster(doc), { server: "http://x", "insecure-skip-tls-verify": true });
        asFile(peakCluster(doc), "certificate-authority", CA_FILES.cert);
        Object.assign(peakUser(doc), {
          exec: { apiVersion: "client.authentication.k8s.io/v1", command: "x" },
        });
        asFile(peakUser(doc), "client-key", CLIENT_FILES.key);
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

test("with allowInsecure, relative file references are resolved next to the kubeconfig file and read at load", () => {
  const doc = base();
  asFile(peakCluster(doc), "certificate-authority", "ca.crt");
  doc.users[0]!.user = {
    "client-certificate": "client.crt",
    "client-key": CLIENT_FILES.key,
    tokenFile: "token",
  };
  const file = path.join(files, "relative");
  writeFileSync(file, stringify(doc));
  const result = loadKubeconfig({ kind: "path", path: file }, insecure);
  assert.ok(result.ok, JSON.stringify(result));
  const { cluster, user } = result.kubeConfig;
  // Read once, here, within the bound: nothing reads the files later.
  assert.deepEqual(cluster.certificateAuthority, readFileSync(CA_FILES.cert));
  assert.deepEqual(user.clientCertificate, readFileSync(CLIENT_FILES.cert));
  assert.deepEqual(user.clientKey, readFileSync(CLIENT_FILES.key));
  assert.equal(user.token, "from-file", "read and trimmed");
});

test("with allowInsecure, referenced files are checked like inline data, and bounded", () => {
  const cases: { name: string; change: (doc: Doc) => void; want: string[] }[] = [
    {
      name: "a file and its -data field",
      change: (doc) => Object.assign(peakUser(doc), { "client-key": CLIENT_FILES.key }),
      want: ["users[0].user.client-key: set only one of client-key and client-key-data"],
    },
    {
      name: "a key file that holds a certificate",
      change: (doc) => asFile(peakUser(doc), "client-key", CLIENT_FILES.cert),
      want: [
        `users[0].user.client-key ("${CLIENT_FILES.cert}"): holds no valid PEM private key (a "-----BEGIN … PRIVATE KEY-----" block)`,
      ],
    },
    {
      name: "an endless CA file",
      change: (doc) => asFile(peakCluster(doc), "certificate-authority", "/dev/zero"),
      want: [
        'clusters[0].cluster.certificate-authority: cannot read "/dev/zero": it is a character device, not a regular file',
      ],
    },
    {
      name: "an endless token file",
      change: (doc) => {
        doc.users[0]!.user = { tokenFile: "/dev/zero" };
      },
      want: [
        'users[0].user.tokenFile: cannot read "/dev/zero": it is a character device, not a regular file',
      ],
    },
  ];
  for (const { name, change, want } of cases) {
    const doc = base();
    change(doc);
    assert.deepEqual(problemsOf(load(doc, insecure)), want, name);
  }
});

test("with allowInsecure, an unreadable token file is a problem naming the field", () => {
  const doc = base();
  const missing = path.join(files, "no-token");
  doc.users[0]!.user = { tokenFile: missing };
  assert.deepEqual(problemsOf(load(doc, insecure)), [
    `users[0].user.tokenFile: cannot read ${JSON.stringify(missing)}: no such file`,
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

const BIG_TEXT = `# ${"x".repeat(1024 * 1024)}\n`;
const BIG_FILE = path.join(files, "big");
writeFileSync(BIG_FILE, BIG_TEXT);

test("unreadable files and bad YAML are one problem each", () => {
  const missing = path.join(files, "nope");
  const cases: [string, LoadResult, string | RegExp][] = [
    [
      "missing file",
      loadKubeconfig({ kind: "path", path: missing }, insecure),
      `cannot read kubeconfig ${JSON.stringify(missing)}: no such file`,
    ],
    [
      "directory",
      loadKubeconfig({ kind: "path", path: files }, insecure),
      `cannot read kubeconfig ${JSON.stringify(files)}: it is a directory`,
    ],
    [
      "an endless device",
      loadKubeconfig({ kind: "path", path: "/dev/zero" }, insecure),
      'cannot read kubeconfig "/dev/zero": it is a character device, not a regular file',
    ],
    [
      "a file over 1 MiB",
      loadKubeconfig({ kind: "path", path: BIG_FILE }, insecure),
      `cannot read kubeconfig ${JSON.stringify(BIG_FILE)}: it is larger than 1 MiB, the limit`,
    ],
    [
      "inline text over 1 MiB",
      loadKubeconfig({ kind: "inline", text: BIG_TEXT }, insecure),
      "kubeconfig is larger than 1 MiB, the limit",
    ],
    [
      "two YAML documents",
      loadKubeconfig({ kind: "inline", text: "users: []\n---\nusers: []\n" }, insecure),
      'a kubeconfig must be one YAML document; a second one starts at line 2, column 1 (a "---" line separates documents)',
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

test("long names are quoted cut, and a long list of names is cut too", () => {
  const doc = base();
  const huge = "n".repeat(1_000_000);
  for (let i = 0; i < 30; i++) doc.contexts.push({ name: `c${i}`, context: {} });
  const problems = problemsOf(load(doc, { ...safe, context: huge }));
  assert.equal(problems.length, 1);
  assert.ok(problems[0]!.length < 500, `${problems[0]!.length} characters`);
  assert.match(
    problems[0]!,
    /^context setting: "n+…" \(1000000 characters\) names no entry in contexts; it has "peak", "other", "c0", .*, "c7" and 22 more$/,
  );
  const server = base();
  Object.assign(peakCluster(server), { server: `${"s".repeat(1_000_000)}:6443` });
  const serverProblems = problemsOf(load(server));
  assert.equal(serverProblems.length, 1);
  assert.ok(serverProblems[0]!.length < 300, serverProblems[0]);
});

test("every credential form becomes the user kubeburst authenticates as", () => {
  const exec = { apiVersion: "client.authentication.k8s.io/v1beta1", command: "aws", args: ["x"] };
  const cases: {
    name: string;
    user: Record<string, unknown>;
    options?: LoadKubeconfigOptions;
    want: Partial<KubeconfigUser>;
  }[] = [
    { name: "anonymous", user: {}, want: {} },
    { name: "token", user: { token: "abc" }, want: { token: "abc" } },
    {
      name: "token wins over tokenFile",
      user: { token: "abc", tokenFile: TOKEN_FILE },
      options: insecure,
      want: { token: "abc" },
    },
    {
      name: "tokenFile",
      user: { tokenFile: TOKEN_FILE },
      options: insecure,
      want: { token: "from-file" },
    },
    {
      name: "the token-file spelling",
      user: { "token-file": TOKEN_FILE },
      options: insecure,
      want: { token: "from-file" },
    },
    {
      name: "username and password",
      user: { username: "ann", password: "pw" },
      want: { basicAuth: { username: "ann", password: "pw" } },
    },
    {
      name: "username alone",
      user: { username: "ann" },
      want: { basicAuth: { username: "ann", password: "" } },
    },
    {
      name: "client certificate",
      user: { "client-certificate-data": CERT, "client-key-data": KEY },
      want: {
        clientCertificate: readFileSync(CLIENT_FILES.cert),
        clientKey: readFileSync(CLIENT_FILES.key),
      },
    },
    {
      name: "exec plugin",
      user: { exec },
      options: insecure,
      want: {
        exec: {
          apiVersion: "client.authentication.k8s.io/v1beta1",
          command: "aws",
          args: ["x"],
          env: [],
          provideClusterInfo: false,
          installHint: undefined,
        },
      },
    },
    { name: "as", user: { token: "abc", as: "ann" }, want: { token: "abc", impersonate: "ann" } },
  ];
  for (const c of cases) {
    const doc = base();
    doc.users[0]!.user = c.user;
    const result = load(doc, c.options ?? safe);
    assert.ok(result.ok, `${c.name}: ${JSON.stringify(result)}`);
    const want: KubeconfigUser = {
      name: "peak",
      token: undefined,
      basicAuth: undefined,
      clientCertificate: undefined,
      clientKey: undefined,
      exec: undefined,
      impersonate: undefined,
      ...c.want,
    };
    assert.deepEqual(result.kubeConfig.user, want, c.name);
  }
});

test("cluster settings: tls-server-name, a trailing slash, the exec extension", () => {
  const doc = base();
  Object.assign(peakCluster(doc), {
    server: "https://198.18.32.1:6443/",
    "tls-server-name": "api.peak",
    extensions: [
      { name: "other", extension: { x: 1 } },
      { name: "client.authentication.k8s.io/exec", extension: { audience: "peak" } },
    ],
  });
  const result = load(doc);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.kubeConfig.cluster.server, "https://198.18.32.1:6443");
  assert.equal(result.kubeConfig.cluster.tlsServerName, "api.peak");
  assert.deepEqual(result.kubeConfig.cluster.execConfig, { audience: "peak" });
});

test("what kubeburst does not support is refused whatever allowInsecure says, naming the field", () => {
  const cases: { name: string; user: Record<string, unknown>; want: string[] }[] = [
    {
      name: "auth-provider",
      user: { "auth-provider": { name: "oidc", config: { "id-token": "x" } } },
      want: [
        "users[0].user.auth-provider: auth providers are not supported; use an exec plugin (user.exec) that prints an ExecCredential instead (kubectl's own gcp and azure providers were replaced by such plugins)",
      ],
    },
    {
      name: "impersonation beyond a user name",
      user: { token: "t", as: "ann", "as-groups": ["admins"], "as-uid": "1" },
      want: [
        "users[0].user.as-groups: not supported; kubeburst impersonates only a user name (as), so remove the field or give the user the rights directly",
        "users[0].user.as-uid: not supported; kubeburst impersonates only a user name (as), so remove the field or give the user the rights directly",
      ],
    },
    {
      name: "a token and basic auth",
      user: { token: "t", username: "ann", password: "pw" },
      want: [
        "users[0].user.username: set either a token or username and password, not both (the server would see only one)",
      ],
    },
    {
      name: "a password without a user name",
      user: { password: "pw" },
      want: ["users[0].user.username: required with a password"],
    },
    {
      name: "as not a string",
      user: { as: ["ann"] },
      want: ["users[0].user.as: expected a string, got a list"],
    },
  ];
  for (const { name, user, want } of cases) {
    const doc = base();
    doc.users[0]!.user = user;
    for (const options of [safe, insecure]) {
      assert.deepEqual(problemsOf(load(doc, options)), want, name);
    }
  }
});

test("with allowInsecure, a malformed exec block is refused naming its fields", () => {
  const doc = base();
  doc.users[0]!.user = { exec: { command: "aws", interactiveMode: "Always" } };
  assert.deepEqual(problemsOf(load(doc, insecure)), [
    'users[0].user.exec.apiVersion: required field is missing; use "client.authentication.k8s.io/v1" or "client.authentication.k8s.io/v1beta1"',
    'users[0].user.exec.interactiveMode: "Always" needs a terminal, and kubeburst runs without one; use a plugin that runs unattended (interactiveMode Never or IfAvailable)',
  ]);
  // Without allowInsecure the exec block is refused as such; its shape is not looked at.
  assert.deepEqual(problemsOf(load(doc, safe)), [
    "users[0].user.exec: exec plugins run a local program; refused unless allowInsecureKubeconfig: true",
  ]);
});

test("an exec command with a slash is resolved next to the kubeconfig file", () => {
  const doc = base();
  doc.users[0]!.user = {
    exec: { apiVersion: "client.authentication.k8s.io/v1", command: "./bin/plugin" },
  };
  const file = path.join(files, "exec-relative");
  writeFileSync(file, stringify(doc));
  const result = loadKubeconfig({ kind: "path", path: file }, insecure);
  assert.ok(result.ok, JSON.stringify(result));
  assert.equal(result.kubeConfig.user.exec?.command, path.join(files, "bin", "plugin"));
});

test("kubeconfigFromText throws with every problem, for text kubeburst wrote itself", () => {
  const doc = base();
  delete peakCluster(doc).server;
  assert.throws(() => kubeconfigFromText(stringify(doc)), {
    message: "kubeconfig refused: clusters[0].cluster.server: required field is missing",
  });
  assert.equal(kubeconfigFromText(stringify(base())).context, "peak");
});

test("in-cluster: the pod's ServiceAccount token and CA; each missing piece is named", () => {
  const sa = path.join(files, "serviceaccount");
  mkdirSync(sa, { recursive: true });
  writeFileSync(path.join(sa, "ca.crt"), readFileSync(CA_FILES.cert));
  writeFileSync(path.join(sa, "token"), "pod-token\n");
  const env = {
    KUBERNETES_SERVICE_HOST: "198.18.128.1",
    KUBERNETES_SERVICE_PORT: "443",
    KUBEBURST_SERVICE_ACCOUNT_DIR: sa,
  };
  const loaded = loadInCluster(env);
  assert.ok(loaded.ok, loaded.ok ? "" : loaded.problems.join("\n"));
  assert.equal(loaded.kubeConfig.cluster.server, "https://198.18.128.1:443");
  assert.deepEqual(loaded.kubeConfig.cluster.certificateAuthority, readFileSync(CA_FILES.cert));
  assert.equal(loaded.kubeConfig.user.token, "pod-token");
  assert.equal(loaded.kubeConfig.user.tokenFile, path.join(sa, "token"));

  rmSync(path.join(sa, "token"));
  writeFileSync(path.join(sa, "ca.crt"), "not a certificate");
  const broken = loadInCluster(env);
  assert.ok(!broken.ok);
  assert.equal(broken.problems.length, 2);
  assert.match(
    broken.problems[0]!,
    /^in-cluster CA .* holds no PEM certificate .*automountServiceAccountToken/,
  );
  assert.match(
    broken.problems[1]!,
    /^in-cluster ServiceAccount token: cannot read .*: no such file/,
  );
  assert.deepEqual(loadInCluster({}), {
    ok: false,
    problems: [
      "KUBERNETES_SERVICE_HOST is not set; without a kubeconfig the production cluster is the one kubeburst runs in as a pod (set clusters[].kubeconfig when it runs elsewhere)",
      "KUBERNETES_SERVICE_PORT is not set; without a kubeconfig the production cluster is the one kubeburst runs in as a pod (set clusters[].kubeconfig when it runs elsewhere)",
    ],
  });
});
