// Paths and addresses here are only data for pure functions: nothing is started or sent.
import assert from "node:assert/strict";
import { test } from "node:test";
import { parse as parseYaml } from "yaml";
import { kubernetesServiceIp } from "./control-plane.ts";
import { cniConfig, containerdConfig, kubeletConfig } from "./kubelet-node.ts";

test("the kubelet's settings this host needs are in its config (docs/kubelet-node.md)", () => {
  const config = parseYaml(kubeletConfig("kubeburst-ab12cd-private-node-1", "/n/containerd.sock"));
  assert.equal(config.kind, "KubeletConfiguration");
  assert.equal(config.failCgroupV1, false, "cgroup v1 host");
  assert.equal(config.cgroupDriver, "cgroupfs", "no systemd");
  assert.equal(config.cgroupRoot, "/kubeburst-ab12cd-private-node-1", "every pod under the parent");
  assert.equal(config.oomScoreAdj, 0, "no CAP_SYS_RESOURCE to lower it");
  assert.equal(config.containerRuntimeEndpoint, "unix:///n/containerd.sock");
  assert.equal(config.authentication.anonymous.enabled, false);
  assert.equal(config.address, "127.0.0.1");
});

test("containerd keeps its state in the node's folder and never lowers an OOM score", () => {
  const text = containerdConfig("/n", "localhost/kubeburst-pause:3.10.2");
  for (const line of [
    'root = "/n/containerd/root"',
    'state = "/n/containerd/state"',
    'address = "/n/containerd.sock"',
    'sandbox_image = "localhost/kubeburst-pause:3.10.2"',
    "restrict_oom_score_adj = true",
    "SystemdCgroup = false",
    'conf_dir = "/n/cni"',
  ]) {
    assert.ok(text.includes(line), line);
  }
});

test("the pods' CNI bridge routes their subnet through the node, without NAT", () => {
  const conf = JSON.parse(cniConfig("198.18.1.224/27"));
  const [bridge] = conf.plugins;
  assert.equal(bridge.type, "bridge");
  assert.equal(bridge.isGateway, true);
  assert.equal(bridge.ipMasq, false);
  assert.deepEqual(bridge.ipam.ranges, [[{ subnet: "198.18.1.224/27" }]]);
});

test("the kubernetes Service's ClusterIP is the first address of the Service range", () => {
  for (const [range, ip] of [
    ["198.19.0.0/24", "198.19.0.1"],
    ["198.19.7.0/24", "198.19.7.1"],
  ] as const) {
    assert.equal(kubernetesServiceIp(range), ip);
  }
  assert.throws(() => kubernetesServiceIp("2001:2:0:100::/112"), /IPv4 Service range/);
});
