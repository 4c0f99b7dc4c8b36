import { z } from "zod";
import { formatConfigErrors, loadConfigFile } from "../config/load-config.ts";
import { STATUS_API_VERSION } from "../observability/status-model.ts";

/**
 * The most of a status document read: a document with 10,000 Services is about 4 MiB; a bound
 * keeps a wrong address (a file server, a stream) from filling memory.
 */
export const STATUS_MAX_BYTES = 32 * 1024 * 1024;

/** How long one status request may take, ms. */
const STATUS_TIMEOUT_MS = 10_000;

const lastWrite = z
  .object({ at: z.string(), result: z.enum(["ok", "error"]), error: z.string().optional() })
  .nullable();
const lastChange = z
  .object({
    cluster: z.string(),
    observedAt: z.string(),
    writtenAt: z.string(),
    propagationSeconds: z.number(),
  })
  .nullable();
const policy = z.object({ mode: z.string(), bursting: z.boolean(), reason: z.string() }).nullable();
const endpoint = z.object({
  address: z.string(),
  ready: z.boolean(),
  serving: z.boolean(),
  terminating: z.boolean(),
  slice: z.string(),
});

/** The fields of `GET /status/v1` the CLI shows (a newer kubeburst may add more). */
export const statusDocumentSchema = z.object({
  apiVersion: z.literal(STATUS_API_VERSION),
  kind: z.literal("Status"),
  generatedAt: z.string(),
  kubeburst: z.object({ version: z.string() }),
  ready: z.boolean(),
  reason: z.string(),
  leader: z.boolean(),
  productionRangesKnown: z.boolean(),
  clusters: z.array(
    z.object({
      name: z.string(),
      role: z.enum(["production", "peak"]),
      source: z.string(),
      state: z.string(),
      reason: z.string().optional(),
      withdrawn: z.boolean(),
      lastSuccessfulSync: z.string().nullable(),
      services: z.number(),
      endpointsSeen: z.number(),
      endpointsRefused: z.number(),
      refusedByReason: z.record(z.string(), z.number()),
      endpointsLeftOut: z.number(),
    }),
  ),
  services: z.array(
    z.object({
      service: z.string(),
      production: z.boolean(),
      peaks: z.array(
        z.object({
          cluster: z.string(),
          endpoints: z.number(),
          ready: z.number(),
          refused: z.number(),
        }),
      ),
      written: z.object({ slices: z.number(), endpoints: z.number() }),
      lastWrite,
      lastChange,
      conflicts: z.number(),
      policy,
    }),
  ),
  writes: z.object({ ok: z.number(), failed: z.number(), noop: z.number() }),
});
export type StatusView = z.output<typeof statusDocumentSchema>;

/** The fields of `GET /status/v1/services/NS/NAME` the CLI shows. */
export const serviceStatusSchema = z.object({
  apiVersion: z.literal(STATUS_API_VERSION),
  kind: z.literal("ServiceStatus"),
  generatedAt: z.string(),
  service: z.string(),
  takesPart: z.boolean(),
  reason: z.string().optional(),
  production: z.object({
    cluster: z.string(),
    endpoints: z.array(endpoint).nullable(),
    readError: z.string().optional(),
  }),
  peaks: z.array(
    z.object({
      cluster: z.string(),
      state: z.string(),
      withdrawn: z.boolean(),
      counted: z.boolean(),
      reason: z.string().optional(),
      endpoints: z.array(endpoint),
      refused: z.array(z.object({ address: z.string(), reason: z.string(), slice: z.string() })),
      truncated: z.object({ kept: z.number(), dropped: z.number() }).optional(),
    }),
  ),
  conflicts: z.array(z.object({ cluster: z.string(), reason: z.string() })),
  written: z.array(
    z.object({
      name: z.string(),
      cluster: z.string(),
      addressType: z.string(),
      endpoints: z.number(),
      ready: z.number(),
    }),
  ),
  lastWrite,
  lastChange,
  policy,
});
export type ServiceStatusView = z.output<typeof serviceStatusSchema>;

const errorSchema = z.object({
  apiVersion: z.literal(STATUS_API_VERSION),
  kind: z.literal("Error"),
  code: z.number(),
  message: z.string(),
});

/** A document, or why none could be had (in words for the user), and the raw JSON text. */
export type Fetched<T> = { ok: true; doc: T; text: string } | { ok: false; message: string };

/**
 * GETs `path` of the kubeburst at `address` and parses it as `schema`: follows no redirect,
 * reads at most {@link STATUS_MAX_BYTES}, wants JSON of kubeburst's status `apiVersion`; an
 * answer of kind `Error` gives its message. Never rejects.
 */
export async function fetchStatus<T>(
  address: string,
  path: string,
  schema: z.ZodType<T>,
): Promise<Fetched<T>> {
  const where = `http://${address}${path}`;
  let res: Response;
  try {
    res = await fetch(where, {
      redirect: "manual",
      signal: AbortSignal.timeout(STATUS_TIMEOUT_MS),
    });
  } catch (err) {
    const cause =
      err instanceof Error && err.cause instanceof Error ? `: ${err.cause.message}` : "";
    return {
      ok: false,
      message: `no kubeburst answers at ${address} (${err instanceof Error ? err.message : String(err)}${cause}); is it running, and is this its metrics.address?`,
    };
  }
  const notUs = (why: string) => {
    void res.body?.cancel().catch(() => {});
    return {
      ok: false as const,
      message: `the server at ${address} is not kubeburst's status API (${why}); check the address`,
    };
  };
  if (res.status >= 300 && res.status < 400) {
    return notUs(`it answers ${res.status} with a redirect, which is not followed`);
  }
  const type = res.headers.get("content-type") ?? "";
  if (!/^application\/json\b/i.test(type)) {
    return notUs(`HTTP ${res.status}, content type ${JSON.stringify(type)} instead of JSON`);
  }
  const declared = Number(res.headers.get("content-length") ?? "0");
  if (declared > STATUS_MAX_BYTES) return notUs(`its answer is ${declared} bytes, over the bound`);
  const text = await readBounded(res, STATUS_MAX_BYTES);
  if (text === undefined) return notUs(`its answer is longer than ${STATUS_MAX_BYTES} bytes`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return notUs("its answer is not valid JSON");
  }
  const error = errorSchema.safeParse(json);
  if (error.success) return { ok: false, message: error.data.message };
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const at = issue?.path.join(".") || "the document";
    return notUs(`${at}: ${issue?.message ?? "unexpected"}; want apiVersion ${STATUS_API_VERSION}`);
  }
  return { ok: true, doc: parsed.data, text };
}

/** The body as text, or undefined once it passes `max` bytes (the rest is not read). */
async function readBounded(res: Response, max: number): Promise<string | undefined> {
  const reader = res.body?.getReader();
  if (!reader) return "";
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > max) {
      await reader.cancel().catch(() => {});
      return undefined;
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * The address of the running kubeburst: `--address`, or the config's `metrics.address`; a
 * message (exit 2) when neither gives one.
 */
export async function statusAddress(opts: {
  config?: string;
  address?: string;
  command: string;
}): Promise<{ ok: true; address: string } | { ok: false; message: string }> {
  if (opts.address) return { ok: true, address: opts.address };
  if (!opts.config) {
    return {
      ok: false,
      message: `${opts.command}: give --config FILE (its metrics.address is asked) or --address HOST:PORT`,
    };
  }
  const loaded = await loadConfigFile(opts.config);
  if (!loaded.ok) return { ok: false, message: formatConfigErrors(loaded.errors) };
  const m = loaded.config.metrics;
  if (!m.enabled || m.port === 0) {
    return {
      ok: false,
      message: `${opts.command}: metrics.address is ${m.enabled ? "port 0 (a random port)" : "off"} in ${opts.config}; pass --address HOST:PORT from kubeburst's log line "serving /metrics"`,
    };
  }
  // Every interface includes loopback, which the status API answers by default.
  const host = m.host === "" ? "127.0.0.1" : m.host.includes(":") ? `[${m.host}]` : m.host;
  return { ok: true, address: `${host}:${m.port}` };
}
