// What kubeburst wrote goes away when it should, and only that (SPEC M7, B3): literal mode takes
// its addresses back out of an Endpoints object for every reason a Service stops taking part and
// on a switch of mode in either direction, keeping the user's own; and two installations in one
// production cluster never touch each other's slices.
import assert from "node:assert/strict";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { after, before, describe, test } from "node:test";
import type { V1EndpointSlice, V1Endpoints } from "@kubernetes/client-node";
import { stringify } from "yaml";
import { KubeburstProcess } from "../../src/localcloud/kubeburst-process.ts";
import { LocalCloud } from "../../src/localcloud/local-cloud.ts";
import { eventually } from "../support/eventually.ts";
import {
  createService,
  createSlice,
  deleteObject,
  endpointsAddresses,
  getEndpoints,
  labelService,
  OURS,
  readiness,
  slicesOf,
} from "../support/kube-fixtures.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const USER = "198.18.2.250";
const [P1, P2] = ["198.18.17.20", "198.18.17.21"];
const RECORD = "kubeburst.io/added-addresses";

describe("withdrawal and installations", { timeout: 900_000 }, () => {
  let cloud: LocalCloud;
  let dir: string;
  const running: KubeburstProcess[] = [];
  const api = (cluster: string) => cloud.cluster(cluster).client;

  async function start(
    name: string,
    settings: { mode?: string; namespace?: string; peaks?: boolean } = {},
  ): Promise<KubeburstProcess> {
    const file = path.join(dir, `${name}.yaml`);
    await writeFile(
      file,
      stringify({
        clusters: [
          {
            name: "private",
            role: "production",
            kubeconfig: cloud.cluster("private").kubeconfigPath,
          },
          ...(settings.peaks === false
            ? []
            : [
                {
                  name: "public",
                  role: "peak",
                  kubeconfig: cloud.cluster("public").kubeconfigPath,
                  allowedCIDRs: [cloud.podRange("public")],
                },
              ]),
        ],
        mode: settings.mode ?? "endpointslice",
        ...(settings.namespace ? { namespace: settings.namespace } : {}),
        metrics: { address: "127.0.0.1:0" },
      }),
    );
    const kb = await KubeburstProcess.start(file, dir, name);
    running.push(kb);
    await kb.waitReady();
    return kb;
  }

  async function stop(kb: KubeburstProcess): Promise<void> {
    await kb.stop();
    running.splice(running.indexOf(kb), 1);
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), "kubeburst-withdrawal-"));
    cloud = await LocalCloud.start([{ name: "private" }, { name: "public" }], { log });
    for (const name of cloud.clusterNames()) {
      for (const ns of ["shop", "literal"]) await cloud.ensureNamespace(name, ns);
    }
  });

  after(async () => {
    for (const kb of [...running]) await kb.stop();
    await cloud?.close();
    if (dir && !process.env.KUBEBURST_KEEP_LOGS) await rm(dir, { recursive: true, force: true });
  });

  describe("literal mode takes back exactly what it added", () => {
    const PRODUCTION = { "kubeburst.io/role": "production" };
    const endpoints = () => getEndpoints(api("private"), "literal", "db");
    const union = [P1, P2, USER].sort();
    const holdsUnion = async () => {
      const ep = await endpoints();
      assert.deepEqual(endpointsAddresses(ep), union);
      assert.ok(ep?.metadata?.annotations?.[RECORD], "our record");
      assert.equal(ep?.metadata?.labels?.[RECORD], "true", "our marker label");
    };
    const holdsOnlyTheUsers = async () => {
      const ep: V1Endpoints | undefined = await endpoints();
      assert.deepEqual(endpointsAddresses(ep), [USER]);
      assert.equal(ep?.metadata?.annotations?.[RECORD], undefined);
      assert.equal(ep?.metadata?.labels?.[RECORD], undefined);
      assert.equal(ep?.metadata?.annotations?.team, "db", "the user's own annotation stays");
    };
    let kb: KubeburstProcess;

    before(async () => {
      await createService(api("private"), {
        namespace: "literal",
        name: "db",
        labels: PRODUCTION,
        ports: [{ name: "http", port: 80, targetPort: 8080 }],
      });
      await api("private").request({
        method: "POST",
        path: "/api/v1/namespaces/literal/endpoints",
        body: {
          apiVersion: "v1",
          kind: "Endpoints",
          metadata: { name: "db", annotations: { team: "db" } },
          subsets: [
            { addresses: [{ ip: USER }], ports: [{ name: "http", port: 8080, protocol: "TCP" }] },
          ],
        },
      });
      await createService(api("public"), {
        namespace: "literal",
        name: "db",
        labels: { "kubeburst.io/role": "peak" },
      });
      await createSlice(api("public"), "literal", "db", "db-1", [P1, P2]);
      kb = await start("literal", { mode: "endpoints" });
    });

    test("a production label removed, then contradicting labels, then the Service deleted", async () => {
      await eventually("the Endpoints hold the union", holdsUnion);
      await labelService(api("private"), "literal", "db", { "kubeburst.io/role": null });
      await eventually("unlabelled: only the user's address", holdsOnlyTheUsers);
      await labelService(api("private"), "literal", "db", PRODUCTION);
      await eventually("labelled again: the union", holdsUnion);
      await labelService(api("private"), "literal", "db", { "ex-remote": "true" });
      await eventually("labels that contradict: only the user's address", holdsOnlyTheUsers);
      await labelService(api("private"), "literal", "db", { "ex-remote": null });
      await eventually("consistent again: the union", holdsUnion);
      await deleteObject(api("private"), "/api/v1/namespaces/literal/services/db");
      await eventually("Service deleted: only the user's address", holdsOnlyTheUsers);
      await createService(api("private"), {
        namespace: "literal",
        name: "db",
        labels: PRODUCTION,
        ports: [{ name: "http", port: 80, targetPort: 8080 }],
      });
      await eventually("recreated: the union", holdsUnion);
    });

    test("a switch to endpointslice mode takes the addresses out; a switch back deletes the slices", async () => {
      await stop(kb);
      kb = await start("sliced", { mode: "endpointslice" });
      await eventually(
        "in endpointslice mode the Endpoints hold the user's only",
        holdsOnlyTheUsers,
      );
      await eventually("and the peak is served by slices", async () => {
        assert.deepEqual(readiness(await slicesOf(api("private"), "literal", "db", OURS)), {
          [P1]: true,
          [P2]: true,
        });
      });
      await stop(kb);
      kb = await start("literal-again", { mode: "endpoints" });
      await eventually("back in literal mode: the union, and no slice of ours", async () => {
        await holdsUnion();
        assert.deepEqual(await slicesOf(api("private"), "literal", "db", OURS), []);
      });
      await stop(kb);
    });
  });

  describe("two installations in one production cluster", () => {
    const installationOf = (s: V1EndpointSlice) =>
      s.metadata?.labels?.["kubeburst.io/installation"];
    const byInstallation = async () => {
      const slices = await slicesOf(api("private"), "shop", "web", OURS);
      const out: Record<string, { names: string[]; uids: string[]; addresses: string[] }> = {};
      for (const s of slices) {
        const key = installationOf(s) ?? "?";
        out[key] ??= { names: [], uids: [], addresses: [] };
        const entry = out[key];
        entry.names.push(s.metadata?.name ?? "");
        entry.uids.push(s.metadata?.uid ?? "");
        entry.addresses.push(...Object.keys(readiness([s])));
      }
      return out;
    };

    test("each writes its own slices and withdraws only its own", async () => {
      await createService(api("private"), {
        namespace: "shop",
        name: "web",
        labels: { "kubeburst.io/role": "production" },
        selector: { app: "web" },
      });
      await createService(api("public"), {
        namespace: "shop",
        name: "web",
        labels: { "kubeburst.io/role": "peak" },
      });
      await createSlice(api("public"), "shop", "web", "web-1", [P1, P2]);
      const a = await start("installation-a");
      let b = await start("installation-b", { namespace: "team-b" });
      await eventually("both installations mirror the peak", async () => {
        const now = await byInstallation();
        assert.deepEqual(Object.keys(now).sort(), ["kubeburst", "team-b"]);
        assert.deepEqual(now.kubeburst?.addresses.sort(), [P1, P2]);
        assert.deepEqual(now["team-b"]?.addresses.sort(), [P1, P2]);
      });
      const before = await byInstallation();
      assert.notDeepEqual(before.kubeburst?.names, before["team-b"]?.names);

      // team-b drops the peak: its slices go, kubeburst's stay exactly as they were.
      await stop(b);
      b = await start("installation-b-no-peaks", { namespace: "team-b", peaks: false });
      await eventually("team-b's slices are withdrawn", async () => {
        assert.equal((await byInstallation())["team-b"], undefined);
      });
      const after = await byInstallation();
      assert.deepEqual(
        after.kubeburst,
        before.kubeburst,
        "the other installation's slices untouched",
      );
      assert.equal((await a.metric("kubeburst_writer_writes_total", { result: "ok" })) > 0, true);
      await stop(b);
      await stop(a);
    });
  });
});
