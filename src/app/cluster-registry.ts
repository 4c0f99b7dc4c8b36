import type { ClusterSpec } from "../config/cluster-spec.ts";
import { type Config, formatConfigErrors, loadConfigFile } from "../config/load-config.ts";
import type { ClusterController } from "../controller/cluster-controller.ts";
import {
  clusterFingerprint,
  mergeClusterSources,
  readSecretClusters,
} from "../discovery/cluster-sources.ts";
import { EventRecorder } from "../kube/events.ts";
import { KubeApiError } from "../kube/kube-api-error.ts";
import { KubeClient } from "../kube/kube-client.ts";
import { loadKubeconfig } from "../kube/load-kubeconfig.ts";
import { ExpectedError } from "../observability/expected-error.ts";
import type { Logger } from "../observability/logger.ts";
import type { Clock } from "../runtime/clock.ts";
import type { ProblemLog } from "./problem-log.ts";

/** A watched cluster's controller and what it needs to stop. */
export interface RunningCluster {
  spec: ClusterSpec;
  fingerprint: string;
  controller: ClusterController;
  events: EventRecorder;
  stop: AbortController;
  done: Promise<void>;
}

export interface ClusterRegistryOptions {
  config: Config;
  clock: Clock;
  logger: Logger;
  problems: ProblemLog;
  /**
   * Builds the controller of a cluster; `synced` must be called from its onSynced. `generation`
   * counts the controllers of one cluster name, so a replacement's reports win over its
   * predecessor's.
   */
  newController(
    spec: ClusterSpec,
    client: KubeClient,
    generation: number,
    synced: () => void,
  ): ClusterController;
  /** A cluster that was not watched before is now (its controller starts). */
  onAdded(running: RunningCluster): void;
  /** A controller listed everything; `replaced` is the one it takes over from, if any. */
  onSynced(running: RunningCluster, replaced: RunningCluster | undefined): void;
  /** A peak is no longer declared; its controller is stopped. */
  onRemoved(name: string): Promise<void>;
}

/**
 * Cluster discovery (SPEC M1): the declared clusters, from the config file (re-read every
 * `discoveryInterval`) and from Secrets in the production cluster, each with one running
 * controller. A changed cluster gets a replacement controller that takes over only once it has
 * synced; a cluster no longer declared is stopped.
 */
export class ClusterRegistry {
  readonly #opts: ClusterRegistryOptions;
  readonly #log: Logger;
  /** The controllers in use, by cluster name. */
  readonly #clusters = new Map<string, RunningCluster>();
  /** Replacements for changed clusters, waiting for their first sync. */
  readonly #replacements = new Map<string, RunningCluster>();
  /** The last good settings of the file, and the last good Secret clusters (kept on failure). */
  #fileConfig: Config;
  #secretClusters: { secret: string; spec: ClusterSpec }[] = [];
  #generation = 0;
  /** Every declared cluster as of the last discovery, production first. */
  #declared: ClusterSpec[] = [];
  /** Declared clusters whose kubeconfig is refused (no controller runs for them), and why. */
  readonly #refused = new Map<string, string>();

  constructor(opts: ClusterRegistryOptions) {
    this.#opts = opts;
    this.#log = opts.logger;
    this.#fileConfig = opts.config;
  }

  /** The running controller of cluster `name`. */
  get(name: string): RunningCluster | undefined {
    return this.#clusters.get(name);
  }

  /** The production cluster's settings (from the file, always declared). */
  get productionSpec(): ClusterSpec {
    return this.#fileConfig.clusters[0]!;
  }

  /** The production cluster's running controller. */
  production(): RunningCluster | undefined {
    return this.#clusters.get(this.productionSpec.name);
  }

  /** Every running cluster, and the replacements still syncing. */
  all(): RunningCluster[] {
    return [...this.#clusters.values(), ...this.#replacements.values()];
  }

  /**
   * Every declared cluster, production first: its running controller, or why its kubeconfig is
   * refused (then no controller runs), or neither while it has not been started yet.
   */
  declared(): { spec: ClusterSpec; running?: RunningCluster; refused?: string }[] {
    const specs = this.#declared.length > 0 ? this.#declared : [this.productionSpec];
    return specs.map((spec) => {
      const running = this.#clusters.get(spec.name);
      const refused = this.#refused.get(spec.name);
      return {
        spec,
        ...(running ? { running } : {}),
        ...(refused !== undefined && !running ? { refused } : {}),
      };
    });
  }

  /** The running clusters. */
  current(): RunningCluster[] {
    return [...this.#clusters.values()];
  }

  /**
   * The first discovery: starts production, waits for its first sync (at most `syncTimeout`), so
   * that Secret clusters are known before the first write, then starts the peaks. Throws when the
   * production cluster cannot be watched at all.
   */
  async start(signal: AbortSignal): Promise<void> {
    const production = this.productionSpec;
    await this.#ensure(production, signal);
    const prod = this.production();
    if (!prod) {
      throw new ExpectedError(
        `the production cluster ${JSON.stringify(production.name)} cannot be watched; see the error above`,
      );
    }
    const waited = new AbortController();
    const both = AbortSignal.any([signal, waited.signal]);
    await Promise.race([
      prod.controller.waitForSync(both),
      this.#opts.clock.sleep(this.#opts.config.syncTimeoutMs, both),
    ]);
    waited.abort();
    if (!signal.aborted) await this.#reconcile(signal);
  }

  /** Re-reads every source every `discoveryInterval` until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    const { clock, config } = this.#opts;
    while (!signal.aborted) {
      await clock.sleep(config.discoveryIntervalMs, signal);
      if (signal.aborted) return;
      try {
        await this.#rereadFile();
        await this.#ensure(this.productionSpec, signal);
        await this.#reconcile(signal);
      } catch (err) {
        if (!signal.aborted) this.#log.error({ err }, "cluster discovery failed");
      }
    }
  }

  /** Reads the Secrets, then starts, swaps and stops peak controllers. */
  async #reconcile(signal: AbortSignal): Promise<void> {
    const prod = this.production();
    if (prod?.controller.hasSynced) await this.#readSecrets(prod, signal);
    if (signal.aborted) return;
    const declared = mergeClusterSources(this.#fileConfig.clusters, this.#secretClusters);
    this.#opts.problems.report("merge", declared.problems);
    const wanted = new Set(declared.specs.map((s) => s.name));
    this.#declared = [this.productionSpec, ...declared.specs.slice(1)];
    for (const name of this.#refused.keys()) if (!wanted.has(name)) this.#refused.delete(name);
    for (const spec of declared.specs.slice(1)) await this.#ensure(spec, signal);
    for (const name of new Set(this.all().map((r) => r.spec.name))) {
      if (wanted.has(name) || name === this.productionSpec.name) continue;
      for (const running of [this.#replacements.get(name), this.#clusters.get(name)]) {
        if (running) this.#stop(running);
      }
      this.#log.info({ cluster: name }, "cluster removed; withdrawing its endpoints");
      await this.#opts.onRemoved(name);
    }
  }

  async #readSecrets(prod: RunningCluster, signal: AbortSignal): Promise<void> {
    const namespace = this.#fileConfig.namespace;
    try {
      const read = await readSecretClusters(prod.controller.client, namespace, signal);
      this.#secretClusters = read.found;
      this.#opts.problems.report("secret", read.problems);
      this.#opts.problems.report("secret-list", []);
    } catch (err) {
      if (signal.aborted) return;
      // Keep the Secret clusters we had: a failed list is not a removal.
      const kind = err instanceof KubeApiError ? err.kind : "error";
      const reason = err instanceof Error ? err.message : String(err);
      this.#opts.problems.report("secret-list", [
        {
          path: `secrets in namespace ${namespace}`,
          message: `cannot list (${kind}): ${reason}; keeping the clusters they declared before`,
        },
      ]);
    }
  }

  async #rereadFile(): Promise<void> {
    const { problems } = this.#opts;
    const current = this.#fileConfig;
    const result = await loadConfigFile(current.sourcePath);
    if (!result.ok) {
      problems.report("file", [
        {
          path: "",
          message: `${current.sourcePath} is invalid; keeping the clusters it declared before:\n${formatConfigErrors(result.errors)}`,
        },
      ]);
      return;
    }
    problems.report("file", []);
    const next = result.config;
    const [was, now] = [current.clusters[0]!.name, next.clusters[0]!.name];
    if (was !== now) {
      problems.report("production-name", [
        {
          path: "clusters",
          message: `the production cluster changed from ${JSON.stringify(was)} to ${JSON.stringify(now)}; restart kubeburst to switch production clusters (keeping ${JSON.stringify(was)})`,
        },
      ]);
      return;
    }
    problems.report("production-name", []);
    const { clusters: _a, ...before } = current;
    const { clusters: _b, ...after } = next;
    const changed = JSON.stringify(before) !== JSON.stringify(after);
    problems.report(
      "restart-needed",
      changed
        ? [
            {
              path: "",
              message:
                "settings other than clusters changed; restart kubeburst to apply them (clusters are applied live)",
            },
          ]
        : [],
    );
    this.#fileConfig = { ...current, clusters: next.clusters };
  }

  /** Starts cluster `spec.name`, or a replacement when its settings or kubeconfig changed. */
  async #ensure(spec: ClusterSpec, signal: AbortSignal): Promise<void> {
    const fingerprint = await clusterFingerprint(spec);
    if (signal.aborted) return;
    const current = this.#clusters.get(spec.name);
    const pending = this.#replacements.get(spec.name);
    if (current?.fingerprint === fingerprint) {
      if (pending) this.#stop(pending);
      return;
    }
    if (pending?.fingerprint === fingerprint) return;
    if (pending) this.#stop(pending);
    const started = this.#start(spec, fingerprint, signal);
    if (!started) return;
    if (current) {
      this.#log.info(
        { cluster: spec.name },
        "cluster settings changed; starting a replacement controller",
      );
      this.#replacements.set(spec.name, started);
    } else {
      this.#log.info({ cluster: spec.name, role: spec.role, source: spec.source }, "cluster added");
      this.#clusters.set(spec.name, started);
      this.#opts.onAdded(started);
    }
  }

  #start(spec: ClusterSpec, fingerprint: string, signal: AbortSignal): RunningCluster | undefined {
    const { config, clock, problems } = this.#opts;
    const topic = `kubeconfig:${spec.name}`;
    const refuse = (reasons: string[]) => {
      this.#refused.set(spec.name, `kubeconfig refused: ${reasons.join("; ")}`);
      problems.report(topic, [
        {
          path: `cluster ${spec.name} (${spec.source}): kubeconfig`,
          message: `${reasons.join("; ")}; the cluster is not watched`,
        },
      ]);
      return undefined;
    };
    const loaded = loadKubeconfig(spec.kubeconfig, {
      context: spec.context,
      allowInsecure: spec.allowInsecureKubeconfig,
      // A Secret can never allow an insecure kubeconfig: do not point its author at the setting.
      ...(spec.source === "secret" ? { refusalHint: "refused in a Secret" } : {}),
    });
    if (!loaded.ok) return refuse(loaded.problems);
    let client: KubeClient;
    try {
      client = new KubeClient(loaded.kubeConfig, { timeoutMs: config.api.timeoutMs });
    } catch (err) {
      return refuse([err instanceof Error ? err.message : String(err)]);
    }
    problems.report(topic, []);
    this.#refused.delete(spec.name);
    const stop = new AbortController();
    const cancel = () => stop.abort();
    signal.addEventListener("abort", cancel, { once: true });
    const controller = this.#opts.newController(spec, client, ++this.#generation, () =>
      this.#synced(running),
    );
    const running: RunningCluster = {
      spec,
      fingerprint,
      controller,
      events: new EventRecorder(client, clock),
      stop,
      done: controller.run(stop.signal).finally(() => {
        signal.removeEventListener("abort", cancel);
        client.close(); // its keep-alive connections would hold the process open
      }),
    };
    return running;
  }

  /** A controller listed everything: a replacement takes over here. */
  #synced(running: RunningCluster): void {
    const name = running.spec.name;
    if (this.#replacements.get(name) === running) {
      const old = this.#clusters.get(name);
      this.#replacements.delete(name);
      this.#clusters.set(name, running);
      old?.stop.abort();
      this.#log.info({ cluster: name }, "replacement controller synced; switched to it");
      this.#opts.onSynced(running, old);
      return;
    }
    if (this.#clusters.get(name) === running) this.#opts.onSynced(running, undefined);
  }

  #stop(running: RunningCluster): void {
    running.stop.abort();
    const name = running.spec.name;
    if (this.#clusters.get(name) === running) this.#clusters.delete(name);
    if (this.#replacements.get(name) === running) this.#replacements.delete(name);
  }
}
