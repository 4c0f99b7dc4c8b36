// The probe against a scripted plain-HTTP server: which answers count as failures, the threshold,
// and the return to healthy. The frozen real API server is in test/integration/reflector.test.ts.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { eventually } from "../../test/support/eventually.ts";
import { FakeApiServer, sendJson, status } from "../../test/support/fake-api-server.ts";
import type { Clock } from "../runtime/clock.ts";
import { ApiProbe } from "./api-probe.ts";
import { KubeClient } from "./kube-client.ts";

type Answer = "ok" | "hang" | 401 | 403 | 429 | 500 | 503;

/** Real time for `now`; sleeps are recorded and last 1 ms. */
class QuickClock implements Clock {
  readonly sleeps: number[] = [];
  now(): number {
    return Date.now();
  }
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    this.sleeps.push(ms);
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, 1);
      signal?.addEventListener("abort", () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }
}

let fake: FakeApiServer;
/**
 * The answers still to give, by the probing client's token: a request of an earlier case that
 * was on its way when that case stopped takes its own case's answer, not the next case's.
 */
const scripts = new Map<string, Answer[]>();
before(async () => {
  fake = await FakeApiServer.start();
  fake.handler = (req, res) => {
    assert.equal(req.path, "/readyz");
    const answer = scripts.get(req.headers.authorization ?? "")?.shift() ?? "ok";
    if (answer === "hang") return; // the client's deadline ends it
    if (answer === "ok") return void res.writeHead(200, { "Content-Type": "text/plain" }).end("ok");
    if (answer === 503)
      return void res.writeHead(503).end("[-]etcd failed: reason withheld\nreadyz check failed");
    sendJson(res, answer, status(answer, "X"));
  };
});
after(async () => {
  await fake.close();
});

test("the probe reports after `failureThreshold` failures and recovers on the first success", async () => {
  const cases: { name: string; answers: Answer[]; want: string[] }[] = [
    { name: "all fine", answers: ["ok", "ok", "ok"], want: [] },
    { name: "one failure is below the threshold", answers: [500, "ok", "hang", "ok"], want: [] },
    {
      name: "two timeouts, then back",
      answers: ["ok", "hang", "hang", "hang", "ok"],
      want: ["unhealthy timeout", "healthy"],
    },
    {
      name: "readyz failing (503 text), then back",
      answers: [503, 503, "ok"],
      want: ["unhealthy server-error", "healthy"],
    },
    {
      name: "401, 403 and 429 are answers from a live server",
      answers: [401, 403, 429, 401, 403],
      want: [],
    },
    {
      name: "a success in between resets the count",
      answers: [500, 403, 500, "ok", 500, 500, 429],
      want: ["unhealthy server-error", "healthy"],
    },
  ];
  for (const [index, c] of cases.entries()) {
    const token = `case-${index}`;
    scripts.set(`Bearer ${token}`, [...c.answers]);
    const seen = () => fake.seen.filter((r) => r.headers.authorization === `Bearer ${token}`);
    const client = new KubeClient(fake.kubeConfig({ token }), { timeoutMs: 5_000 });
    const clock = new QuickClock();
    const got: string[] = [];
    const probe = new ApiProbe({
      client,
      clock,
      intervalMs: 1_000,
      timeoutMs: 100,
      failureThreshold: 2,
      onUnhealthy: (cause) => got.push(`unhealthy ${cause.kind}`),
      onHealthy: () => got.push("healthy"),
    });
    const stop = new AbortController();
    const running = probe.run(stop.signal);
    await eventually(
      `${c.name}: every answer given`,
      () => assert.ok(seen().length > c.answers.length),
      { timeoutMs: 20_000, intervalMs: 5 },
    );
    stop.abort();
    await running;
    client.close();
    assert.deepEqual(got, c.want, c.name);
    assert.equal(probe.healthy, !c.want.at(-1)?.startsWith("unhealthy"), c.name);
    assert.ok(
      clock.sleeps.every((ms) => ms <= 1_000),
      `${c.name}: the interval runs from each probe's start`,
    );
  }
});
