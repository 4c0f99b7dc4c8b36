// The physical limit kubeburst is measured against: a minimal separate process with one watch
// on the peak's EndpointSlices and one server-side apply into production per change, nothing
// else (no policy, no union, no cache, no queue). Same runtime and same API client as kubeburst.
//
//   node bench/bare-relay.ts <peak kubeconfig> <production kubeconfig> <label selector>
//
// Each peak slice `x` becomes production slice `relay-x` with the same endpoints (addresses and
// conditions) and ports, labelled managed-by bench-relay.kubeburst.io and with its Service's name
// under bench.kubeburst.io/relayed-service (not kubernetes.io/service-name: it runs beside
// kubeburst, which must not take the relay's slices as input).
// Applies of one slice are sent in order; different slices go in parallel.
import { KubeApiError } from "../src/kube/kube-api-error.ts";
import { KubeClient, type WatchEvent } from "../src/kube/kube-client.ts";
import { loadKubeconfig } from "../src/kube/load-kubeconfig.ts";
import {
  MANAGED_BY_LABEL,
  RELAY_MANAGER,
  RELAYED_SERVICE_LABEL,
  SERVICE_NAME_LABEL,
} from "./bench-objects.ts";

interface Slice {
  metadata: {
    name: string;
    namespace: string;
    resourceVersion?: string;
    labels?: Record<string, string>;
  };
  addressType: string;
  endpoints?: { addresses: string[]; conditions?: object }[] | null;
  ports?: object[] | null;
}

const [peakConfig, productionConfig, selector] = process.argv.slice(2);
if (!peakConfig || !productionConfig || !selector) {
  process.stderr.write(
    "usage: bare-relay.ts <peak kubeconfig> <production kubeconfig> <label selector>\n",
  );
  process.exit(2);
}
const client = (file: string) => {
  const loaded = loadKubeconfig(
    { kind: "path", path: file },
    { context: undefined, allowInsecure: true },
  );
  if (!loaded.ok) throw new Error(`${file}: ${loaded.problems.join("; ")}`);
  return new KubeClient(loaded.kubeConfig);
};
const peak = client(peakConfig);
const production = client(productionConfig);
const stop = new AbortController();
process.on("SIGTERM", () => stop.abort());

const inFlight = new Map<string, Promise<void>>();
function relay(event: WatchEvent<Slice>): void {
  const s = event.object;
  const name = `relay-${s.metadata.name}`;
  const path = `/apis/discovery.k8s.io/v1/namespaces/${s.metadata.namespace}/endpointslices/${name}`;
  const write = async () => {
    if (event.type === "DELETED") {
      await production.request({ method: "DELETE", path }).catch(() => {});
      return;
    }
    await production.request({
      method: "PATCH",
      path,
      query: { fieldManager: "bench-relay", force: true },
      contentType: "application/apply-patch+yaml",
      body: {
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: {
          name,
          namespace: s.metadata.namespace,
          labels: {
            [RELAYED_SERVICE_LABEL]: s.metadata.labels?.[SERVICE_NAME_LABEL] ?? "",
            [MANAGED_BY_LABEL]: RELAY_MANAGER,
          },
        },
        addressType: s.addressType,
        endpoints: (s.endpoints ?? []).map((e) => ({
          addresses: e.addresses,
          conditions: e.conditions,
        })),
        ports: s.ports ?? [],
      },
    });
  };
  const key = `${s.metadata.namespace}/${name}`;
  const next = (inFlight.get(key) ?? Promise.resolve()).then(write).catch((err: unknown) => {
    process.stderr.write(`relay: ${key}: ${(err as Error).message}\n`);
  });
  inFlight.set(key, next);
  void next.finally(() => {
    if (inFlight.get(key) === next) inFlight.delete(key);
  });
}

// One watch, resumed after the last event seen; a watch without a resourceVersion first
// delivers every existing slice as ADDED, so a (re)start relays the current state.
let resourceVersion: string | undefined;
while (!stop.signal.aborted) {
  try {
    await peak.watch<Slice>(
      "/apis/discovery.k8s.io/v1/endpointslices",
      { labelSelector: selector, allowWatchBookmarks: true, resourceVersion },
      stop.signal,
      (event) => {
        if (event.type === "ERROR") {
          const status = event.object as unknown as { code?: number };
          throw new KubeApiError(status.code === 410 ? "gone" : "server-error", "watch error");
        }
        resourceVersion = event.object.metadata.resourceVersion ?? resourceVersion;
        if (event.type !== "BOOKMARK") relay(event);
      },
      () => process.stdout.write("relay: watching\n"),
    );
  } catch (err) {
    if (stop.signal.aborted) break;
    if (err instanceof KubeApiError && err.kind === "gone") resourceVersion = undefined;
    else await new Promise((r) => setTimeout(r, 500));
  }
}
peak.close();
production.close();
