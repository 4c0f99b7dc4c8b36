/** Thrown by {@link Channel.send} when the channel is (or becomes) closed before taking the value. */
export class ChannelClosedError extends Error {
  override readonly name = "ChannelClosedError";

  constructor() {
    super("channel is closed");
  }
}

interface Sender<T> {
  value: T;
  accept: () => void;
  refuse: (reason: unknown) => void;
}

type Receiver<T> = (result: IteratorResult<T, undefined>) => void;

const DONE = { done: true, value: undefined } as const;

/**
 * A bounded FIFO channel between async producers and one consumer (several receivers also
 * work; each value goes to one of them). Senders wait while it is full, which is the back-pressure;
 * after {@link Channel.close} buffered values are still delivered, then iteration ends.
 */
export class Channel<T> implements AsyncIterable<T> {
  readonly #capacity: number;
  readonly #buffer: T[] = [];
  readonly #senders: Sender<T>[] = [];
  readonly #receivers: Receiver<T>[] = [];
  #closed = false;

  /** @param capacity how many values it buffers before `send` waits; an integer >= 1. */
  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`channel capacity must be an integer >= 1, got ${capacity}`);
    }
    this.#capacity = capacity;
  }

  /** The number of buffered values. */
  get size(): number {
    return this.#buffer.length;
  }

  /** The most values it buffers. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Whether {@link Channel.close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Puts `value` into the channel, waiting while it is full. Resolves once the channel holds the
   * value (or a receiver has it). Rejects with {@link ChannelClosedError} if the channel is closed
   * before it took the value, and with `signal.reason` if `signal` aborts first; in both cases the
   * value was not sent.
   */
  send(value: T, signal?: AbortSignal): Promise<void> {
    if (this.#closed) return Promise.reject(new ChannelClosedError());
    if (signal?.aborted) return Promise.reject(signal.reason);
    const receiver = this.#receivers.shift();
    if (receiver !== undefined) {
      receiver({ done: false, value });
      return Promise.resolve();
    }
    if (this.#buffer.length < this.#capacity) {
      this.#buffer.push(value);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const index = this.#senders.indexOf(sender);
        if (index !== -1) this.#senders.splice(index, 1);
        reject(signal?.reason);
      };
      const sender: Sender<T> = {
        value,
        accept: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
        refuse: (reason) => {
          signal?.removeEventListener("abort", onAbort);
          reject(reason);
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#senders.push(sender);
    });
  }

  /**
   * Takes the next value without waiting: `{ done: false, value }`, or `undefined` when the
   * buffer is empty (check {@link Channel.closed} to tell "closed" from "empty").
   */
  tryReceive(): IteratorResult<T, undefined> | undefined {
    if (this.#buffer.length === 0) return undefined;
    const value = this.#buffer.shift()!;
    // Room was made: the longest-waiting sender's value moves in.
    const sender = this.#senders.shift();
    if (sender !== undefined) {
      this.#buffer.push(sender.value);
      sender.accept();
    }
    return { done: false, value };
  }

  /**
   * Waits for the next value. Resolves `{ done: true }` once the channel is closed and drained,
   * or when `signal` aborts (the channel and its buffered values are untouched).
   */
  receive(signal?: AbortSignal): Promise<IteratorResult<T, undefined>> {
    const next = this.tryReceive();
    if (next !== undefined) return Promise.resolve(next);
    if (this.#closed || signal?.aborted) return Promise.resolve(DONE);
    return new Promise((resolve) => {
      const receiver: Receiver<T> = (result) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(result);
      };
      const onAbort = () => {
        const index = this.#receivers.indexOf(receiver);
        if (index !== -1) this.#receivers.splice(index, 1);
        resolve(DONE);
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#receivers.push(receiver);
    });
  }

  /**
   * Closes the channel: later sends reject, senders still waiting for room are refused with
   * {@link ChannelClosedError}, buffered values remain receivable, then receivers get
   * `{ done: true }`. Idempotent.
   */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const sender of this.#senders.splice(0)) sender.refuse(new ChannelClosedError());
    for (const receiver of this.#receivers.splice(0)) receiver(DONE);
  }

  /**
   * Iterates the values until the channel is closed and drained, or until `signal` aborts.
   * Breaking out of the loop leaves the channel open.
   */
  async *values(signal?: AbortSignal): AsyncGenerator<T, void, undefined> {
    for (;;) {
      const next = await this.receive(signal);
      if (next.done) return;
      yield next.value;
    }
  }

  [Symbol.asyncIterator](): AsyncIterator<T, void, undefined> {
    return this.values();
  }
}
