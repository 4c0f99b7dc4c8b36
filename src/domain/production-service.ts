import type { AddressFamily, Protocol } from "./endpoints.ts";

/** One port of the production Service; `name` is `""` when the Service has a single unnamed port. */
export interface ServicePort {
  name: string;
  /** The Service port number (peak endpoints keep their own target port numbers). */
  port: number;
  protocol: Protocol;
}

/** What kubeburst needs to know about a production Service. */
export interface ProductionService {
  namespace: string;
  name: string;
  /** The Service's UID, for the ownerReference of every slice we write. */
  uid: string;
  /** Only endpoints of these families are imported (SPEC B7). */
  ipFamilies: AddressFamily[];
  ports: ServicePort[];
  /** True when `spec.selector` is set and non-empty. */
  hasSelector: boolean;
  /** `spec.type`: ClusterIP, NodePort, LoadBalancer or ExternalName. */
  type: string;
}
