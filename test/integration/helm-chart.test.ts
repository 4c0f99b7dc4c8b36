// The Helm chart (issue #11): `helm lint`, `helm template` with default and other values, its
// RBAC kept equal to deploy/rbac-production.yaml, and every object it renders accepted by a real
// API server (server-side apply, and helm install / upgrade / uninstall). Helm is the pinned
// build of scripts/helm-bin.sh.
import assert from "node:assert/strict";
import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { parseClusterSecret } from "../../src/config/cluster-spec.ts";
import { parseConfig } from "../../src/config/load-config.ts";
import { CLUSTER_SECRET_LABEL } from "../../src/discovery/cluster-sources.ts";
import { LocalCloud } from "../../src/localcloud/local-cloud.ts";
import {
  CHART_DIR,
  objectPath,
  type RenderedObject,
  renderChart,
  runHelm,
  runHelmWithValues,
  serverSideApply,
} from "../support/helm.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const deployRbacFile = fileURLToPath(new URL("../../deploy/rbac-production.yaml", import.meta.url));

const PEAK_KUBECONFIG = `apiVersion: v1
kind: Config
clusters: [{name: public, cluster: {server: "https://198.18.7.1:6443"}}]
users: [{name: reader, user: {token: not-a-real-token}}]
contexts: [{name: public, context: {cluster: public, user: reader}}]
current-context: public
`;

/** Values far from the defaults: every switch flipped, every list filled. */
const OTHER_VALUES = {
  replicaCount: 3,
  image: { repository: "registry.example/kubeburst", tag: "9.9.9", pullPolicy: "Always" },
  logLevel: "debug",
  production: {
    name: "private",
    kubeconfigSecret: "production-kubeconfig",
    podCIDRs: ["198.18.0.0/16"],
    serviceCIDRs: ["198.19.0.0/24"],
  },
  peakClusters: [
    {
      name: "public",
      kubeconfig: PEAK_KUBECONFIG,
      allowedCIDRs: ["198.19.128.0/20"],
      maxEndpointsPerService: 200,
      context: "public",
    },
    { name: "edge", kubeconfig: PEAK_KUBECONFIG, allowedCIDRs: ["198.19.144.0/20", "2001:2::/64"] },
  ],
  config: {
    mode: "endpoints",
    staleTTL: "2m",
    leaderElection: {
      leaseName: "kb-lease",
      leaseDuration: "20s",
      renewDeadline: "12s",
      retryPeriod: "3s",
    },
  },
  metrics: { port: 9191 },
  serviceMonitor: { enabled: true, labels: { release: "prometheus" } },
  serviceAccount: { name: "kb-identity", annotations: { "example.com/owner": "platform" } },
  podDisruptionBudget: { minAvailable: 2 },
  topologySpread: { enabled: false },
  resources: { requests: { cpu: "100m", memory: "200Mi" }, limits: { memory: "1Gi" } },
};

function only(objects: RenderedObject[], kind: string): RenderedObject {
  const found = objects.filter((o) => o.kind === kind);
  assert.equal(found.length, 1, `one ${kind} expected, found ${found.length}`);
  return found[0] as RenderedObject;
}

// biome-ignore lint/suspicious/noExplicitAny: rendered objects are walked field by field
type Any = any;

/** The kubeburst config file the chart's ConfigMap holds, validated as `kubeburst run` does. */
function renderedConfig(objects: RenderedObject[]) {
  const cm = objects.find((o) => o.kind === "ConfigMap" && !o.metadata.name.endsWith("-dashboard"));
  const text = (cm as Any)?.data?.["config.yaml"] as string;
  assert.ok(text, "the ConfigMap has config.yaml");
  return {
    raw: parseYaml(text) as Any,
    parsed: parseConfig(text, "/etc/kubeburst/config/config.yaml"),
  };
}

/** Rules compared as a set: the order of rules, verbs and resources carries no meaning. */
function normalRules(rules: unknown): string[] {
  return (rules as Record<string, string[]>[])
    .map((rule) =>
      JSON.stringify(
        Object.fromEntries(
          Object.entries(rule)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, v]) => [k, [...v].sort()]),
        ),
      ),
    )
    .sort();
}

describe("Helm chart: lint and template", { timeout: 900_000 }, () => {
  test("helm lint --strict passes with the default values and with other values", async () => {
    await runHelm(["lint", "--strict", CHART_DIR]);
    await runHelmWithValues(["lint", "--strict", CHART_DIR], [OTHER_VALUES]);
  });

  test("default values: two replicas with leader election, probes, hardening, PDB, spread", async () => {
    const objects = await renderChart();
    assert.deepEqual(objects.map((o) => o.kind).sort(), [
      "ClusterRole",
      "ClusterRoleBinding",
      "ConfigMap",
      "Deployment",
      "PodDisruptionBudget",
      "Role",
      "RoleBinding",
      "Service",
      "ServiceAccount",
    ]);
    const deployment = only(objects, "Deployment") as Any;
    assert.equal(deployment.spec.replicas, 2);
    const pod = deployment.spec.template.spec;
    assert.equal(pod.serviceAccountName, "kubeburst");
    assert.deepEqual(pod.securityContext, {
      runAsNonRoot: true,
      runAsUser: 65532,
      runAsGroup: 65532,
      seccompProfile: { type: "RuntimeDefault" },
    });
    const [container] = pod.containers;
    assert.equal(pod.containers.length, 1);
    assert.equal(container.image, "kubeburst:0.1.0");
    assert.deepEqual(container.args, ["run", "--config", "/etc/kubeburst/config/config.yaml"]);
    assert.deepEqual(container.securityContext, {
      allowPrivilegeEscalation: false,
      readOnlyRootFilesystem: true,
      capabilities: { drop: ["ALL"] },
    });
    assert.equal(container.livenessProbe.httpGet.path, "/healthz");
    assert.equal(container.startupProbe.httpGet.path, "/healthz");
    assert.equal(container.readinessProbe.httpGet.path, "/readyz");
    assert.deepEqual(container.ports, [{ name: "metrics", containerPort: 9090, protocol: "TCP" }]);
    assert.ok(container.resources.requests.cpu && container.resources.limits.memory);
    assert.deepEqual(
      pod.topologySpreadConstraints.map((c: Any) => [c.topologyKey, c.whenUnsatisfiable]),
      [
        ["kubernetes.io/hostname", "ScheduleAnyway"],
        ["topology.kubernetes.io/zone", "ScheduleAnyway"],
      ],
    );
    assert.deepEqual((only(objects, "PodDisruptionBudget") as Any).spec.minAvailable, 1);
    assert.deepEqual(
      (only(objects, "PodDisruptionBudget") as Any).spec.selector.matchLabels,
      deployment.spec.selector.matchLabels,
    );

    const { raw } = renderedConfig(objects);
    assert.deepEqual(raw.clusters, [{ name: "production", role: "production" }]);
    assert.equal(raw.namespace, "kubeburst");
    assert.equal(raw.metrics.address, ":9090");
    assert.equal(raw.leaderElection.enabled, true);

    for (const kind of ["ClusterRoleBinding", "RoleBinding"]) {
      assert.deepEqual((only(objects, kind) as Any).subjects, [
        { kind: "ServiceAccount", name: "kubeburst", namespace: "kubeburst" },
      ]);
    }
  });

  test("the chart's RBAC rules are exactly those of deploy/rbac-production.yaml", async () => {
    const deploy = parseAllDocuments(await readFile(deployRbacFile, "utf8")).map(
      (d) => d.toJS() as RenderedObject,
    );
    const objects = await renderChart([OTHER_VALUES], { namespace: "tenant-a" });
    for (const kind of ["ClusterRole", "Role"]) {
      assert.deepEqual(
        normalRules(only(objects, kind).rules),
        normalRules(only(deploy, kind).rules),
        `${kind} rules differ between the chart and deploy/rbac-production.yaml`,
      );
    }
    const role = only(objects, "Role");
    assert.equal(role.metadata.namespace, "tenant-a", "Secrets and Leases only in its namespace");
  });

  test("other values: replicas, image, production kubeconfig, peak Secrets, ServiceMonitor", async () => {
    const objects = await renderChart([OTHER_VALUES], { namespace: "tenant-a" });
    const deployment = only(objects, "Deployment") as Any;
    assert.equal(deployment.spec.replicas, 3);
    const pod = deployment.spec.template.spec;
    assert.equal(pod.serviceAccountName, "kb-identity");
    assert.equal(pod.topologySpreadConstraints, undefined);
    const [container] = pod.containers;
    assert.equal(container.image, "registry.example/kubeburst:9.9.9");
    assert.equal(container.imagePullPolicy, "Always");
    assert.deepEqual(container.env, [{ name: "KUBEBURST_LOG_LEVEL", value: "debug" }]);
    assert.equal(container.ports[0].containerPort, 9191);
    assert.deepEqual(container.resources, OTHER_VALUES.resources);
    assert.deepEqual(
      pod.volumes.find((v: Any) => v.name === "production-kubeconfig").secret.secretName,
      "production-kubeconfig",
    );
    assert.ok(
      container.volumeMounts.some(
        (m: Any) => m.mountPath === "/etc/kubeburst/production" && m.readOnly,
      ),
    );
    assert.equal((only(objects, "PodDisruptionBudget") as Any).spec.minAvailable, 2);
    assert.deepEqual(only(objects, "ServiceAccount").metadata.name, "kb-identity");

    // The config file is one kubeburst accepts, with the values' fields and the chart's.
    const { raw, parsed } = renderedConfig(objects);
    assert.ok(parsed.ok, JSON.stringify(!parsed.ok && parsed.errors));
    const config = parsed.config;
    assert.equal(config.namespace, "tenant-a");
    assert.equal(config.mode, "endpoints");
    assert.equal(config.staleTTLMs, 120_000);
    assert.deepEqual(config.metrics, { enabled: true, host: "", port: 9191 });
    assert.deepEqual(
      { ...config.leaderElection },
      {
        enabled: true,
        leaseName: "kb-lease",
        leaseDurationMs: 20_000,
        renewDeadlineMs: 12_000,
        retryPeriodMs: 3000,
      },
    );
    assert.deepEqual(raw.clusters, [
      {
        name: "private",
        role: "production",
        kubeconfig: "/etc/kubeburst/production/kubeconfig",
        podCIDRs: ["198.18.0.0/16"],
        serviceCIDRs: ["198.19.0.0/24"],
      },
    ]);
    // A changed config changes the pod template, so the pods roll.
    const defaults = only(await renderChart([], { namespace: "tenant-a" }), "Deployment") as Any;
    assert.notEqual(
      deployment.spec.template.metadata.annotations["checksum/config"],
      defaults.spec.template.metadata.annotations["checksum/config"],
    );

    // Each peak is a discovery Secret that kubeburst's discovery reads as it is.
    const secrets = objects.filter((o) => o.kind === "Secret");
    assert.deepEqual(secrets.map((s) => s.metadata.name).sort(), [
      "kubeburst-peak-edge",
      "kubeburst-peak-public",
    ]);
    for (const secret of secrets) {
      assert.equal(secret.metadata.namespace, "tenant-a");
      assert.ok(secret.metadata.labels?.[CLUSTER_SECRET_LABEL]);
      const result = parseClusterSecret({
        name: secret.metadata.name,
        data: (secret as Any).stringData,
      });
      assert.ok(result.ok, JSON.stringify(!result.ok && result.errors));
      const declared = OTHER_VALUES.peakClusters.find((p) => p.name === result.spec.name);
      assert.ok(declared, `peak ${result.spec.name} is one of the values'`);
      assert.equal(result.spec.role, "peak");
      assert.deepEqual([...result.spec.allowedCIDRs], [...declared.allowedCIDRs].sort());
      assert.deepEqual(result.spec.kubeconfig, { kind: "inline", text: PEAK_KUBECONFIG });
    }

    const monitor = only(objects, "ServiceMonitor") as Any;
    assert.equal(monitor.metadata.labels.release, "prometheus");
    assert.deepEqual(monitor.spec.selector.matchLabels, deployment.spec.selector.matchLabels);
    assert.equal(monitor.spec.endpoints[0].port, "metrics");
    for (const kind of ["ClusterRoleBinding", "RoleBinding"]) {
      assert.deepEqual((only(objects, kind) as Any).subjects, [
        { kind: "ServiceAccount", name: "kb-identity", namespace: "tenant-a" },
      ]);
    }
  });

  test("bad values fail the render with the field and the reason", async () => {
    const cases: [Record<string, unknown>, RegExp][] = [
      [
        { peakClusters: [{ name: "public", kubeconfig: PEAK_KUBECONFIG }] },
        /public: allowedCIDRs is required/,
      ],
      [
        { peakClusters: [{ name: "public", allowedCIDRs: ["198.19.0.0/16"] }] },
        /public: kubeconfig is required/,
      ],
      [
        { serviceMonitor: { enabled: true }, metrics: { service: { enabled: false } } },
        /serviceMonitor.enabled needs metrics.service.enabled/,
      ],
      [{ serviceAccount: { create: false } }, /serviceAccount.name is required/],
    ];
    for (const [values, message] of cases) {
      await assert.rejects(renderChart([values]), message, JSON.stringify(values));
    }
  });

  test("the PrometheusRule and the Grafana dashboard come from the chart's files, only when present", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), "kubeburst-chart-"));
    try {
      const chart = path.join(dir, "kubeburst");
      await cp(CHART_DIR, chart, { recursive: true });
      await rm(path.join(chart, "files"), { recursive: true, force: true });
      const enabled = { prometheusRule: { enabled: true }, grafanaDashboard: { enabled: true } };
      const kindsOf = (objects: RenderedObject[]) =>
        objects.map((o) => `${o.kind}/${o.metadata.name}`).filter((k) => /Rule|dashboard/.test(k));

      assert.deepEqual(kindsOf(await renderChart([enabled], { chartDir: chart })), []);

      const groups = [{ name: "kubeburst", rules: [{ alert: "KubeburstDown", expr: "up == 0" }] }];
      await mkdir(path.join(chart, "files"));
      await writeFile(
        path.join(chart, "files/prometheus-rules.yaml"),
        `# alerts\ngroups: ${JSON.stringify(groups)}\n`,
      );
      await writeFile(path.join(chart, "files/grafana-dashboard.json"), '{"title": "kubeburst"}\n');
      assert.deepEqual(kindsOf(await renderChart([], { chartDir: chart })), [], "off by default");
      const objects = await renderChart([enabled], { chartDir: chart });
      assert.deepEqual(kindsOf(objects).sort(), [
        "ConfigMap/kubeburst-dashboard",
        "PrometheusRule/kubeburst",
      ]);
      assert.deepEqual((only(objects, "PrometheusRule") as Any).spec.groups, groups);
      const dashboard = objects.find((o) => o.metadata.name === "kubeburst-dashboard") as Any;
      assert.equal(dashboard.metadata.labels.grafana_dashboard, "1");
      assert.equal(JSON.parse(dashboard.data["kubeburst.json"]).title, "kubeburst");

      // A whole PrometheusRule in the file gives the same groups; a file without any is refused.
      await writeFile(
        path.join(chart, "files/prometheus-rules.yaml"),
        JSON.stringify({
          apiVersion: "monitoring.coreos.com/v1",
          kind: "PrometheusRule",
          spec: { groups },
        }),
      );
      const fromObject = await renderChart([enabled], { chartDir: chart });
      assert.deepEqual((only(fromObject, "PrometheusRule") as Any).spec.groups, groups);
      await writeFile(path.join(chart, "files/prometheus-rules.yaml"), "rules: []\n");
      await assert.rejects(renderChart([enabled], { chartDir: chart }), /has no groups/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("Helm chart: the rendered manifests on a real API server", { timeout: 900_000 }, () => {
  let cloud: LocalCloud | undefined;
  before(async () => {
    cloud = await LocalCloud.start([{ name: "production" }], { log });
  });
  after(async () => {
    await cloud?.close();
  });

  test("production's API server accepts every object, default and other values; applying again changes nothing", async () => {
    const client = (cloud as LocalCloud).cluster("production").client;
    const renders: [string, RenderedObject[]][] = [
      ["kubeburst", await renderChart([], { namespace: "kubeburst" })],
      ["tenant-a", await renderChart([OTHER_VALUES], { release: "other", namespace: "tenant-a" })],
    ];
    for (const [namespace, objects] of renders) {
      await (cloud as LocalCloud).ensureNamespace("production", namespace);
      // The Prometheus Operator's kinds need its CRDs, which this API server does not have.
      const served = objects.filter((o) => !o.apiVersion.startsWith("monitoring.coreos.com/"));
      assert.ok(served.length >= 9);
      const versions = new Map<string, string>();
      for (const obj of served) {
        const applied = await serverSideApply(client, obj);
        assert.equal(applied.metadata.name, obj.metadata.name);
        versions.set(objectPath(obj), applied.metadata.resourceVersion);
      }
      for (const obj of served) {
        const again = await serverSideApply(client, obj);
        assert.equal(
          again.metadata.resourceVersion,
          versions.get(objectPath(obj)),
          `${obj.kind}/${obj.metadata.name} changed on a second apply`,
        );
      }
      log(
        `${namespace}: ${served.length} objects applied (${served.map((o) => o.kind).join(", ")})`,
      );
    }
    // What the API server stored is what deploy/ grants.
    const deploy = parseAllDocuments(await readFile(deployRbacFile, "utf8")).map(
      (d) => d.toJS() as RenderedObject,
    );
    const stored = await client.request<Any>({
      method: "GET",
      path: "/apis/rbac.authorization.k8s.io/v1/clusterroles/other-kubeburst",
    });
    assert.deepEqual(normalRules(stored.rules), normalRules(only(deploy, "ClusterRole").rules));
  });
  test("helm install, upgrade and uninstall against production's API server", async () => {
    const production = (cloud as LocalCloud).cluster("production");
    const client = production.client;
    const kube = ["--kubeconfig", production.kubeconfigPath, "--namespace", "life"];
    const deploymentPath = "/apis/apps/v1/namespaces/life/deployments/life-kubeburst";
    await runHelm(["install", "life", CHART_DIR, ...kube, "--create-namespace"]);
    const installed = await client.request<Any>({ method: "GET", path: deploymentPath });
    assert.equal(installed.spec.replicas, 2);

    await runHelmWithValues(
      ["upgrade", "life", CHART_DIR, ...kube],
      [{ replicaCount: 3, peakClusters: OTHER_VALUES.peakClusters }],
    );
    const upgraded = await client.request<Any>({ method: "GET", path: deploymentPath });
    assert.equal(upgraded.spec.replicas, 3);
    const secrets = await client.request<Any>({
      method: "GET",
      path: "/api/v1/namespaces/life/secrets",
      query: { labelSelector: CLUSTER_SECRET_LABEL },
    });
    assert.deepEqual(secrets.items.map((i: Any) => i.metadata.name).sort(), [
      "life-kubeburst-peak-edge",
      "life-kubeburst-peak-public",
    ]);

    await runHelm(["uninstall", "life", ...kube, "--wait"]);
    await assert.rejects(
      client.request({ method: "GET", path: deploymentPath }),
      (err: Any) => err.kind === "not-found",
    );
    await assert.rejects(
      client.request({
        method: "GET",
        path: "/apis/rbac.authorization.k8s.io/v1/clusterroles/life-kubeburst",
      }),
      (err: Any) => err.kind === "not-found",
    );
  });
});
