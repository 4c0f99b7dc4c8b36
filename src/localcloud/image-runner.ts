import { execFile } from "node:child_process";
import { chmod, chown, mkdtemp, readdir, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { parse as parseYaml, stringify } from "yaml";
import { removeCgroupTree } from "./cgroup-tree.ts";
import type { KubeburstLauncher } from "./kubeburst-process.ts";

const run = promisify(execFile);
const imageScript = fileURLToPath(new URL("../../scripts/image.sh", import.meta.url));

/** The image's user (the Dockerfile's USER): the files it reads are given to it. */
const IMAGE_UID = 65532;
/** Where the config and kubeconfigs are mounted, read-only, inside the container. */
const MOUNT = "/etc/kubeburst";

/**
 * Runs the kubeburst image built by `make image` (scripts/image.sh) with podman, as a cluster
 * would: its own UID, a read-only root filesystem, no capabilities, the config and kubeconfigs
 * mounted read-only; host network, so it reaches the local cloud's API servers as
 * `kubeburst run` from the clone does. runc runs it (Debian 12's crun refuses hybrid cgroups);
 * every container sits under one cgroup parent of this runner, removed by {@link close}.
 */
export class ImageRunner {
  readonly image: string;
  readonly #name: string;
  readonly #stageDirs: string[] = [];
  readonly #containers: string[] = [];

  private constructor(image: string) {
    this.image = image;
    this.#name = `kubeburst-image-${process.pid}`;
  }

  /** Builds the image (cached: seconds when nothing changed) and returns a runner for it. */
  static async build(): Promise<ImageRunner> {
    const { stdout } = await run("bash", [imageScript], { maxBuffer: 64 << 20 }).catch(
      (err: { stderr?: string }) => {
        throw new Error(`make image failed: ${String(err.stderr ?? err).trim()}`, { cause: err });
      },
    );
    const image = stdout.trim().split("\n").at(-1) ?? "";
    if (image === "") throw new Error("scripts/image.sh printed no image name");
    return new ImageRunner(image);
  }

  /** `podman run` arguments up to and including the image; `args` follow it. */
  async podmanRun(container: string, extra: string[], args: string[]): Promise<string[]> {
    const limits = await processLimits();
    this.#containers.push(container);
    return [
      "run",
      "--rm",
      "--name",
      container,
      "--pull=never",
      "--runtime=runc",
      `--cgroup-parent=/${this.#name}`,
      "--network=host",
      "--read-only",
      "--cap-drop=ALL",
      "--security-opt=no-new-privileges",
      // podman would raise these limits, which needs CAP_SYS_RESOURCE; ask for no more than we have.
      `--ulimit=nofile=${Math.min(limits.nofile, 65_536)}:${Math.min(limits.nofile, 65_536)}`,
      `--ulimit=nproc=${Math.min(limits.nproc, 4096)}:${Math.min(limits.nproc, 4096)}`,
      ...extra,
      this.image,
      ...args,
    ];
  }

  /** Runs the image with `args` (e.g. `version`) to the end: exit code and output. */
  async runToEnd(
    args: string[],
    extra: string[] = [],
  ): Promise<{ code: number; stdout: string; stderr: string }> {
    const container = `${this.#name}-${this.#containers.length}`;
    try {
      const { stdout, stderr } = await run("podman", await this.podmanRun(container, extra, args));
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code?: unknown; stdout?: string; stderr?: string };
      if (typeof e.code !== "number") throw err;
      return { code: e.code, stdout: e.stdout ?? "", stderr: e.stderr ?? "" };
    }
  }

  /**
   * A launcher for {@link KubeburstProcess.start}: copies the config file and the kubeconfigs it
   * names into a folder the image's user owns, rewrites their paths to the mount, and runs
   * `kubeburst run` in a container. SIGTERM to podman reaches kubeburst (podman proxies it).
   */
  readonly launch: KubeburstLauncher = async (configPath, env) => {
    const stage = await mkdtemp(path.join(tmpdir(), "kubeburst-image-"));
    this.#stageDirs.push(stage);
    const config = parseYaml(await readFile(configPath, "utf8")) as {
      clusters?: { name: string; kubeconfig?: string }[];
    };
    for (const cluster of config.clusters ?? []) {
      if (cluster.kubeconfig === undefined) continue;
      const file = `${cluster.name}.kubeconfig`;
      const source = path.resolve(path.dirname(configPath), cluster.kubeconfig);
      await writeFile(path.join(stage, file), await readFile(source));
      cluster.kubeconfig = `${MOUNT}/${file}`;
    }
    await writeFile(path.join(stage, "config.yaml"), stringify(config));
    for (const name of await readdir(stage)) {
      await chown(path.join(stage, name), IMAGE_UID, IMAGE_UID);
      await chmod(path.join(stage, name), 0o400);
    }
    await chown(stage, IMAGE_UID, IMAGE_UID);
    await chmod(stage, 0o500);
    const container = `${this.#name}-${this.#containers.length}`;
    const extra = [`--volume=${stage}:${MOUNT}:ro`];
    if (env.KUBEBURST_LOG_LEVEL) extra.push(`--env=KUBEBURST_LOG_LEVEL=${env.KUBEBURST_LOG_LEVEL}`);
    return {
      command: "podman",
      args: await this.podmanRun(container, extra, ["run", "--config", `${MOUNT}/config.yaml`]),
    };
  };

  /**
   * Removes every container of this runner that is still there (normally none: they run with
   * --rm), the staged files and the cgroup parent. Call it after the processes were stopped.
   */
  async close(): Promise<void> {
    for (const container of this.#containers) {
      await run("podman", ["rm", "--force", "--ignore", container]).catch(() => undefined);
    }
    for (const dir of this.#stageDirs) await rm(dir, { recursive: true, force: true });
    await removeCgroupTree(this.#name);
  }
}

/** The hard limits of this process on open files and processes (podman may not raise them). */
async function processLimits(): Promise<{ nofile: number; nproc: number }> {
  const text = await readFile("/proc/self/limits", "utf8");
  const hard = (label: string): number => {
    const line = text.split("\n").find((l) => l.startsWith(label)) ?? "";
    const value = line.slice(label.length).trim().split(/\s+/)[1];
    return value === undefined || value === "unlimited" ? Number.POSITIVE_INFINITY : Number(value);
  };
  return { nofile: hard("Max open files"), nproc: hard("Max processes") };
}
