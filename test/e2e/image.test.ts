// The image users run (issue #11): built from the repository's Dockerfile by `make image`, it
// runs as a non-root user on a read-only root filesystem with no capabilities, and `kubeburst run`
// inside it makes a burst work on the local cloud; SIGTERM stops it cleanly (Node is PID 1).
import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { BurstScenario } from "../../src/demo/burst-scenario.ts";
import { ImageRunner } from "../../src/localcloud/image-runner.ts";
import { cleanUp } from "../support/cleanup.ts";
import { eventually } from "../support/eventually.ts";

const log = (line: string) => process.stderr.write(`# ${line}\n`);
const PRODUCTION = ["private/web-1", "private/web-2"];

describe("the kubeburst image", { timeout: 1_500_000 }, () => {
  let image: ImageRunner | undefined;
  let s: BurstScenario | undefined;
  before(async () => {
    const started = Date.now();
    image = await ImageRunner.build();
    log(`image ${image.image} ready (${Date.now() - started} ms)`);
  });
  after(async () => {
    await cleanUp([() => s?.close(), () => image?.close()]);
  });

  test("`kubeburst version` runs as the image's non-root user, on a read-only root filesystem", async () => {
    const runner = image as ImageRunner;
    const version = await runner.runToEnd(["version"]);
    assert.equal(version.code, 0, version.stderr);
    assert.match(version.stdout, /^kubeburst \d+\.\d+\.\d+ .*Node\.js v24\./);
    // The entrypoint is node itself, PID 1, as the image's USER; nothing may be written.
    const who = await runner.runToEnd(
      [
        "-e",
        "process.stdout.write(JSON.stringify([process.pid, process.getuid(), process.getgid()]))",
      ],
      ["--entrypoint=node"],
    );
    assert.equal(who.code, 0, who.stderr);
    assert.deepEqual(JSON.parse(who.stdout), [1, 65532, 65532]);
    const write = await runner.runToEnd(
      ["-e", "require('node:fs').writeFileSync('/app/x', '')"],
      ["--entrypoint=node"],
    );
    assert.notEqual(write.code, 0);
    assert.match(write.stderr, /EROFS|EACCES/);
  });

  test("`kubeburst run` in the image makes a burst work: peak pods serve production's ClusterIP", async () => {
    s = await BurstScenario.start({ log, launch: (image as ImageRunner).launch });
    const r = await s.send(40);
    assert.equal(r.failed, 0);
    assert.deepEqual(Object.keys(r.byPod).sort(), PRODUCTION);

    await s.setBurst(true);
    const all = [...PRODUCTION, ...s.peakPods.map((p) => `public/${p.name}`)].sort();
    await eventually(
      "peak pods serve production traffic",
      async () => {
        const r = await (s as BurstScenario).send(60);
        assert.equal(r.failed, 0);
        assert.deepEqual(Object.keys(r.byPod).sort(), all);
      },
      { timeoutMs: 60_000 },
    );
  });

  test("SIGTERM reaches kubeburst through podman: it stops cleanly with exit code 0", async () => {
    const kb = (s as BurstScenario).kubeburst;
    await kb.stop(60_000);
    assert.equal(await kb.exited, 0);
    const lines = await kb.logLines();
    assert.ok(
      lines.some((l) => l.msg === "stopping" && l.signal === "SIGTERM"),
      "kubeburst logged that SIGTERM stopped it",
    );
  });
});
