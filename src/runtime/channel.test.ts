import assert from "node:assert/strict";
import { test } from "node:test";
import { Channel, ChannelClosedError } from "./channel.ts";

function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Starts a send and reports whether it has settled yet. */
function track(promise: Promise<void>) {
  const state = { settled: false as boolean, error: undefined as unknown };
  promise.then(
    () => {
      state.settled = true;
    },
    (error: unknown) => {
      state.settled = true;
      state.error = error;
    },
  );
  return state;
}

test("send waits while the channel is full (back-pressure)", async () => {
  for (const capacity of [1, 2, 5]) {
    const channel = new Channel<number>(capacity);
    for (let i = 0; i < capacity; i++) await channel.send(i);
    assert.equal(channel.size, capacity);
    const blocked = track(channel.send(capacity));
    await settle();
    assert.equal(blocked.settled, false, `capacity ${capacity}`);
    assert.deepEqual(await channel.receive(), { done: false, value: 0 });
    await settle();
    assert.equal(blocked.settled, true);
    assert.equal(channel.size, capacity, "the waiting value moved into the buffer");
    assert.equal(channel.capacity, capacity);
  }
});

test("values arrive in send order through for await, and close ends the loop after the buffer", async () => {
  const channel = new Channel<number>(2);
  const received: number[] = [];
  const consumer = (async () => {
    for await (const value of channel) received.push(value);
  })();
  for (let i = 0; i < 10; i++) await channel.send(i);
  channel.close();
  await consumer;
  assert.deepEqual(received, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
});

test("close keeps buffered values, refuses waiting and later senders", async () => {
  const channel = new Channel<string>(1);
  await channel.send("kept");
  const waiting = track(channel.send("refused"));
  channel.close();
  channel.close();
  await settle();
  assert.ok(waiting.error instanceof ChannelClosedError);
  await assert.rejects(channel.send("late"), ChannelClosedError);
  assert.ok(channel.closed);
  assert.deepEqual(await channel.receive(), { done: false, value: "kept" });
  assert.deepEqual(await channel.receive(), { done: true, value: undefined });
});

test("close wakes a waiting receiver with done", async () => {
  const channel = new Channel<string>(1);
  const receiving = channel.receive();
  channel.close();
  assert.deepEqual(await receiving, { done: true, value: undefined });
});

test("an aborted send rejects with the signal's reason and sends nothing", async () => {
  const cases = [
    { name: "aborted while waiting", abortFirst: false },
    { name: "already aborted", abortFirst: true },
  ];
  for (const { name, abortFirst } of cases) {
    const channel = new Channel<string>(1);
    await channel.send("first");
    const controller = new AbortController();
    const reason = new Error("stop");
    if (abortFirst) controller.abort(reason);
    const sending = channel.send("second", controller.signal);
    controller.abort(reason);
    await assert.rejects(sending, (error) => error === reason, name);
    assert.deepEqual(channel.tryReceive(), { done: false, value: "first" });
    assert.equal(channel.tryReceive(), undefined, name);
  }
});

test("receive with an aborted signal ends without consuming", async () => {
  const channel = new Channel<number>(4);
  const controller = new AbortController();
  const receiving = channel.receive(controller.signal);
  controller.abort();
  assert.deepEqual(await receiving, { done: true, value: undefined });
  await channel.send(7);
  assert.deepEqual(await channel.receive(), { done: false, value: 7 });

  const values: number[] = [];
  await channel.send(1);
  const loop = (async () => {
    for await (const value of channel.values(controller.signal)) values.push(value);
  })();
  await loop;
  assert.deepEqual(values, [1], "buffered values are still taken before the abort is noticed");
});

test("a waiting receiver gets a value directly", async () => {
  const channel = new Channel<number>(1);
  const receiving = channel.receive();
  await channel.send(42);
  assert.equal(channel.size, 0);
  assert.deepEqual(await receiving, { done: false, value: 42 });
});

test("capacity must be a positive integer", () => {
  for (const capacity of [0, -1, 1.5, Number.NaN]) {
    assert.throws(() => new Channel(capacity), RangeError);
  }
});
