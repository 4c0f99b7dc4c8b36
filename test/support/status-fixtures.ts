import type {
  ServiceStatusDocument,
  StatusDocument,
} from "../../src/observability/status-model.ts";

/** A status overview: one failing peak whose kubeconfig was refused, one Service. */
export const statusDoc: StatusDocument = {
  apiVersion: "kubeburst.io/status/v1",
  kind: "Status",
  generatedAt: "2026-11-30T21:00:10.000Z",
  kubeburst: { version: "0.1.0" },
  ready: true,
  reason: "ok",
  leader: true,
  productionRangesKnown: true,
  clusters: [
    {
      name: "private",
      role: "production",
      source: "file",
      state: "synced",
      withdrawn: false,
      lastSuccessfulSync: "2026-11-30T21:00:08.000Z",
      informers: [{ path: "/api/v1/services", state: "synced", synced: true }],
      services: 1,
      endpointsSeen: 0,
      endpointsRefused: 0,
      refusedByReason: {},
      endpointsLeftOut: 0,
    },
    {
      name: "public",
      role: "peak",
      source: "file",
      state: "synced",
      withdrawn: false,
      lastSuccessfulSync: "2026-11-30T21:00:09.000Z",
      informers: [],
      services: 1,
      endpointsSeen: 3,
      endpointsRefused: 1,
      refusedByReason: { loopback: 1 },
      endpointsLeftOut: 0,
    },
    {
      name: "rented",
      role: "peak",
      source: "secret",
      state: "refused",
      reason: "kubeconfig refused: an exec plugin is refused in a Secret",
      withdrawn: false,
      lastSuccessfulSync: null,
      informers: [],
      services: 0,
      endpointsSeen: 0,
      endpointsRefused: 0,
      refusedByReason: {},
      endpointsLeftOut: 0,
    },
  ],
  services: [
    {
      service: "shop/web",
      production: true,
      peaks: [{ cluster: "public", endpoints: 3, ready: 2, refused: 1 }],
      written: { slices: 1, endpoints: 3 },
      lastWrite: { at: "2026-11-30T21:00:00.000Z", result: "ok" },
      lastChange: {
        cluster: "public",
        observedAt: "2026-11-30T20:59:59.995Z",
        writtenAt: "2026-11-30T21:00:00.000Z",
        propagationSeconds: 0.005,
      },
      conflicts: 0,
      policy: null,
    },
  ],
  writes: { ok: 8, failed: 1, noop: 40 },
};

/** One Service explained: production's own two endpoints, a peak with one refused address. */
export const explainDoc: ServiceStatusDocument = {
  apiVersion: "kubeburst.io/status/v1",
  kind: "ServiceStatus",
  generatedAt: "2026-11-30T21:00:10.000Z",
  service: "shop/web",
  takesPart: true,
  production: {
    cluster: "private",
    endpoints: [
      {
        address: "198.18.0.10",
        ready: true,
        serving: true,
        terminating: false,
        slice: "web-abcde",
      },
    ],
  },
  peaks: [
    {
      cluster: "public",
      state: "synced",
      withdrawn: false,
      counted: true,
      endpoints: [
        {
          address: "198.19.0.10",
          ready: true,
          serving: true,
          terminating: false,
          slice: "web-xyz",
        },
        {
          address: "198.19.0.11",
          ready: false,
          serving: true,
          terminating: true,
          slice: "web-xyz",
        },
      ],
      refused: [{ address: "127.0.0.1", reason: "loopback", slice: "web-xyz" }],
    },
  ],
  conflicts: [],
  written: [
    {
      name: "web-kb-public-v4-1a2b3c-0",
      cluster: "public",
      addressType: "IPv4",
      endpoints: 2,
      ready: 1,
    },
  ],
  lastWrite: { at: "2026-11-30T21:00:00.000Z", result: "ok" },
  lastChange: {
    cluster: "public",
    observedAt: "2026-11-30T20:59:59.995Z",
    writtenAt: "2026-11-30T21:00:00.000Z",
    propagationSeconds: 0.005,
  },
  policy: null,
};
