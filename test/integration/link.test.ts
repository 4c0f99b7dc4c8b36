// Installing and linking as a platform engineer would (SPEC B11): kubeburst runs as production's
// ServiceAccount with in-cluster credentials (a pod-like environment: KUBERNETES_SERVICE_HOST,
// a TokenRequest token file that is rotated and then revoked), reads the peak with the identity
// `kubeburst link` minted, and nothing more is granted than required-permissions.ts lists.
import assert from "node:assert/strict";
import { copyFile, mkdir, mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parse, stringify } from "yaml";
import { canI } from "../../src/kube/access-review.ts";
import { KubeApiError } from "../../src/kube/kube-api-error.ts";
import { KubeClient } from "../../src/kube/kube-client.ts";
import { kubeconfigFromText } from "../../src/kube/load-kubeconfig.ts";
import {
  PEAK_PERMISSIONS,
  type Permission,
  PRODUCTION_PERMISSIONS,
  WRITE_VERBS,
} from "../../src/kube/required-permissions.ts";
import {
  requestServiceAccountToken,
  tokenKubeconfigYaml,
} from "../../src/kube/service-account-token.ts";
import { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import { LocalCloud } from "../../src/localcloud/local-cloud.ts";
import { applyRbacManifest } from "../../src/localcloud/rbac-manifest.ts";
import { cleanUp } from "../support/cleanup.ts";
import { eventually, holdsFor } from "../support/eventually.ts";
import {
  createService,
  deleteObject,
  OURS,
  readiness,
  slicesOf,
} from "../support/kube-fixtures.ts";
import { createPeakSlice, setPeakSliceEndpoints } from "../support/peak-slices.ts";
import { type CliResult, runKubeburst } from "../support/run-cli.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const repoRoot = path.resolve(import.meta.dirname, "../..");
const productionRbac = path.join(repoRoot, "deploy", "rbac-production.yaml");
const NS = "kubeburst";
/** Resources a least-privilege identity is asked about: those it needs and some it must not touch. */
const PROBED: [group: string, resource: string][] = [
  ["", "services"],
  ["", "endpoints"],
  ["discovery.k8s.io", "endpointslices"],
  ["", "events"],
  ["events.k8s.io", "events"],
  ["coordination.k8s.io", "leases"],
  ["", "secrets"],
  ["", "configmaps"],
  ["", "pods"],
  ["", "nodes"],
  ["", "namespaces"],
  ["", "serviceaccounts"],
  ["networking.k8s.io", "servicecidrs"],
  ["apps", "deployments"],
  ["rbac.authorization.k8s.io", "clusterroles"],
];
const VERBS = ["get", "list", "watch", ...WRITE_VERBS];

/** Whether `permissions` grant `verb` on group/resource in `namespace` (undefined: all). */
function granted(
  permissions: readonly Permission[],
  group: string,
  resource: string,
  verb: string,
  namespace: string | undefined,
): boolean {
  return permissions.some(
    (p) =>
      p.apiGroup === group &&
      p.resource === resource &&
      p.verbs.includes(verb) &&
      (p.scope === "cluster" || namespace === NS),
  );
}

describe("link, in-cluster credentials and least privilege", { timeout: 1_200_000 }, () => {
  let cloud: LocalCloud;
  let dir: string;
  let kb: KubeburstProcess | undefined;
  const api = (cluster: string) => cloud.cluster(cluster).client;
  const ours = async () => readiness(await slicesOf(api("private"), "shop", "web", OURS));
  const saDir = () => path.join(dir, "serviceaccount");
  const auditLog = () => path.join(dir, "audit.log");
  /** The token ID (`jti`) a bound ServiceAccount token carries. */
  const tokenId = (token: string): string =>
    (JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8")) as { jti: string })
      .jti;
  /** The token IDs of kubeburst's requests to production, from the audit log, in order. */
  const tokensUsed = async (): Promise<string[]> => {
    const lines = (await readFile(auditLog(), "utf8")).split("\n").filter((l) => l !== "");
    return lines.flatMap((line) => {
      const extra = (JSON.parse(line) as { user?: { extra?: Record<string, string[]> } }).user
        ?.extra?.["authentication.kubernetes.io/credential-id"];
      return (extra ?? []).map((id) => id.replace(/^JTI=/, ""));
    });
  };
  const kubeburst = (args: string[]): Promise<CliResult> => runKubeburst(args, {}, 300_000);
  const linkArgs = (command = "link") => [
    command,
    "--name",
    "public",
    "--peak-kubeconfig",
    cloud.cluster("public").kubeconfigPath,
  ];
  const applyArgs = () => [
    "--apply",
    "--production-kubeconfig",
    cloud.cluster("private").kubeconfigPath,
  ];
  /** The peak kubeconfig kubeburst uses now: the one in production's discovery Secret. */
  const peakKubeconfig = async (): Promise<string> => {
    const secret = await api("private").request<{ data: Record<string, string> }>({
      method: "GET",
      path: `/api/v1/namespaces/${NS}/secrets/public`,
    });
    return Buffer.from(secret.data.kubeconfig!, "base64").toString("utf8");
  };
  const clientOf = (kubeconfig: string) =>
    new KubeClient(kubeconfigFromText(kubeconfig), { timeoutMs: 10_000 });
  const rejected = async (kubeconfig: string) => {
    const client = clientOf(kubeconfig);
    try {
      await client.request({ method: "GET", path: "/api/v1/services", query: { limit: 1 } });
      return false;
    } catch (err) {
      if (err instanceof KubeApiError && err.kind === "unauthorized") return true;
      throw err;
    } finally {
      client.close();
    }
  };

  /**
   * Writes a new production token into the pod-like token file, as the kubelet does (a new file
   * renamed over the old), bound to Secret `anchor` so that deleting it revokes the token.
   */
  const projectToken = async (anchor: string): Promise<string> => {
    const secret = await api("private").request<{ metadata: { uid: string } }>({
      method: "POST",
      path: `/api/v1/namespaces/${NS}/secrets`,
      body: { apiVersion: "v1", kind: "Secret", metadata: { name: anchor } },
    });
    const { token } = await requestServiceAccountToken(api("private"), NS, "kubeburst", {
      expirationSeconds: 600,
      boundSecret: { name: anchor, uid: secret.metadata.uid },
    });
    const next = path.join(saDir(), `.token-${anchor}`);
    await writeFile(next, token, { mode: 0o600 });
    await rename(next, path.join(saDir(), "token"));
    return token;
  };
  const tokenKubeconfig = (token: string) =>
    tokenKubeconfigYaml(
      "private",
      cloud.cluster("private").server,
      Buffer.from(
        cloud.cluster("private").kubeconfig.match(/certificate-authority-data: (\S+)/)![1]!,
        "base64",
      ),
      token,
    );
  let firstProductionToken = "";

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-link-"));
    // Production's API server logs every request of kubeburst's ServiceAccount, with the ID of
    // the token it came with: the test sees which token kubeburst uses.
    await writeFile(
      path.join(dir, "audit-policy.yaml"),
      stringify({
        apiVersion: "audit.k8s.io/v1",
        kind: "Policy",
        omitStages: ["RequestReceived"],
        rules: [
          { level: "Metadata", users: [`system:serviceaccount:${NS}:kubeburst`] },
          { level: "None" },
        ],
      }),
    );
    cloud = await LocalCloud.start(
      [
        {
          name: "private",
          apiserverArgs: [
            `--audit-policy-file=${path.join(dir, "audit-policy.yaml")}`,
            `--audit-log-path=${auditLog()}`,
          ],
        },
        {
          name: "public",
          extraControllers: ["namespace-controller", "serviceaccount-token-controller"],
        },
      ],
      { log },
    );
    for (const name of cloud.clusterNames()) await cloud.ensureNamespace(name, "shop");
    await applyRbacManifest(cloud, "private", productionRbac);
    await createService(api("private"), {
      namespace: "shop",
      name: "web",
      labels: { "kubeburst.io/role": "production" },
    });
    await createService(api("public"), {
      namespace: "shop",
      name: "web",
      labels: { "kubeburst.io/role": "peak" },
    });
    await createPeakSlice(api("public"), "shop", "web", "web-a", [{ address: "198.18.17.10" }]);

    // A pod's view of production: the API server's Service address, its CA and a token file.
    await mkdir(saDir(), { recursive: true });
    await copyFile(cloud.cluster("private").pki!.caCert, path.join(saDir(), "ca.crt"));
    firstProductionToken = await projectToken("pod-token-1");
    await writeFile(
      path.join(dir, "kubeburst.yaml"),
      stringify({
        clusters: [{ name: "private", role: "production", podCIDRs: [cloud.podRange("private")] }],
        namespace: NS,
        discoveryInterval: "1s",
        api: { probeInterval: "1s" },
        metrics: { address: "127.0.0.1:0" },
      }),
    );
    const { port } = new URL(cloud.cluster("private").server);
    kb = await KubeburstProcess.start(path.join(dir, "kubeburst.yaml"), dir, "kubeburst", {
      env: {
        KUBERNETES_SERVICE_HOST: "127.0.0.1",
        KUBERNETES_SERVICE_PORT: port,
        KUBEBURST_SERVICE_ACCOUNT_DIR: saDir(),
      },
    });
    await kb.waitReady();
  });

  after(async () => {
    await cleanUp([
      () => kb?.stop(),
      () => cloud?.close(),
      () =>
        dir && !process.env.KUBEBURST_KEEP_LOGS
          ? rm(dir, { recursive: true, force: true })
          : undefined,
    ]);
  });

  test("link --apply registers the peak and its endpoints reach production; printed or again, nothing changes", async () => {
    const applied = await kubeburst([
      ...linkArgs(),
      "--allowed-cidrs",
      cloud.podRange("public"),
      ...applyArgs(),
    ]);
    assert.equal(applied.code, 0, applied.stderr);
    log(`link --apply:\n${applied.stdout}`);
    await eventually(
      "the peak's endpoint reaches production",
      async () => assert.deepEqual(await ours(), { "198.18.17.10": true }),
      { timeoutMs: 120_000 },
    );

    const versions = async () => {
      const paths = [
        "/api/v1/namespaces/kubeburst",
        "/api/v1/namespaces/kubeburst/serviceaccounts/kubeburst",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/kubeburst-peak-reader",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeburst-peak-reader",
      ];
      const peak = await Promise.all(
        paths.map((p) =>
          api("public").request<{ metadata: { resourceVersion: string } }>({
            method: "GET",
            path: p,
          }),
        ),
      );
      const prod = await api("private").request<{ metadata: { resourceVersion: string } }>({
        method: "GET",
        path: `/api/v1/namespaces/${NS}/secrets/public`,
      });
      const tokens = await api("public").request<{ items: { metadata: { name: string } }[] }>({
        method: "GET",
        path: "/api/v1/namespaces/kubeburst/secrets",
      });
      return [
        ...[...peak, prod].map((o) => o.metadata.resourceVersion),
        ...tokens.items.map((t) => t.metadata.name),
      ];
    };
    const before = await versions();
    // Without --apply the Secret is printed, with a token bound to the same peak Secret.
    const printed = await kubeburst([...linkArgs(), "--allowed-cidrs", cloud.podRange("public")]);
    assert.equal(printed.code, 0, printed.stderr);
    const secret = parse(printed.stdout.replace(/^---\n/, "")) as {
      metadata: { name: string; labels: Record<string, string> };
    };
    assert.equal(secret.metadata.name, "public");
    assert.equal(secret.metadata.labels["kubeburst.io/cluster"], "true");
    log(`link (printed):\n${printed.stderr}`);

    const again = await kubeburst([
      ...linkArgs(),
      "--allowed-cidrs",
      cloud.podRange("public"),
      ...applyArgs(),
    ]);
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /was linked already; nothing changed/);
    assert.deepEqual(await versions(), before, "a second link writes nothing");
  });

  test("least privilege: the ServiceAccounts can do exactly what required-permissions.ts lists", async () => {
    const checks: [string, KubeClient, readonly Permission[]][] = [
      ["production", clientOf(tokenKubeconfig(firstProductionToken)), PRODUCTION_PERMISSIONS],
      ["peak", clientOf(await peakKubeconfig()), PEAK_PERMISSIONS],
    ];
    const wrong: string[] = [];
    try {
      for (const [role, client, permissions] of checks) {
        for (const [group, resource] of PROBED) {
          for (const namespace of [undefined, NS, "shop"]) {
            for (const verb of VERBS) {
              const want = granted(permissions, group, resource, verb, namespace);
              const got = await canI(client, {
                group,
                resource,
                verb,
                ...(namespace ? { namespace } : {}),
              });
              if (got.allowed !== want) {
                wrong.push(
                  `${role}: ${verb} ${group}/${resource} in ${namespace ?? "all"}: ${got.allowed}`,
                );
              }
            }
          }
        }
      }
    } finally {
      for (const [, client] of checks) client.close();
    }
    assert.deepEqual(wrong, []);
    // What the list says, in words: no Secrets outside its namespace, no writes in a peak.
    assert.ok(!granted(PRODUCTION_PERMISSIONS, "", "secrets", "list", "shop"));
    for (const verb of WRITE_VERBS)
      assert.ok(!PEAK_PERMISSIONS.some((p) => p.verbs.includes(verb)));
  });

  test("check passes with exactly these identities, and names each missing permission when one is taken away", async () => {
    await writeFile(
      path.join(dir, "private-sa.kubeconfig"),
      tokenKubeconfig(firstProductionToken),
      { mode: 0o600 },
    );
    await writeFile(
      path.join(dir, "check.yaml"),
      stringify({
        clusters: [{ name: "private", role: "production", kubeconfig: "private-sa.kubeconfig" }],
        namespace: NS,
        metrics: { address: "off" },
      }),
    );
    const passing = await kubeburst(["check", "--config", path.join(dir, "check.yaml")]);
    log(`check:\n${passing.stdout}`);
    assert.equal(passing.code, 0, passing.stdout + passing.stderr);
    assert.match(
      passing.stdout,
      /^public \(Secret\)\s+peak\s+watch endpointslices\.discovery\.k8s\.io \(all namespaces\)\s+ok/m,
    );
    assert.match(
      passing.stdout,
      /^private\s+production\s+peak token of public\s+ok\s+valid until \S+ \(29 days\)$/m,
    );

    await applyRbacManifest(cloud, "private", productionRbac, "nodes");
    try {
      const failing = await kubeburst(["check", "--config", path.join(dir, "check.yaml")]);
      log(`check without the nodes rule:\n${failing.stdout}`);
      assert.equal(failing.code, 1, failing.stdout + failing.stderr);
      const failed = failing.stdout.split("\n").filter((l) => /\sFAIL\s/.test(l));
      assert.deepEqual(
        failed.map((l) => l.split(/\s{2,}/)[2]),
        [
          "list nodes (all namespaces)",
          "watch nodes (all namespaces)",
          "read production's own ranges",
        ],
      );
      assert.match(failed[0]!, /grant verb list on "nodes" of apiGroup "" in a ClusterRole/);
    } finally {
      await applyRbacManifest(cloud, "private", productionRbac);
    }
  });

  test("in-cluster: a rotated token file is read again, and the old token revoked changes nothing", async () => {
    const production = await kb!.metric("kubeburst_cluster_state", {
      cluster: "private",
      state: "synced",
    });
    assert.equal(production, 1);
    const second = await projectToken("pod-token-2");
    // Before anything refuses the first token, kubeburst sends the second: it read the file again
    // because it changed, not because a request failed.
    await eventually(
      "kubeburst sends the new token",
      async () => assert.ok((await tokensUsed()).includes(tokenId(second))),
      { timeoutMs: 60_000 },
    );
    assert.ok((await tokensUsed()).includes(tokenId(firstProductionToken)));
    // Revoke the first token: its bound Secret goes, and the API server refuses it from now on.
    await deleteObject(api("private"), `/api/v1/namespaces/${NS}/secrets/pod-token-1`);
    await eventually("the first token is refused", async () =>
      assert.ok(await rejected(tokenKubeconfig(firstProductionToken))),
    );
    // A peak change must be written into production: only the new token can do that.
    await setPeakSliceEndpoints(api("public"), "shop", "web-a", [
      { address: "198.18.17.10" },
      { address: "198.18.17.11" },
    ]);
    await eventually(
      "the change reaches production with the new token",
      async () => assert.deepEqual(await ours(), { "198.18.17.10": true, "198.18.17.11": true }),
      { timeoutMs: 120_000 },
    );
    assert.equal(
      await kb!.metric("kubeburst_cluster_state", { cluster: "private", state: "synced" }),
      1,
    );
  });

  test("link --rotate swaps the peak token make-before-break, then revokes the old one", async () => {
    const old = await peakKubeconfig();
    const want = { "198.18.17.10": true, "198.18.17.11": true };
    const rotation = kubeburst([
      ...linkArgs(),
      "--allowed-cidrs",
      cloud.podRange("public"),
      ...applyArgs(),
      "--rotate",
      "--revoke-after",
      "15s",
    ]);
    // The peak's endpoints stay in production through the whole rotation.
    await holdsFor("the endpoints stay while the token is swapped", 10_000, async () =>
      assert.deepEqual(await ours(), want),
    );
    const result = await rotation;
    assert.equal(result.code, 0, result.stderr);
    log(`link --rotate:\n${result.stdout}`);
    assert.notEqual(await peakKubeconfig(), old);
    assert.ok(await rejected(old), "the old peak token is revoked");
    assert.ok(!(await rejected(await peakKubeconfig())), "the new one works");
    await setPeakSliceEndpoints(api("public"), "shop", "web-a", [{ address: "198.18.17.12" }]);
    await eventually(
      "a peak change still reaches production",
      async () => assert.deepEqual(await ours(), { "198.18.17.12": true }),
      { timeoutMs: 120_000 },
    );
  });

  test("unlink withdraws the peak and leaves nothing of ours in it; a long-lived token links too; a namespace that was there stays", async () => {
    const unlinked = await kubeburst([...linkArgs("unlink"), ...applyArgs().slice(1)]);
    assert.equal(unlinked.code, 0, unlinked.stderr);
    log(`unlink:\n${unlinked.stdout}`);
    await eventually(
      "the peak's endpoints are withdrawn",
      async () => assert.deepEqual(await ours(), {}),
      {
        timeoutMs: 120_000,
      },
    );
    const leftovers = async () => {
      const found: string[] = [];
      for (const p of [
        "/api/v1/namespaces/kubeburst",
        "/api/v1/namespaces/kubeburst/serviceaccounts/kubeburst",
        "/apis/rbac.authorization.k8s.io/v1/clusterroles/kubeburst-peak-reader",
        "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeburst-peak-reader",
      ]) {
        try {
          await api("public").request({ method: "GET", path: p });
          found.push(p);
        } catch (err) {
          if (!(err instanceof KubeApiError && err.kind === "not-found")) throw err;
        }
      }
      return found;
    };
    await eventually(
      "nothing of ours is left in the peak",
      async () => assert.deepEqual(await leftovers(), []),
      {
        timeoutMs: 120_000,
      },
    );
    const twice = await kubeburst([...linkArgs("unlink"), ...applyArgs().slice(1)]);
    assert.equal(twice.code, 0, twice.stderr);

    // A namespace that was there before link is not link's: unlink leaves it. A binding of the
    // same name to another role is made again with link's role.
    await cloud.ensureNamespace("public", "kubeburst");
    await api("public").request({
      method: "POST",
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings",
      body: {
        apiVersion: "rbac.authorization.k8s.io/v1",
        kind: "ClusterRoleBinding",
        metadata: { name: "kubeburst-peak-reader" },
        roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "edit" },
        subjects: [{ kind: "ServiceAccount", name: "kubeburst", namespace: "kubeburst" }],
      },
    });

    const longLived = await kubeburst([
      ...linkArgs(),
      "--allowed-cidrs",
      cloud.podRange("public"),
      ...applyArgs(),
      "--long-lived-token",
    ]);
    assert.equal(longLived.code, 0, longLived.stderr);
    assert.match(longLived.stdout, /^peak: Namespace kubeburst exists already; used as it is$/m);
    assert.match(longLived.stdout, /^peak: replaced ClusterRoleBinding kubeburst-peak-reader/m);
    const binding = await api("public").request<{ roleRef: { name: string } }>({
      method: "GET",
      path: "/apis/rbac.authorization.k8s.io/v1/clusterrolebindings/kubeburst-peak-reader",
    });
    assert.equal(binding.roleRef.name, "kubeburst-peak-reader");
    await eventually(
      "the peak's endpoints reach production again",
      async () => assert.deepEqual(await ours(), { "198.18.17.12": true }),
      { timeoutMs: 120_000 },
    );
    const last = await kubeburst([...linkArgs("unlink"), ...applyArgs().slice(1)]);
    assert.equal(last.code, 0, last.stderr);
    await eventually("withdrawn again", async () => assert.deepEqual(await ours(), {}), {
      timeoutMs: 120_000,
    });
    await eventually(
      "nothing left again but the namespace that was there before",
      async () => assert.deepEqual(await leftovers(), ["/api/v1/namespaces/kubeburst"]),
      { timeoutMs: 120_000 },
    );
  });
});
