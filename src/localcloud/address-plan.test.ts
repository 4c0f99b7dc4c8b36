// Addresses in this file are only data for pure functions: nothing is sent to them.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cidrContains, parseCidr } from "../config/cidr.ts";
import { parseIpAddress } from "../domain/ip-address.ts";
import {
  apiFabricAddress,
  apiNodeAddress,
  apiNodePodCidr,
  clusterRange,
  clusterRange6,
  familiesOf,
  kubeletPodSubnet,
  largeServiceRanges,
  maxApiNodes,
  maxClusters,
  maxKubeletNodes,
  nodeAddress,
  nodeAddress6,
  podAddress,
  podAddress6,
  serviceRange,
  serviceRange6,
} from "./address-plan.ts";

function cidr(text: string) {
  const parsed = parseCidr(text);
  assert.ok(parsed.ok, text);
  return parsed.cidr;
}

function contains(range: string, address: string): boolean {
  return cidrContains(cidr(range), parseIpAddress(address)!);
}

test("API-only node addresses and pod CIDRs follow the plan", () => {
  const cases: [number, number, string, string][] = [
    [0, 0, "198.19.64.1", "198.18.0.0/30"],
    [0, 63, "198.19.64.64", "198.18.0.252/30"],
    [0, 254, "198.19.64.255", "198.18.3.248/30"],
    [0, 255, "198.19.65.0", "198.18.3.252/30"],
    [1, 999, "198.19.71.232", "198.18.31.156/30"],
    [15, maxApiNodes - 1, "198.19.127.254", "198.18.255.244/30"],
  ];
  for (const [cluster, node, address, podCidr] of cases) {
    assert.equal(apiNodeAddress(cluster, node), address, `${cluster}/${node}`);
    assert.equal(apiNodePodCidr(cluster, node), podCidr, `${cluster}/${node}`);
  }
});

test("API-only nodes stay inside 198.18.0.0/15, apart from every Service range", () => {
  for (let cluster = 0; cluster < maxClusters; cluster++) {
    for (const node of [0, 500, maxApiNodes - 1]) {
      const address = apiNodeAddress(cluster, node);
      assert.ok(contains("198.19.64.0/18", address), address);
      for (const large of largeServiceRanges) assert.ok(!contains(large, address), address);
      for (let other = 0; other < maxClusters; other++) {
        assert.ok(!contains(serviceRange(other), address), `${address} in ${serviceRange(other)}`);
      }
      const pods = apiNodePodCidr(cluster, node);
      assert.ok(contains(clusterRange(cluster), pods.split("/")[0]!), pods);
      assert.equal(parseCidr(pods).ok, true, pods);
    }
  }
});

test("the large Service ranges lie in 198.19.0.0/16, apart, and overlap no cluster's /24", () => {
  const [a, b] = largeServiceRanges;
  for (const large of largeServiceRanges) {
    assert.ok(contains("198.19.0.0/16", large.split("/")[0]!), large);
    assert.equal(cidr(large).prefixLength, 18);
    for (let i = 0; i < maxClusters; i++) {
      assert.ok(!contains(large, serviceRange(i).split("/")[0]!), `${large} ∋ ${serviceRange(i)}`);
    }
  }
  assert.ok(!contains(a, b.split("/")[0]!) && !contains(b, a.split("/")[0]!));
});

test("API-only node indexes outside the plan are refused", () => {
  assert.throws(() => apiNodeAddress(0, maxApiNodes), /node index 1022 out of 0..1021/);
  assert.throws(() => apiNodeAddress(0, -1), /out of/);
  assert.throws(() => apiNodePodCidr(maxClusters, 0), /cluster index 16 out of 0..15/);
});

test("IPv6 addresses follow the plan and stay inside 2001:2::/48, each in its cluster's ranges", () => {
  assert.equal(nodeAddress6(0, 0), "2001:2::a");
  assert.equal(podAddress6(0, 0), "2001:2:0:1::a");
  assert.equal(podAddress6(1, 201), "2001:2:0:12::b");
  assert.equal(clusterRange6(1), "2001:2:0:10::/60");
  assert.equal(serviceRange6(2), "2001:2:0:102::/112");
  for (let cluster = 0; cluster < maxClusters; cluster++) {
    for (const address of [
      nodeAddress6(cluster, 0),
      nodeAddress6(cluster, 200),
      podAddress6(cluster, 0),
      podAddress6(cluster, 2999),
    ]) {
      assert.ok(contains("2001:2::/48", address), address);
      assert.ok(
        contains(clusterRange6(cluster), address),
        `${address} in ${clusterRange6(cluster)}`,
      );
      for (let other = 0; other < maxClusters; other++) {
        if (other !== cluster) assert.ok(!contains(clusterRange6(other), address), address);
        assert.ok(!contains(serviceRange6(other), address), address);
      }
    }
    assert.ok(
      cidrContains(cidr("2001:2::/48"), parseIpAddress(serviceRange6(cluster).split("/")[0]!)!),
    );
  }
  assert.throws(() => podAddress6(0, 3000), /pod index/);
  assert.throws(() => nodeAddress6(maxClusters, 0), /cluster index/);
});

test("family options name their families, primary first", () => {
  assert.deepEqual(familiesOf("ipv4"), ["IPv4"]);
  assert.deepEqual(familiesOf("ipv6"), ["IPv6"]);
  assert.deepEqual(familiesOf("dual"), ["IPv4", "IPv6"]);
});

test("kubelet pod subnets and the API address lie in their cluster's range, apart from every node and pod", () => {
  for (const c of [0, 1, maxClusters - 1]) {
    const subnets = Array.from({ length: maxKubeletNodes }, (_, m) => kubeletPodSubnet(c, m));
    assert.equal(new Set(subnets).size, maxKubeletNodes);
    const planned = [
      ...Array.from({ length: 201 }, (_, j) => nodeAddress(c, j)),
      ...Array.from({ length: 3000 }, (_, k) => podAddress(c, k)),
    ];
    for (const subnet of subnets) {
      assert.ok(contains(clusterRange(c), subnet.replace(/\/27$/, "")), subnet);
      assert.equal(planned.filter((a) => contains(subnet, a)).length, 0, subnet);
      assert.ok(!contains(subnet, apiFabricAddress(c)));
    }
    assert.ok(contains(clusterRange(c), apiFabricAddress(c)));
    assert.ok(!planned.includes(apiFabricAddress(c)));
  }
  assert.throws(() => kubeletPodSubnet(0, maxKubeletNodes), /out of 0\.\.14/);
});
