import type { ClusterSpec } from "../config/cluster-spec.ts";
import { formatConfigErrors, loadConfigFile } from "../config/load-config.ts";
import { logLevelFromEnv } from "../config/log-level.ts";
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
 * `kubeburst check --config FILE`: validates the file and `KUBEBURST_LOG_LEVEL` as `run` would
 * (exit 2 when invalid), loads every kubeconfig the way `run` would, and asks each API server for
 * its version and for the lists kubeburst needs. A cluster is usable only when every answer is
 * complete (a version, a list with items): a call cut short never passes. Exit 0 when every
 * cluster is usable, 1 otherwise. Writes nothing.
 */
export async function checkCommand(configPath: string): Promise<number> {
  const loaded = await loadConfigFile(configPath);
  const level = logLevelFromEnv(process.env);
  if (!loaded.ok || !level.ok) {
    const errors = [...(loaded.ok ? [] : loaded.errors), ...(level.ok ? [] : level.errors)];
    process.stderr.write(`${formatConfigErrors(errors)}\n`);
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

const INCOMPLETE = "the answer was empty or incomplete (the call may have been cut short)";

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
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
    const version = await client.request<unknown>({ method: "GET", path: "/version" });
    const gitVersion = isRecord(version) ? version.gitVersion : undefined;
    if (typeof gitVersion !== "string" || gitVersion === "") {
      return { ...base, ok: false, detail: `${client.server}: /version: ${INCOMPLETE}` };
    }
    const lists = ["/api/v1/services", "/apis/discovery.k8s.io/v1/endpointslices"];
    if (spec.role === "production" && mode === "endpoints") lists.push("/api/v1/endpoints");
    for (const path of lists) {
      const list = await client.request<unknown>({ method: "GET", path, query: { limit: 1 } });
      if (!isRecord(list) || !Array.isArray(list.items)) {
        return { ...base, ok: false, detail: `${client.server}: ${path}: ${INCOMPLETE}` };
      }
    }
    return { ...base, ok: true, detail: `${client.server} ${gitVersion}` };
  } catch (err) {
    const kind = err instanceof KubeApiError ? err.kind : "error";
    const message = err instanceof Error ? err.message : String(err);
    return { ...base, ok: false, detail: `${client.server}: ${kind}: ${message}` };
  } finally {
    client.close();
  }
}
