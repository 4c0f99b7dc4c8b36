import type { Dirent } from "node:fs";
import { access, mkdir, readdir, readFile, rmdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { setTimeout as sleep } from "node:timers/promises";

const CGROUP_ROOT = "/sys/fs/cgroup";
/** How long a cgroup of ours may stay busy after its processes were stopped. */
const EMPTY_TIMEOUT_MS = 30_000;

/**
 * One parent cgroup a test owns, `/<name>` in every hierarchy the host mounts (cgroup v1: one per
 * controller; v2: the one unified tree), and everything made under it: a container runtime, a
 * kubelet's pods. Processes are placed in it by PID, found in it by PID, and
 * {@link killAllAndRemove} kills them and deletes the whole tree. Nothing outside `/<name>` is
 * written.
 */
export class CgroupTree {
  readonly name: string;
  readonly #hierarchies: string[];

  private constructor(name: string, hierarchies: string[]) {
    this.name = name;
    this.#hierarchies = hierarchies;
  }

  /** Creates `/<name>` in every hierarchy (and `children` under it). */
  static async create(name: string, children: string[] = []): Promise<CgroupTree> {
    const tree = new CgroupTree(name, await hierarchies());
    for (const dir of ["", ...children]) await tree.#mkdir(dir);
    return tree;
  }

  /**
   * A shell command that moves the shell itself into `/<name>/<child>` in every hierarchy: run
   * before `exec` of a program, everything the program starts is in the tree from its first step.
   */
  enterCommand(child: string): string {
    const files = this.#hierarchies.map(
      (h) => `'${path.join(h, this.name, child, "cgroup.procs")}'`,
    );
    return `for f in ${files.join(" ")}; do echo $$ > "$f"; done`;
  }

  /**
   * Every process in the tree, in any hierarchy; with `named`, only those in (or under) the
   * tree's cgroups of that name (a container's ID, say).
   */
  async pids(named?: string): Promise<number[]> {
    const found = new Set<number>();
    for (const h of this.#hierarchies) {
      const dirs = await subtree(path.join(h, this.name));
      const chosen =
        named === undefined ? dirs : dirs.filter((d) => d.split(path.sep).includes(named));
      for (const dir of chosen) {
        const text = await readFile(path.join(dir, "cgroup.procs"), "utf8").catch(() => "");
        for (const line of text.split("\n")) if (line.trim()) found.add(Number(line));
      }
    }
    return [...found];
  }

  /**
   * Sends SIGKILL to every process in the tree until none is left (a process may fork while the
   * list is read), then removes every cgroup of the tree, deepest first.
   */
  async killAllAndRemove(): Promise<void> {
    const deadline = Date.now() + EMPTY_TIMEOUT_MS;
    for (;;) {
      const pids = await this.pids();
      if (pids.length === 0) break;
      if (Date.now() > deadline) throw new Error(`cgroup /${this.name} still holds ${pids}`);
      for (const pid of pids) {
        try {
          process.kill(pid, "SIGKILL");
        } catch {
          // gone already
        }
      }
      await sleep(100);
    }
    await removeCgroupTree(this.name, this.#hierarchies);
  }

  async #mkdir(child: string): Promise<void> {
    for (const h of this.#hierarchies) {
      const dir = path.join(h, this.name, child);
      await mkdir(dir, { recursive: true });
      // cgroup v2 (unified only): the parent hands its controllers on to the children made in
      // it; processes live in the children only (v2 has none in a cgroup that hands them on).
      if (h === CGROUP_ROOT && child === "") {
        const controllers = (await readFile(path.join(dir, "cgroup.controllers"), "utf8")).trim();
        if (controllers !== "") {
          const enable = controllers
            .split(/\s+/)
            .map((c) => `+${c}`)
            .join(" ");
          await writeFile(path.join(dir, "cgroup.subtree_control"), enable);
        }
      }
      // cgroup v1's cpuset starts empty and takes no process until given CPUs and memory nodes.
      if (path.basename(h) === "cpuset") {
        for (const file of ["cpuset.cpus", "cpuset.mems"]) {
          const value = await readFile(path.join(h, file), "utf8");
          for (const d of [path.join(h, this.name), dir]) {
            const current = await readFile(path.join(d, file), "utf8");
            if (current.trim() === "") await writeFile(path.join(d, file), value);
          }
        }
      }
    }
  }
}

/**
 * Removes `/<name>` and everything under it in every hierarchy (default: all of them),
 * deepest first. A cgroup whose last process is exiting answers EBUSY for a moment: retried.
 */
export async function removeCgroupTree(name: string, within?: string[]): Promise<void> {
  for (const h of within ?? (await hierarchies())) {
    for (const dir of (await subtree(path.join(h, name))).reverse()) {
      const deadline = Date.now() + EMPTY_TIMEOUT_MS;
      for (;;) {
        try {
          await rmdir(dir);
          break;
        } catch (err) {
          const code = (err as NodeJS.ErrnoException).code;
          if (code === "ENOENT") break;
          if (code !== "EBUSY" || Date.now() > deadline) throw err;
        }
        await sleep(100);
      }
    }
  }
}

/** The hierarchies mounted under /sys/fs/cgroup: the unified root (v2) or one per v1 controller. */
async function hierarchies(): Promise<string[]> {
  const unifiedOnly = await access(path.join(CGROUP_ROOT, "cgroup.controllers")).then(
    () => true,
    () => false,
  );
  if (unifiedOnly) return [CGROUP_ROOT];
  // On a hybrid host (v1 controllers and a v2 tree at "unified"), runc and podman use both.
  const entries = await readdir(CGROUP_ROOT, { withFileTypes: true }).catch(() => [] as Dirent[]);
  return entries.filter((e) => e.isDirectory()).map((e) => path.join(CGROUP_ROOT, e.name));
}

/** `dir` and every folder under it, parents before children; empty when `dir` is missing. */
async function subtree(dir: string): Promise<string[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return [];
  }
  const out = [dir];
  for (const e of entries)
    if (e.isDirectory()) out.push(...(await subtree(path.join(dir, e.name))));
  return out;
}
