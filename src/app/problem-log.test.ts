import assert from "node:assert/strict";
import { test } from "node:test";
import pino from "pino";
import { ProblemLog } from "./problem-log.ts";

test("a persistent problem is logged once; its end is logged once", () => {
  const lines: { level: number; msg: string }[] = [];
  const log = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const problems = new ProblemLog(log);
  const broken = [{ path: "clusters[1].kubeconfig", message: "exec plugins run a local program" }];
  problems.report("kubeconfig:public", broken);
  problems.report("kubeconfig:public", broken);
  problems.report("kubeconfig:other", []);
  problems.report("kubeconfig:public", []);
  problems.report("kubeconfig:public", []);
  assert.deepEqual(
    lines.map((l) => [l.level, l.msg]),
    [
      [50, "clusters[1].kubeconfig: exec plugins run a local program"],
      [30, "problem resolved"],
    ],
  );
});
