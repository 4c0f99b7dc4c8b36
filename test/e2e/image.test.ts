// The image users run (issue #11): built from the repository's Dockerfile by `make image`, it
// runs as a non-root user on a read-only root filesystem with no capabilities, and `kubeburst run`
// inside it makes a burst work on the local cloud; SIGTERM stops it cleanly (Node is PID 1).
// Then the Helm chart's objects are applied to production and the image runs as the chart's pod
// would: the chart's config file, its peak Secret, and a token of its ServiceAccount.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { parse as parseYaml, stringify } from "yaml";
import { BurstScenario } from "../../src/demo/burst-scenario.ts";
import { ImageRunner } from "../../src/localcloud/image-runner.ts";
import { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import { cleanUp } from "../support/cleanup.ts";
import { eventually } from "../support/eventually.ts";
import { renderChart, serverSideApply } from "../support/helm.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const PRODUCTION = ["private/web-1", "private/web-2"];

describe("the kubeburst image", { timeout: 1_500_000 }, () => {
  let image: ImageRunner | undefined;
  let s: BurstScenario | undefined;
  let fromChart: KubeburstProcess | undefined;
  let chartDir: string | undefined;
  before(async () => {
    const started = Date.now();
    image = await ImageRunner.build();
    log(`image ${image.image} ready (${Date.now() - started} ms)`);
  });
  after(async () => {
    await cleanUp([
      () => fromChart?.stop(),
      () => s?.close(),
      () => image?.close(),
      () => chartDir && rm(chartDir, { recursive: true, force: true }),
    ]);
  });

  test("`kubeburst version` runs as the image's non-root user, on a read-only root filesystem", async () => {
    const runner = image as ImageRunner;
    const version = await runner.runToEnd(["version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^kubeburst \d+\.\d+\.\d+ .*Node\.js v24\./);
    // The entrypoint is node itself, PID 1, as the image's USER; nothing may be written.
    const who = await runner.runToEnd(
      [
        "-e",
        "process.stdout.write(JSON.stringify([process.pid, process.getuid(), process.getgid()]))",
      ],
      ["--entrypoint=node"],
    );
    assert.equal(who.code, 0, who.stderr);
    assert.deepEqual(JSON.parse(who.stdout), [1, 65532, 65532]);
    const write = await runner.runToEnd(
      ["-e", "require('node:fs').writeFileSync('/app/x', '')"],
      ["--entrypoint=node"],
    );
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /EROFS|EACCES/);
  });

  test("`kubeburst run` in the image makes a burst work: peak pods serve production's ClusterIP", async () => {
    s = await BurstScenario.start({ log, launch: (image as ImageRunner).launch });
    const r = await s.send(40);
    assert.equal(r.failed, 0);
    assert.deepEqual(Object.keys(r.byPod).sort(), PRODUCTION);

    await s.setBurst(true);
    const all = [...PRODUCTION, ...s.peakPods.map((p) => `public/${p.name}`)].sort();
    await eventually(
      "peak pods serve production traffic",
      async () => {
        const r = await (s as BurstScenario).send(60);
        assert.equal(r.failed, 0);
        assert.deepEqual(Object.keys(r.byPod).sort(), all);
      },
      { timeoutMs: 60_000 },
    );
  });

  test("SIGTERM reaches kubeburst through podman: it stops cleanly with exit code 0", async () => {
    const kb = (s as BurstScenario).kubeburst;
    await kb.stop(60_000);
    assert.equal(await kb.exited, 0);
    const lines = await kb.logLines();
    assert.ok(
      lines.some((l) => l.msg === "stopping" && l.signal === "SIGTERM"),
      "kubeburst logged that SIGTERM stopped it",
    );
  });

  test("as the Helm chart's pod: its config, its peak Secret and its ServiceAccount's token suffice", async () => {
    const scenario = s as BurstScenario;
    const cloud = scenario.cloud;
    const production = cloud.cluster("private");
    const objects = await renderChart(
      [
        {
          production: {
            name: "private",
            kubeconfigSecret: "production-kubeconfig",
            podCIDRs: [cloud.podRange("private")],
            serviceCIDRs: [production.serviceCIDR],
          },
          peakClusters: [
            {
              name: "public",
              kubeconfig: cloud.cluster("public").kubeconfig,
              allowedCIDRs: [cloud.podRange("public")],
            },
          ],
        },
      ],
      { namespace: "kubeburst" },
    );
    for (const obj of objects) await serverSideApply(production.client, obj);

    // What the kubelet would mount: a token of the chart's ServiceAccount, in a kubeconfig here
    // (in-cluster credentials are not this test's subject), and the chart's config file.
    const { status } = await production.client.request<{ status: { token: string } }>({
      method: "POST",
      path: "/api/v1/namespaces/kubeburst/serviceaccounts/kubeburst/token",
      body: {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec: { expirationSeconds: 3600 },
      },
    });
    const admin = parseYaml(production.kubeconfig) as { users: { name: string }[] };
    chartDir = await mkdtemp(path.join(tmpdir(), "kubeburst-chart-pod-"));
    const kubeconfigPath = path.join(chartDir, "production.kubeconfig");
    await writeFile(
      kubeconfigPath,
      stringify({
        ...admin,
        users: [{ name: admin.users[0]?.name, user: { token: status.token } }],
      }),
      { mode: 0o600 },
    );
    const configMap = objects.find((o) => o.kind === "ConfigMap") as unknown as {
      data: { "config.yaml": string };
    };
    const config = parseYaml(configMap.data["config.yaml"]);
    assert.equal(config.clusters[0].kubeconfig, "/etc/kubeburst/production/kubeconfig");
    config.clusters[0].kubeconfig = kubeconfigPath;
    // The host's network is shared: loopback rather than the chart's every-interface address.
    config.metrics.address = "127.0.0.1:0";
    const configPath = path.join(chartDir, "config.yaml");
    await writeFile(configPath, stringify(config));

    // The first kubeburst stopped, leaving the burst's slices: the chart's one must take them
    // back when the burst ends, and write them again when it starts.
    await scenario.setBurst(false);
    fromChart = await KubeburstProcess.start(configPath, chartDir, "from-chart", {
      launch: image?.launch,
    });
    await fromChart.waitReady();
    assert.equal((await fromChart.get("/healthz")).status, 200);
    const kb = fromChart;
    await eventually("it leads", async () => assert.equal(await kb.metric("kubeburst_leader"), 1));
    await eventually(
      "burst off: production pods only",
      async () => {
        const r = await scenario.send(40);
        assert.equal(r.failed, 0);
        assert.deepEqual(Object.keys(r.byPod).sort(), PRODUCTION);
      },
      { timeoutMs: 60_000 },
    );
    await scenario.setBurst(true);
    const all = [...PRODUCTION, ...scenario.peakPods.map((p) => `public/${p.name}`)].sort();
    await eventually(
      "burst on again: peak pods serve, found through the chart's peak Secret",
      async () => {
        const r = await scenario.send(60);
        assert.equal(r.failed, 0);
        assert.deepEqual(Object.keys(r.byPod).sort(), all);
      },
      { timeoutMs: 60_000 },
    );
    const forbidden = (await kb.logLines()).filter((l) => JSON.stringify(l).includes("forbidden"));
    assert.deepEqual(forbidden, [], "the chart's RBAC allowed every call");
    await kb.stop(60_000);
    assert.equal(await kb.exited, 0);
  });
});
