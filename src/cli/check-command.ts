import type { ClusterSpec } from "../config/cluster-spec.ts";
import { formatConfigErrors, loadConfigFile } from "../config/load-config.ts";
import { KubeApiError } from "../kube/kube-api-error.ts";
import { KubeClient } from "../kube/kube-client.ts";
import { loadKubeconfig } from "../kube/load-kubeconfig.ts";

/** What `check` found for one cluster. */
interface ClusterCheck {
  name: string;
  role: string;
  ok: boolean;
  detail: string;
}

/**
 * `kubeburst check --config FILE`: validates the file (exit 2 when invalid), loads every
 * kubeconfig the way `run` would, and asks each API server for its version and for the lists
 * kubeburst needs. Exit 0 when every cluster is usable, 1 otherwise. Writes nothing.
 */
export async function checkCommand(configPath: string): Promise<number> {
  const loaded = await loadConfigFile(configPath);
  if (!loaded.ok) {
    process.stderr.write(`${formatConfigErrors(loaded.errors)}\n`);
    return 2;
  }
  const { config } = loaded;
  const results = await Promise.all(
    config.clusters.map((spec) => checkCluster(spec, config.api.timeoutMs, config.mode)),
  );
  const width = Math.max(...results.map((r) => r.name.length));
  for (const r of results) {
    process.stdout.write(
      `${r.ok ? "ok  " : "FAIL"} ${r.name.padEnd(width)}  ${r.role.padEnd(10)} ${r.detail}\n`,
    );
  }
  return results.every((r) => r.ok) ? 0 : 1;
}

async function checkCluster(
  spec: ClusterSpec,
  timeoutMs: number,
  mode: string,
): Promise<ClusterCheck> {
  const base = { name: spec.name, role: spec.role };
  const kc = loadKubeconfig(spec.kubeconfig, {
    context: spec.context,
    allowInsecure: spec.allowInsecureKubeconfig,
  });
  if (!kc.ok) return { ...base, ok: false, detail: `kubeconfig: ${kc.problems.join("; ")}` };
  const client = new KubeClient(kc.kubeConfig, { timeoutMs: Math.min(timeoutMs, 10_000) });
  try {
    const version = await client.request<{ gitVersion?: string }>({
      method: "GET",
      path: "/version",
    });
    const lists = ["/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices"];
    if (spec.role === "production" && mode === "endpoints") lists.push("/api/v1/endpoints");
    for (const path of lists) {
      await client.request({ method: "GET", path, query: { limit: 1 } });
    }
    return {
      ...base,
      ok: true,
      detail: `${client.server} ${version.gitVersion ?? "(no version)"}`,
    };
  } catch (err) {
    const kind = err instanceof KubeApiError ? err.kind : "error";
    const message = err instanceof Error ? err.message : String(err);
    return { ...base, ok: false, detail: `${client.server}: ${kind}: ${message}` };
  } finally {
    client.close();
  }
}
