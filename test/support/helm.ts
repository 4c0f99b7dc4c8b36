import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parseAllDocuments } from "yaml";
import type { KubeClient } from "../../src/kube/kube-client.ts";

const run = promisify(execFile);
const root = fileURLToPath(new URL("../../", import.meta.url));
const helmCache = process.env.KUBEBURST_HELM_CACHE ?? path.join(root, ".cache/helm");
const helmHome = path.join(helmCache, "home");

/** The repository's chart. */
export const CHART_DIR = path.join(root, "charts/kubeburst");

/** A rendered Kubernetes object, as parsed from `helm template`. */
export interface RenderedObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  [field: string]: unknown;
}

let helmPath: Promise<string> | undefined;

/**
 * The pinned Helm built from its Go module by `scripts/helm-bin.sh` (built on first use, then
 * cached in `.cache/helm`, or `KUBEBURST_HELM_CACHE`).
 */
function helm(): Promise<string> {
  helmPath ??= run("bash", [path.join(root, "scripts/helm-bin.sh")], {
    maxBuffer: 16 << 20,
  }).then(() => path.join(helmCache, "helm"));
  return helmPath;
}

/** Runs helm with `args`; rejects with helm's stderr when it exits non-zero. */
export async function runHelm(args: string[]): Promise<string> {
  const bin = await helm();
  // Helm's own files (repositories, plugins) stay in the cache, not in the user's home.
  const env = {
    ...process.env,
    HELM_CACHE_HOME: helmHome,
    HELM_CONFIG_HOME: helmHome,
    HELM_DATA_HOME: helmHome,
  };
  try {
    const { stdout } = await run(bin, args, { maxBuffer: 16 << 20, env });
    return stdout;
  } catch (err) {
    const stderr = String((err as { stderr?: unknown }).stderr ?? "").trim();
    throw new Error(`helm ${args.join(" ")} failed: ${stderr}`, { cause: err });
  }
}

/** Runs helm `verb` on a chart with each of `values` as a values file; returns stdout. */
export async function runHelmWithValues(
  args: string[],
  values: readonly Record<string, unknown>[],
): Promise<string> {
  const dir = await mkdtemp(path.join(tmpdir(), "kubeburst-helm-"));
  try {
    const files: string[] = [];
    for (const [i, v] of values.entries()) {
      const file = path.join(dir, `values-${i}.json`); // JSON is YAML
      await writeFile(file, JSON.stringify(v));
      files.push("--values", file);
    }
    return await runHelm([...args, ...files]);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * `helm template` of the chart in `chartDir` as release `release` in `namespace`: the objects
 * it renders.
 */
export async function renderChart(
  values: readonly Record<string, unknown>[] = [],
  { chartDir = CHART_DIR, release = "kubeburst", namespace = "kubeburst" } = {},
): Promise<RenderedObject[]> {
  const stdout = await runHelmWithValues(
    ["template", release, chartDir, "--namespace", namespace],
    values,
  );
  return parseAllDocuments(stdout)
    .map((doc) => doc.toJS() as RenderedObject | null)
    .filter((obj): obj is RenderedObject => obj !== null);
}

/** The REST path of a rendered object (every kind the chart renders has a regular plural). */
export function objectPath(obj: RenderedObject): string {
  const base = obj.apiVersion.includes("/") ? `/apis/${obj.apiVersion}` : `/api/${obj.apiVersion}`;
  const ns = obj.metadata.namespace ? `/namespaces/${obj.metadata.namespace}` : "";
  return `${base}${ns}/${obj.kind.toLowerCase()}s/${obj.metadata.name}`;
}

/** Server-side apply of one rendered object, as `kubectl apply --server-side` does; the stored object. */
export function serverSideApply(
  client: KubeClient,
  obj: RenderedObject,
): Promise<{ metadata: { name: string; resourceVersion: string } }> {
  return client.request({
    method: "PATCH",
    path: objectPath(obj),
    query: { fieldManager: "kubeburst-chart-test", force: true },
    contentType: "application/apply-patch+yaml",
    body: obj,
  });
}
