import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";

const bin = path.resolve(import.meta.dirname, "../../bin/kubeburst.js");

async function kubeburst(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [bin, ...args]);
    return { code: 0, stdout, stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

test("an invalid config file: exit code 2 and every problem with its field, for run and check", async () => {
  const dir = await mkdtemp(path.join(tmpdir(), "kubeburst-cli-"));
  try {
    const file = path.join(dir, "kubeburst.yaml");
    await writeFile(
      file,
      "clusters:\n  - name: private\n    role: production\n    kubeconfig: p\n  - name: public\n    role: peak\n    kubeconfig: q\nworkrs: 3\n",
    );
    for (const command of ["run", "check"]) {
      const r = await kubeburst([command, "--config", file]);
      assert.equal(r.code, 2, command);
      assert.match(
        r.stderr,
        /config error: clusters\[1\]\.allowedCIDRs: required for a peak cluster/,
      );
      assert.match(
        r.stderr,
        /config error: workrs: unknown field "workrs"; did you mean "workers"\?/,
      );
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test("usage errors exit 2; version exits 0", async () => {
  assert.equal((await kubeburst(["run"])).code, 2);
  assert.equal((await kubeburst(["no-such-command"])).code, 2);
  const v = await kubeburst(["version"]);
  assert.equal(v.code, 0);
  assert.match(v.stdout, /Kubernetes v1\.\d+\.\d+/);
});
