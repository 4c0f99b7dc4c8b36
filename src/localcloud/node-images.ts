import { execFile } from "node:child_process";
import { copyFile, mkdtemp, readFile, rm } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** An image a kubelet node can run: its name, and an OCI archive its containerd imports. */
export interface NodeImage {
  image: string;
  archive: string;
}

/**
 * The pod sandbox image, made here from the pause program `make k8s-bin` compiles (no registry
 * to pull registry.k8s.io/pause from): one layer holding /pause, run as 65535 like upstream's.
 * Written into `dir` as an OCI archive.
 */
export async function pauseImage(pauseBinary: string, dir: string): Promise<NodeImage> {
  const version = (await readFile(`${pauseBinary}.version`, "utf8")).trim();
  const image = `localhost/kubeburst-pause:${version}`;
  const root = await mkdtemp(path.join(dir, "pause-"));
  try {
    await copyFile(pauseBinary, path.join(root, "pause"));
    await run("tar", ["-C", root, "-cf", path.join(root, "layer.tar"), "pause"]);
    const previous = await imageId(image);
    await run("podman", [
      "import",
      "--quiet",
      "--change",
      'ENTRYPOINT ["/pause"]',
      "--change",
      "USER 65535:65535",
      path.join(root, "layer.tar"),
      image,
    ]);
    // The image this import replaced would stay behind untagged at every run.
    if (previous !== undefined && previous !== (await imageId(image))) {
      await run("podman", ["rmi", previous]).catch(() => {});
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
  return { image, archive: await saveImage(image, dir) };
}

/** Writes podman's image `image` (built by `make image`, say) into `dir` as an OCI archive. */
export async function saveImage(image: string, dir: string): Promise<string> {
  const archive = path.join(dir, `${image.replace(/[^a-zA-Z0-9.-]+/g, "_")}.oci.tar`);
  await run("podman", ["save", "--quiet", "--format", "oci-archive", "-o", archive, image], {
    timeout: 300_000,
  });
  return archive;
}

/** The ID of podman's image `image`, or undefined when there is none. */
async function imageId(image: string): Promise<string | undefined> {
  try {
    const { stdout } = await run("podman", ["image", "inspect", "--format", "{{.Id}}", image]);
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  }
}
