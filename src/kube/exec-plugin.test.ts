import assert from "node:assert/strict";
import { test } from "node:test";
import { readExecPlugin } from "./exec-plugin.ts";
import type { ExecPlugin } from "./kubeconfig.ts";

const AT = "users[0].user.exec";
const V1 = "client.authentication.k8s.io/v1";

function read(
  value: unknown,
  folder?: string,
): { plugin: ExecPlugin | undefined; problems: string[] } {
  const problems: string[] = [];
  const plugin = readExecPlugin(value, AT, folder, problems);
  return { plugin, problems };
}

test("an exec block is read with its defaults", () => {
  const cases: { name: string; value: unknown; folder?: string; want: ExecPlugin }[] = [
    {
      name: "the least: apiVersion and command",
      value: { apiVersion: V1, command: "aws" },
      want: {
        apiVersion: V1,
        command: "aws",
        args: [],
        env: [],
        provideClusterInfo: false,
        installHint: undefined,
      },
    },
    {
      name: "every field",
      value: {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: "/usr/local/bin/kubelogin",
        args: ["get-token", "--server-id", "x"],
        env: [
          { name: "AWS_PROFILE", value: "prod" },
          { name: "EMPTY", value: "" },
          { name: "UNSET" },
        ],
        provideClusterInfo: true,
        interactiveMode: "Never",
        installHint: "install kubelogin",
      },
      want: {
        apiVersion: "client.authentication.k8s.io/v1beta1",
        command: "/usr/local/bin/kubelogin",
        args: ["get-token", "--server-id", "x"],
        env: [
          { name: "AWS_PROFILE", value: "prod" },
          { name: "EMPTY", value: "" },
          { name: "UNSET", value: "" },
        ],
        provideClusterInfo: true,
        installHint: "install kubelogin",
      },
    },
    {
      name: "a relative command with a slash: next to the kubeconfig file, as kubectl",
      value: { apiVersion: V1, command: "bin/plugin", interactiveMode: "IfAvailable" },
      folder: "/etc/kubeburst",
      want: {
        apiVersion: V1,
        command: "/etc/kubeburst/bin/plugin",
        args: [],
        env: [],
        provideClusterInfo: false,
        installHint: undefined,
      },
    },
    {
      name: "a bare name: looked up in PATH, not resolved",
      value: { apiVersion: V1, command: "gke-gcloud-auth-plugin" },
      folder: "/etc/kubeburst",
      want: {
        apiVersion: V1,
        command: "gke-gcloud-auth-plugin",
        args: [],
        env: [],
        provideClusterInfo: false,
        installHint: undefined,
      },
    },
  ];
  for (const { name, value, folder, want } of cases) {
    assert.deepEqual(read(value, folder), { plugin: want, problems: [] }, name);
  }
});

test("a malformed exec block: every problem, each naming its field", () => {
  const cases: { name: string; value: unknown; want: string[] }[] = [
    { name: "not a mapping", value: "aws", want: [`${AT}: expected a mapping, got a string`] },
    {
      name: "nothing set",
      value: {},
      want: [
        `${AT}.apiVersion: required field is missing; use "client.authentication.k8s.io/v1" or "client.authentication.k8s.io/v1beta1"`,
        `${AT}.command: required field is missing`,
      ],
    },
    {
      name: "v1alpha1",
      value: { apiVersion: "client.authentication.k8s.io/v1alpha1", command: "x" },
      want: [
        `${AT}.apiVersion: "client.authentication.k8s.io/v1alpha1" is not supported; use "client.authentication.k8s.io/v1" or "client.authentication.k8s.io/v1beta1"`,
      ],
    },
    {
      name: "wrong types",
      value: {
        apiVersion: 1,
        command: ["aws"],
        args: "eks get-token",
        env: { AWS_PROFILE: "x" },
        provideClusterInfo: "yes",
        installHint: 3,
      },
      want: [
        `${AT}.apiVersion: expected a string, got a whole number`,
        `${AT}.command: expected a string, got a list`,
        `${AT}.args: expected a list of strings, got a string`,
        `${AT}.env: expected a list of {name, value}, got a mapping`,
        `${AT}.provideClusterInfo: expected true or false, got a string`,
        `${AT}.installHint: expected a string, got a whole number`,
      ],
    },
    {
      name: "bad list items",
      value: {
        apiVersion: V1,
        command: "x",
        args: ["ok", 7],
        env: ["A=b", { value: "v" }, { name: "A=B", value: "v" }, { name: "N", value: 1 }],
      },
      want: [
        `${AT}.args[1]: expected a string, got a whole number`,
        `${AT}.env[0]: expected a mapping with name and value, got a string`,
        `${AT}.env[1].name: required field is missing`,
        `${AT}.env[2].name: expected a variable name (a string without "=")`,
        `${AT}.env[3].value: expected a string, got a whole number`,
      ],
    },
    {
      name: "interactiveMode Always",
      value: { apiVersion: V1, command: "x", interactiveMode: "Always" },
      want: [
        `${AT}.interactiveMode: "Always" needs a terminal, and kubeburst runs without one; use a plugin that runs unattended (interactiveMode Never or IfAvailable)`,
      ],
    },
    {
      name: "interactiveMode unknown",
      value: { apiVersion: V1, command: "x", interactiveMode: "never" },
      want: [`${AT}.interactiveMode: "never" is not allowed; use one of: Never, IfAvailable`],
    },
  ];
  for (const { name, value, want } of cases) {
    assert.deepEqual(read(value), { plugin: undefined, problems: want }, name);
  }
});
