// Values the pure-core tests and benchmarks share: the production Service `shop/web` with one
// port "http", and the endpoint conditions and peak port they build groups from.
import type { EndpointConditions, EndpointPort } from "../../src/domain/endpoints.ts";
import type { ProductionService } from "../../src/domain/production-service.ts";

export const READY: EndpointConditions = { ready: true, serving: true, terminating: false };
export const NOT_READY: EndpointConditions = { ready: false, serving: false, terminating: false };
/** The peak's target port, named as the production Service's port. */
export const HTTP: EndpointPort[] = [{ name: "http", port: 8080, protocol: "TCP" }];

export const webService: ProductionService = {
  namespace: "shop",
  name: "web",
  uid: "uid-1",
  ipFamilies: ["IPv4"],
  ports: [{ name: "http", port: 80, protocol: "TCP" }],
  hasSelector: true,
  type: "ClusterIP",
};
