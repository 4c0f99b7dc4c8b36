// The config file most cluster tests run kubeburst with: "private" as production (admin
// kubeconfig), each named peak allowed its own pod range, metrics on a free loopback port.
import { rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { stringify } from "yaml";
import type { LocalCloud } from "../../src/localcloud/local-cloud.ts";

export interface TestConfig {
  /** Peak clusters, each with its own pod range allowed. Default ["public"]. */
  peaks?: string[];
  /** Fields added to every peak entry (e.g. maxEndpointsPerService). */
  peak?: Record<string, unknown>;
  /** Top-level settings (staleTTL, mode, leaderElection, …). */
  settings?: Record<string, unknown>;
}

/** Writes `file` in `dir` (whole, then renamed into place: never read half-written); its path. */
export async function writeTestConfig(
  cloud: LocalCloud,
  dir: string,
  file: string,
  { peaks = ["public"], peak = {}, settings = {} }: TestConfig = {},
): Promise<string> {
  const configPath = path.join(dir, file);
  const config = {
    clusters: [
      { name: "private", role: "production", kubeconfig: cloud.cluster("private").kubeconfigPath },
      ...peaks.map((name) => ({
        name,
        role: "peak",
        kubeconfig: cloud.cluster(name).kubeconfigPath,
        allowedCIDRs: [cloud.podRange(name)],
        ...peak,
      })),
    ],
    metrics: { address: "127.0.0.1:0" },
    ...settings,
  };
  await writeFile(`${configPath}.tmp`, stringify(config));
  await rename(`${configPath}.tmp`, configPath);
  return configPath;
}
