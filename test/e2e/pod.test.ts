// kubeburst as users run it (issue #13): the Helm chart installed with `helm install` into a
// production cluster that has a real kubelet node (containerd, runc, a CNI bridge), the image
// imported into that node's containerd, two replicas scheduled by kube-scheduler. What only a
// pod shows: its user and read-only root as the kernel sees them, readiness gated on /readyz,
// the projected token used and re-read, a peak Secret changed in place, and the leader pod
// deleted: SIGTERM, the Lease released, exit 0, the standby leading, traffic never failing.
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { access, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import { promisify } from "node:util";
import type { KubeClient } from "../../src/kube/kube-client.ts";
import { kubernetesServiceIp } from "../../src/localcloud/control-plane.ts";
import { ImageRunner } from "../../src/localcloud/image-runner.ts";
import type { KubeletNode } from "../../src/localcloud/kubelet-node.ts";
import { LocalCloud, type LocalNode } from "../../src/localcloud/local-cloud.ts";
import { cleanUp } from "../support/cleanup.ts";
import { eventually, holdsFor } from "../support/eventually.ts";
import { CHART_DIR, renderChart, runHelmWithValues, serverSideApply } from "../support/helm.ts";
import { createService, labelService } from "../support/kube-fixtures.ts";

const run = promisify(execFile);
const log = (line: string) => process.stderr.write(`# ${line}\n`);
const NS = "kubeburst";
const SA_USER = `system:serviceaccount:${NS}:kubeburst`;
const SHOP = "shop";
const PORT = 8080;
const PRODUCTION = ["private/web-1", "private/web-2"];
const PEAK = ["public/web-p1", "public/web-p2"];
const GRACE_SECONDS = 30;

interface Pod {
  metadata: { name: string; uid: string; deletionTimestamp?: string };
  spec: { nodeName?: string; containers: { readinessProbe?: { httpGet?: { path?: string } } }[] };
  status: {
    phase?: string;
    podIP?: string;
    conditions?: { type: string; status: string; lastTransitionTime?: string }[];
    containerStatuses?: {
      ready: boolean;
      restartCount: number;
      containerID?: string;
      state: { running?: object; terminated?: { exitCode: number; finishedAt: string } };
    }[];
  };
}
interface Lease {
  spec: { holderIdentity?: string | null; renewTime?: string; leaseTransitions?: number };
}

describe("kubeburst as a pod on a kubelet node, installed with helm", {
  timeout: 1_500_000,
}, () => {
  let cloud: LocalCloud | undefined;
  let dir: string | undefined;
  let kubelet: KubeletNode;
  let client: KubeClient;
  let clientNode: LocalNode;
  let url: string;
  let auditLog: string;
  let values: Record<string, unknown>;

  before(async () => {
    const started = Date.now();
    const image = (await ImageRunner.build()).image;
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-pod-"));
    // Who sent each request of kubeburst's ServiceAccount, and with which token (its JTI).
    auditLog = path.join(dir, "audit.log");
    await writeFile(
      path.join(dir, "audit-policy.yaml"),
      `apiVersion: audit.k8s.io/v1\nkind: Policy\nomitStages: [RequestReceived]\nrules:\n- level: Metadata\n  users: ["${SA_USER}"]\n- level: None\n`,
    );
    cloud = await LocalCloud.start(
      [
        {
          name: "private",
          pods: true,
          apiserverArgs: [
            `--audit-policy-file=${path.join(dir, "audit-policy.yaml")}`,
            `--audit-log-path=${auditLog}`,
          ],
        },
        { name: "public", controllerManager: true },
      ],
      { log },
    );
    client = cloud.cluster("private").client;
    // node-0 carries the production pods (test servers) and sends the traffic; node-1 is the
    // kubelet node where the chart's pods run.
    clientNode = await cloud.addNode("private", "node-0");
    await cloud.addNode("public", "node-1", { dataPath: false });
    const node1 = await cloud.addKubeletNode("private", "node-1", { images: [image] });
    kubelet = node1.kubelet;
    for (const c of ["private", "public"]) await cloud.ensureNamespace(c, SHOP);
    const labels = { app: "web" };
    for (const name of ["web-1", "web-2"]) {
      await cloud.addPod("private", { name, namespace: SHOP, labels, port: PORT, node: "node-0" });
    }
    for (const name of ["web-p1", "web-p2"]) {
      await cloud.addPod("public", { name, namespace: SHOP, labels, port: PORT });
    }
    const web = {
      namespace: SHOP,
      name: "web",
      selector: labels,
      ports: [{ name: "http", port: 80, targetPort: PORT }],
    };
    const svc = await createService(client, {
      ...web,
      labels: { "kubeburst.io/role": "production" },
    });
    await createService(cloud.cluster("public").client, web);
    url = `http://${svc.spec!.clusterIP}:80/`;

    const [repository, tag] = [
      image.slice(0, image.lastIndexOf(":")),
      image.slice(image.lastIndexOf(":") + 1),
    ];
    values = {
      image: { repository, tag, pullPolicy: "Never" },
      production: {
        name: "private",
        podCIDRs: cloud.podRanges("private"),
        serviceCIDRs: cloud.serviceRanges("private"),
      },
      peakClusters: [
        {
          name: "public",
          // Where the peak's API server is on the fabric: the pod reaches it as in a real network.
          kubeconfig: await cloud.exposeApi("public"),
          allowedCIDRs: cloud.podRanges("public"),
        },
      ],
      config: {
        discoveryInterval: "2s",
        leaderElection: { leaseDuration: "4s", renewDeadline: "3s", retryPeriod: "1s" },
      },
      probes: { readiness: { periodSeconds: 1, timeoutSeconds: 2, failureThreshold: 2 } },
      terminationGracePeriodSeconds: GRACE_SECONDS,
    };
    log(`local cloud with a kubelet node ready (${Date.now() - started} ms)`);
  });

  after(async () => {
    await cleanUp([() => cloud?.close(), () => dir && rm(dir, { recursive: true, force: true })]);
  });

  // Paths containerd 1.6 and the kubelet write to whatever their config says: the node's own
  // mount namespace must have kept them off the host.
  const hostPaths = [
    "/run/containerd",
    "/var/lib/kubelet",
    "/var/log/pods",
    "/var/lib/cni/networks/kubeburst-pods",
  ];
  let hostPathsBefore: boolean[] = [];
  before(async () => {
    hostPathsBefore = await Promise.all(hostPaths.map(exists));
  });

  test("helm install: kube-scheduler puts both replicas on the kubelet node; they become Ready through /readyz", async () => {
    const started = Date.now();
    await runHelmWithValues(
      [
        "install",
        "kubeburst",
        CHART_DIR,
        "--namespace",
        NS,
        "--create-namespace",
        "--kubeconfig",
        cloud!.cluster("private").kubeconfigPath,
        "--wait",
        "--timeout",
        "5m",
      ],
      [values],
    );
    // helm's --wait counts a Deployment ready at replicas - maxUnavailable (1 of 2 here).
    const pods = await bothReplicasReady(client);
    log(`both replicas Ready ${Date.now() - started} ms after helm install began`);
    for (const pod of pods) {
      assert.equal(pod.spec.nodeName, "node-1", "scheduled onto the kubelet node");
      assert.equal(pod.spec.containers[0]?.readinessProbe?.httpGet?.path, "/readyz");
      assert.equal(pod.status.containerStatuses?.[0]?.restartCount, 0);
    }
    await eventually("one replica leads", async () => {
      const holder = holderOf(await getLease(client));
      assert.ok(
        pods.some((p) => p.metadata.name === holder),
        `leader ${holder}`,
      );
    });
  });

  test("the kernel shows the container as UID/GID 65532, no capabilities, a read-only root", async () => {
    for (const pod of await kubeburstPods(client)) {
      const pids = await kubelet.containerPids(pod.status.containerStatuses![0]!.containerID!);
      assert.ok(pids.length > 0, `processes of ${pod.metadata.name}`);
      const status = await readFile(`/proc/${pids[0]}/status`, "utf8");
      assert.match(status, /^Uid:\t65532\t65532\t65532\t65532$/m);
      assert.match(status, /^Gid:\t65532\t65532\t65532\t65532$/m);
      assert.match(status, /^CapEff:\t0000000000000000$/m);
      assert.match(status, /^NoNewPrivs:\t1$/m);
      const root = (await readFile(`/proc/${pids[0]}/mountinfo`, "utf8"))
        .split("\n")
        .find((l) => l.split(" ")[4] === "/");
      assert.ok(root, "the container has a root mount");
      assert.ok(root.split(" ")[5]!.split(",").includes("ro"), `read-only root: ${root}`);
    }
  });

  test("from another node, /metrics is served and the status API refused (it answers loopback only)", async () => {
    for (const pod of await kubeburstPods(client)) {
      const base = `http://${pod.status.podIP}:9090`;
      const metrics = await getFromNamespace(clientNode.netns!, `${base}/metrics`);
      assert.equal(metrics.status, 200);
      assert.match(metrics.body, /^kubeburst_leader /m);
      const status = await getFromNamespace(clientNode.netns!, `${base}/status/v1`);
      assert.equal(status.status, 403);
      assert.match(status.body, /metrics\.statusAPI: loopback/);
    }
  });

  test("burst traffic crosses to the peak with kubeburst running as a pod", async () => {
    const r = await cloud!.httpFromNode(clientNode, url, 30);
    assert.equal(r.failed, 0);
    assert.deepEqual(Object.keys(r.byPod).sort(), PRODUCTION);
    await labelService(cloud!.cluster("public").client, SHOP, "web", {
      "kubeburst.io/role": "peak",
    });
    await eventually(
      "peak pods serve production's ClusterIP",
      async () => {
        const r = await cloud!.httpFromNode(clientNode, url, 40);
        assert.equal(r.failed, 0);
        assert.deepEqual(Object.keys(r.byPod).sort(), [...PRODUCTION, ...PEAK]);
      },
      { timeoutMs: 60_000 },
    );
  });

  test("the projected ServiceAccount token is what kubeburst sends, and a new one is read again", async () => {
    const pods = await kubeburstPods(client);
    const before = new Map<string, string>();
    for (const pod of pods) before.set(pod.metadata.name, await tokenJti(kubelet, pod));
    for (const [name, jti] of before) {
      await eventually(`${name} sends its mounted token`, async () => {
        assert.ok((await auditedJtis(auditLog, name)).has(jti));
      });
    }
    // A new kubelet has no token cache: it requests every pod's token again and the projected
    // volume is rewritten in place, while the containers keep running.
    const restarted = Date.now();
    await kubelet.restartKubelet();
    for (const pod of pods) {
      const name = pod.metadata.name;
      let renewed = "";
      await eventually(
        `${name}'s token file is rewritten`,
        async () => {
          renewed = await tokenJti(kubelet, pod);
          assert.notEqual(renewed, before.get(name));
        },
        { timeoutMs: 180_000, intervalMs: 1_000 },
      );
      const rewritten = Date.now();
      await eventually(`${name} sends the new token`, async () => {
        assert.ok((await auditedJtis(auditLog, name)).has(renewed));
      });
      log(
        `${name}: token rewritten ${rewritten - restarted} ms after the kubelet restart, sent ${Date.now() - rewritten} ms later`,
      );
    }
    for (const pod of await kubeburstPods(client)) {
      assert.equal(pod.status.containerStatuses?.[0]?.restartCount, 0, "no container restarted");
    }
  });

  test("a Secret volume updated in place: production's kubeconfig Secret, rotated, is used without a restart", async () => {
    const plane = cloud!.cluster("private");
    // A kubeconfig as an operator would give it, reaching the API server through the
    // `kubernetes` Service, with a token of kubeburst's ServiceAccount (not bound to a pod).
    const kubeconfigWith = async () => {
      const text = await plane.serviceAccountKubeconfig(NS, "kubeburst", {
        expirationSeconds: 3600,
      });
      return {
        text: text.replace(plane.server, `https://${kubernetesServiceIp(plane.serviceCIDR)}:443`),
        jti: jwtJti(/token: (\S+)/.exec(text)![1]!),
      };
    };
    const putSecret = (kubeconfig: string) =>
      serverSideApply(client, {
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "production-kubeconfig", namespace: NS },
        stringData: { kubeconfig },
      });
    const first = await kubeconfigWith();
    await putSecret(first.text);
    values = {
      ...values,
      production: { ...(values.production as object), kubeconfigSecret: "production-kubeconfig" },
    };
    await runHelmWithValues(
      [
        "upgrade",
        "kubeburst",
        CHART_DIR,
        "--namespace",
        NS,
        "--kubeconfig",
        plane.kubeconfigPath,
        "--wait",
        "--timeout",
        "5m",
      ],
      [values],
    );
    await bothReplicasReady(client);
    await eventually("the rolled pods send the mounted kubeconfig's token", async () => {
      assert.ok((await auditedJtis(auditLog)).has(first.jti));
    });
    const second = await kubeconfigWith();
    const rotated = Date.now();
    await putSecret(second.text);
    await eventually(
      "kubeburst sends the new token from the updated volume",
      async () => assert.ok((await auditedJtis(auditLog)).has(second.jti)),
      { timeoutMs: 180_000, intervalMs: 1_000 },
    );
    log(
      `production kubeconfig Secret rotated: its new token in use after ${Date.now() - rotated} ms`,
    );
    for (const pod of await kubeburstPods(client)) {
      assert.equal(pod.status.containerStatuses?.[0]?.restartCount, 0, "no container restarted");
    }
    await eventually("burst traffic still crosses", async () => {
      const r = await cloud!.httpFromNode(clientNode, url, 40);
      assert.equal(r.failed, 0);
      assert.deepEqual(Object.keys(r.byPod).sort(), [...PRODUCTION, ...PEAK]);
    });
  });

  test("the peak's discovery Secret changed in place reaches the running pods", async () => {
    const secret = `/api/v1/namespaces/${NS}/secrets/kubeburst-peak-public`;
    const patch = (allowedCIDRs: string) =>
      client.request({
        method: "PATCH",
        path: secret,
        contentType: "application/merge-patch+json",
        body: { stringData: { allowedCIDRs } },
      });
    // A range that holds none of the peak's pods: kubeburst must withdraw them.
    // Discovery Secrets are read through the API (every discoveryInterval, 2 s here), not from
    // a volume: a Secret `kubeburst link` writes later counts without a restart too.
    let patched = Date.now();
    await patch("198.18.31.0/24");
    await eventually("the peak's endpoints are refused", async () => {
      const r = await cloud!.httpFromNode(clientNode, url, 30);
      assert.equal(r.failed, 0);
      assert.deepEqual(Object.keys(r.byPod).sort(), PRODUCTION);
    });
    const narrowed = Date.now() - patched;
    patched = Date.now();
    await patch(cloud!.podRange("public"));
    await eventually("the peak's endpoints are back", async () => {
      const r = await cloud!.httpFromNode(clientNode, url, 40);
      assert.equal(r.failed, 0);
      assert.deepEqual(Object.keys(r.byPod).sort(), [...PRODUCTION, ...PEAK]);
    });
    log(
      `peak Secret changed in place: traffic followed within ${narrowed} ms (narrowed) and ${Date.now() - patched} ms (restored)`,
    );
  });

  test("readiness is /readyz: a replica that cannot list production's Nodes is never Ready, until it can", async () => {
    const rendered = await renderChart([values], { namespace: NS });
    const role = rendered.find((o) => o.kind === "ClusterRole")!;
    const withoutNodes = {
      ...role,
      rules: (role.rules as { resources: string[] }[]).filter(
        (r) => !r.resources.includes("nodes"),
      ),
    };
    assert.notEqual((withoutNodes.rules as unknown[]).length, (role.rules as unknown[]).length);
    await serverSideApply(client, withoutNodes);
    const leader = holderOf(await getLease(client));
    const standby = (await kubeburstPods(client)).find((p) => p.metadata.name !== leader)!;
    await deletePod(client, standby.metadata.name);
    let replacement: Pod | undefined;
    await eventually(
      "a new replica runs",
      async () => {
        replacement = (await kubeburstPods(client)).find(
          (p) =>
            p.metadata.name !== standby.metadata.name &&
            p.metadata.name !== leader &&
            p.status.containerStatuses?.[0]?.state.running,
        );
        assert.ok(replacement);
      },
      { timeoutMs: 120_000 },
    );
    // Its probe runs every second: ten seconds not Ready are ten failed probes of /readyz.
    await holdsFor("the replacement stays not Ready", 10_000, async () => {
      const pod = await getPod(client, replacement!.metadata.name);
      assert.equal(condition(pod!, "Ready"), "False");
    });
    await serverSideApply(client, role);
    const restored = Date.now();
    await eventually("Ready once the Nodes can be listed", async () => {
      const pod = await getPod(client, replacement!.metadata.name);
      assert.equal(condition(pod!, "Ready"), "True");
    });
    log(`replacement Ready ${Date.now() - restored} ms after its RBAC was restored`);
  });

  test("deleting the leader pod: SIGTERM, the Lease released, exit 0 within the grace period, the standby leads; traffic never fails", async () => {
    let failed = 0;
    let served = 0;
    const stream = cloud!.streamFromNode(clientNode, url, 20, (_at, who) => {
      if (who === null) failed++;
      else served++;
    });
    try {
      const leaderName = holderOf(await getLease(client));
      const leader = await getPod(client, leaderName);
      assert.ok(leader, `the leader ${leaderName} is a pod`);
      const transitionsBefore = (await getLease(client)).spec.leaseTransitions ?? 0;
      const deleted = Date.now();
      await deletePod(client, leaderName);
      // Sampled every 50 ms until the pod is gone and another replica holds the Lease: the
      // leader's last status (its exit code), who holds the Lease, and its log, read while the
      // kubelet still keeps it (what kubeburst said as it stopped).
      let exit: { exitCode: number; finishedAt: string } | undefined;
      let released: number | undefined;
      let takenOver: number | undefined;
      let gone: number | undefined;
      let lastLog = "";
      await eventually(
        "the old leader's pod is gone and another replica holds the Lease",
        async () => {
          const [pod, lease, logText] = await Promise.all([
            getPod(client, leaderName),
            getLease(client),
            kubelet.containerLog(NS, leaderName, leader.metadata.uid, "kubeburst"),
          ]);
          if (logText !== "") lastLog = logText;
          if (pod) exit = pod.status.containerStatuses?.[0]?.state.terminated ?? exit;
          else gone ??= Date.now();
          const holder = holderOf(lease);
          if (holder !== leaderName) released ??= Date.now();
          if (holder !== "" && holder !== leaderName) takenOver ??= Date.now();
          assert.ok(gone !== undefined && takenOver !== undefined);
        },
        { timeoutMs: (GRACE_SECONDS + 30) * 1000, intervalMs: 50 },
      );
      assert.ok(released !== undefined, "the old leader let the Lease go");
      assert.ok(takenOver !== undefined, "another replica took the Lease");
      assert.ok(gone !== undefined, "the pod is gone");
      assert.equal(exit?.exitCode, 0, "kubeburst exited 0 on SIGTERM");
      const stopping = lastLog
        .split("\n")
        .map((l) => l.slice(l.indexOf("{")))
        .filter((l) => l.startsWith("{"))
        .map((l) => JSON.parse(l) as { msg?: string; signal?: string });
      assert.ok(
        stopping.some((l) => l.msg === "stopping" && l.signal === "SIGTERM"),
        "kubeburst logged that SIGTERM stopped it",
      );
      // The kubelet reports the exit to the second; the pod is gone only after it exited.
      assert.ok(gone - deleted < GRACE_SECONDS * 1000, "exited within the grace period");
      assert.ok(((await getLease(client)).spec.leaseTransitions ?? 0) > transitionsBefore);
      log(
        `leader pod deleted: Lease released after ${released - deleted} ms, taken over after ${takenOver - deleted} ms, container exited 0 at ${exit!.finishedAt}, pod gone after ${gone - deleted} ms (grace ${GRACE_SECONDS} s)`,
      );
      const newLeader = holderOf(await getLease(client));
      await eventually("the new leader keeps the burst", async () => {
        const r = await cloud!.httpFromNode(clientNode, url, 40);
        assert.equal(r.failed, 0);
        assert.deepEqual(Object.keys(r.byPod).sort(), [...PRODUCTION, ...PEAK]);
      });
      assert.ok(await getPod(client, newLeader), "the new leader is the other replica's pod");
      // Traffic goes on through a lease duration and more after the hand-over.
      await holdsFor("no request fails after the hand-over", 5_000, () => assert.equal(failed, 0));
    } finally {
      await stream.stop();
    }
    log(`traffic during the hand-over: ${served} served, ${failed} failed`);
    assert.ok(served > 0);
    assert.equal(failed, 0);
  });

  test("closing the cloud leaves no process, namespace, cgroup, mount or host file behind", async () => {
    const c = cloud!;
    const runDir = c.dir;
    await c.close();
    assert.deepEqual(c.leftovers(), { pids: [], namespaces: [] });
    const cgroups: string[] = [];
    for (const h of await readdir("/sys/fs/cgroup")) {
      const names = await readdir(path.join("/sys/fs/cgroup", h)).catch(() => [] as string[]);
      cgroups.push(...names.filter((n) => n.startsWith(`kubeburst-${c.runId}-`)));
    }
    assert.deepEqual(cgroups, []);
    assert.ok(!(await readFile("/proc/self/mountinfo", "utf8")).includes(runDir));
    assert.deepEqual(await Promise.all(hostPaths.map(exists)), hostPathsBefore);
  });
});

async function kubeburstPods(client: KubeClient): Promise<Pod[]> {
  const list = await client.request<{ items: Pod[] }>({
    method: "GET",
    path: `/api/v1/namespaces/${NS}/pods`,
    query: { labelSelector: "app.kubernetes.io/name=kubeburst" },
  });
  return list.items.filter((p) => !p.metadata.deletionTimestamp);
}

/** Waits until the release has exactly two pods, both Running and Ready, none terminating. */
async function bothReplicasReady(client: KubeClient): Promise<Pod[]> {
  let pods: Pod[] = [];
  await eventually(
    "two replicas Running and Ready",
    async () => {
      const list = await client.request<{ items: Pod[] }>({
        method: "GET",
        path: `/api/v1/namespaces/${NS}/pods`,
        query: { labelSelector: "app.kubernetes.io/name=kubeburst" },
      });
      pods = list.items;
      assert.equal(pods.length, 2);
      for (const pod of pods) {
        assert.equal(pod.metadata.deletionTimestamp, undefined);
        assert.equal(pod.status.phase, "Running");
        assert.equal(condition(pod, "Ready"), "True");
      }
    },
    { timeoutMs: 180_000 },
  );
  return pods;
}

async function getPod(client: KubeClient, name: string): Promise<Pod | undefined> {
  return client
    .request<Pod>({ method: "GET", path: `/api/v1/namespaces/${NS}/pods/${name}` })
    .catch((err: { kind?: string }) => {
      if (err.kind === "not-found") return undefined;
      throw err;
    });
}

async function deletePod(client: KubeClient, name: string): Promise<void> {
  await client.request({ method: "DELETE", path: `/api/v1/namespaces/${NS}/pods/${name}` });
}

async function getLease(client: KubeClient): Promise<Lease> {
  return client.request<Lease>({
    method: "GET",
    path: `/apis/coordination.k8s.io/v1/namespaces/${NS}/leases/kubeburst`,
  });
}

/** The pod whose kubeburst holds the Lease (its identity is `<hostname>_<uuid>`), or "". */
function holderOf(lease: Lease): string {
  const holder = lease.spec.holderIdentity ?? "";
  const end = holder.lastIndexOf("_");
  return end < 0 ? holder : holder.slice(0, end);
}

function condition(pod: Pod, type: string): string | undefined {
  return pod.status.conditions?.find((c) => c.type === type)?.status;
}

/**
 * The JTI of the token mounted in the pod, read through its process's root at the mount point
 * its mountinfo names (the image's /var/run is a link to /run, which /proc/<pid>/root would
 * resolve on the host).
 */
async function tokenJti(kubelet: KubeletNode, pod: Pod): Promise<string> {
  const [pid] = await kubelet.containerPids(pod.status.containerStatuses![0]!.containerID!);
  const mountPoint = (await readFile(`/proc/${pid}/mountinfo`, "utf8"))
    .split("\n")
    .map((l) => l.split(" ")[4] ?? "")
    .find((m) => m.endsWith("/secrets/kubernetes.io/serviceaccount"));
  assert.ok(mountPoint, `pod ${pod.metadata.name} has its ServiceAccount token mounted`);
  return jwtJti(await readFile(`/proc/${pid}/root${mountPoint}/token`, "utf8"));
}

/** The `jti` claim of a ServiceAccount token (a JWT): which token it is. */
function jwtJti(token: string): string {
  const payload = JSON.parse(Buffer.from(token.split(".")[1]!, "base64url").toString("utf8"));
  return String(payload.jti);
}

/**
 * The JTIs of the tokens kubeburst's ServiceAccount authenticated with, per the audit log; with
 * `podName`, only those of tokens bound to that pod (the kubelet's projected ones).
 */
async function auditedJtis(auditLog: string, podName?: string): Promise<Set<string>> {
  const jtis = new Set<string>();
  for (const line of (await readFile(auditLog, "utf8").catch(() => "")).split("\n")) {
    if (!line) continue;
    const event = JSON.parse(line) as {
      user?: { username?: string; extra?: Record<string, string[]> };
    };
    const extra = event.user?.extra ?? {};
    if (event.user?.username !== SA_USER) continue;
    if (podName && !extra["authentication.kubernetes.io/pod-name"]?.includes(podName)) continue;
    for (const id of extra["authentication.kubernetes.io/credential-id"] ?? []) {
      if (id.startsWith("JTI=")) jtis.add(id.slice(4));
    }
  }
  return jtis;
}

function exists(file: string): Promise<boolean> {
  return access(file).then(
    () => true,
    () => false,
  );
}

/** GET `url` from inside network namespace `netns` (a node's): its status and body. */
async function getFromNamespace(
  netns: string,
  url: string,
): Promise<{ status: number; body: string }> {
  const script =
    "fetch(process.argv[1], { signal: AbortSignal.timeout(10000) }).then(async (r) => process.stdout.write(JSON.stringify({ status: r.status, body: await r.text() })))";
  const { stdout } = await run("ip", ["netns", "exec", netns, process.execPath, "-e", script, url]);
  return JSON.parse(stdout) as { status: number; body: string };
}
