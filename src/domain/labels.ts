/** Label that makes a Service take part: value `production` or `peak` (SPEC M6). */
export const ROLE_LABEL = "kubeburst.io/role";
/** Label that narrows which cluster a Service pairs with: the other cluster's name. */
export const PEER_CLUSTER_LABEL = "kubeburst.io/peer-cluster";
/** The patent's alias for {@link ROLE_LABEL}: `"false"` means production, `"true"` means peak. */
export const EX_REMOTE_LABEL = "ex-remote";
/** The patent's alias for {@link PEER_CLUSTER_LABEL}. */
export const PEER_CLUSTER_ALIAS_LABEL = "peer-cluster";
/** Label on every slice kubeburst writes: the cluster its endpoints come from. */
export const SOURCE_CLUSTER_LABEL = "kubeburst.io/source-cluster";
/** The standard EndpointSlice label naming the controller that manages a slice. */
export const MANAGED_BY_LABEL = "endpointslice.kubernetes.io/managed-by";
/** Our value of {@link MANAGED_BY_LABEL}. */
export const MANAGED_BY_KUBEBURST = "kubeburst.io";
/** The standard label tying an EndpointSlice to its Service (by name, same namespace). */
export const SERVICE_NAME_LABEL = "kubernetes.io/service-name";
/** RFC 3339 time of the change a slice reflects; kube-proxy measures its latency from it. */
export const TRIGGER_TIME_ANNOTATION = "endpoints.kubernetes.io/last-change-trigger-time";
/** Literal mode: our record, on the Endpoints object, of the addresses kubeburst added. */
export const ADDED_ADDRESSES_ANNOTATION = "kubeburst.io/added-addresses";
/**
 * The installation (the namespace kubeburst runs in) that wrote a slice, or added addresses to an
 * Endpoints object in literal mode. Two installations never touch each other's objects.
 */
export const INSTALLATION_LABEL = "kubeburst.io/installation";
/**
 * The installation of a kubeburst in the default namespace: in literal mode it keeps the record
 * key of older versions.
 */
export const DEFAULT_INSTALLATION = "kubeburst";
/** On each slice we write: the name of the peak slice it mirrors (for people reading it). */
export const SOURCE_SLICE_ANNOTATION = "kubeburst.io/source-slice";

/**
 * Label selector for informers that must never see our own slices (SPEC M8). Same rule as
 * {@link isOurs}, in selector syntax.
 */
export const NOT_OURS_SELECTOR = `${MANAGED_BY_LABEL}!=${MANAGED_BY_KUBEBURST}`;

/** The two ends of a pairing. */
export const ROLES = ["production", "peak"] as const;
/** A Service's part in a pairing. */
export type Role = (typeof ROLES)[number];

/** What a Service's labels say about its part in kubeburst; never throws. */
export type RoleResult =
  | { kind: "none" }
  | { kind: Role; peerCluster?: string }
  | { kind: "conflict"; reason: string };

type Reading<T> =
  | { kind: "absent" }
  | { kind: "value"; value: T }
  | { kind: "bad"; reason: string };

function readRole(labels: Readonly<Record<string, string>>): Reading<Role> {
  const value = labels[ROLE_LABEL];
  if (value === undefined) return { kind: "absent" };
  if (value === "production" || value === "peak") return { kind: "value", value };
  return {
    kind: "bad",
    reason: `label ${ROLE_LABEL} has value ${JSON.stringify(value)}; accepted values are "production" and "peak"`,
  };
}

function readExRemote(labels: Readonly<Record<string, string>>): Reading<Role> {
  const value = labels[EX_REMOTE_LABEL];
  if (value === undefined) return { kind: "absent" };
  if (value === "false") return { kind: "value", value: "production" };
  if (value === "true") return { kind: "value", value: "peak" };
  return {
    kind: "bad",
    reason: `label ${EX_REMOTE_LABEL} has value ${JSON.stringify(value)}; accepted values are "false" (production) and "true" (peak)`,
  };
}

// An empty value narrows nothing, as if the label were absent.
function readPeer(labels: Readonly<Record<string, string>>): Reading<string> {
  const main = labels[PEER_CLUSTER_LABEL] || undefined;
  const alias = labels[PEER_CLUSTER_ALIAS_LABEL] || undefined;
  if (main !== undefined && alias !== undefined && main !== alias) {
    return {
      kind: "bad",
      reason: `labels ${PEER_CLUSTER_LABEL}=${JSON.stringify(main)} and ${PEER_CLUSTER_ALIAS_LABEL}=${JSON.stringify(alias)} name different clusters`,
    };
  }
  const value = main ?? alias;
  return value === undefined ? { kind: "absent" } : { kind: "value", value };
}

/**
 * Reads a Service's role from its labels. `kubeburst.io/role` and its alias `ex-remote` may both
 * be set only if they agree; `kubeburst.io/peer-cluster` and its alias `peer-cluster` likewise.
 * A peer-cluster label without a role label means nothing (`none`).
 */
export function serviceRole(labels: Readonly<Record<string, string>> | undefined): RoleResult {
  if (labels === undefined) return { kind: "none" };
  const role = readRole(labels);
  const alias = readExRemote(labels);
  if (role.kind === "bad") return { kind: "conflict", reason: role.reason };
  if (alias.kind === "bad") return { kind: "conflict", reason: alias.reason };
  if (role.kind === "value" && alias.kind === "value" && role.value !== alias.value) {
    return {
      kind: "conflict",
      reason: `labelled both ${role.value} (${ROLE_LABEL}) and ${alias.value} (${EX_REMOTE_LABEL})`,
    };
  }
  const kind =
    role.kind === "value" ? role.value : alias.kind === "value" ? alias.value : undefined;
  if (kind === undefined) return { kind: "none" };
  const peer = readPeer(labels);
  if (peer.kind === "bad") return { kind: "conflict", reason: peer.reason };
  return peer.kind === "value" ? { kind, peerCluster: peer.value } : { kind };
}

/**
 * True when a production Service in `productionCluster` and the same-named Service in
 * `peakCluster` pair: the roles are production and peak, each side's peer-cluster (if any)
 * names the other cluster, and the clusters differ.
 */
export function pairs(
  productionRole: RoleResult,
  peakRole: RoleResult,
  productionCluster: string,
  peakCluster: string,
): boolean {
  if (productionRole.kind !== "production" || peakRole.kind !== "peak") return false;
  if (productionCluster === peakCluster) return false;
  if (productionRole.peerCluster !== undefined && productionRole.peerCluster !== peakCluster) {
    return false;
  }
  if (peakRole.peerCluster !== undefined && peakRole.peerCluster !== productionCluster) {
    return false;
  }
  return true;
}

/**
 * True when an object carries our managed-by label: some kubeburst installation wrote it, so it
 * is never input. The one place this rule lives.
 */
export function isOurs(labels: Readonly<Record<string, string>> | undefined): boolean {
  return labels?.[MANAGED_BY_LABEL] === MANAGED_BY_KUBEBURST;
}

/**
 * True when installation `installation` may change or delete the object: ours ({@link isOurs})
 * and labelled with that installation. An unlabelled one was written before installations
 * existed, when one kubeburst served the cluster, whatever its namespace: every installation
 * takes it for its own leftover, so an upgrade never strands one.
 */
export function isWrittenBy(
  labels: Readonly<Record<string, string>> | undefined,
  installation: string,
): boolean {
  if (!isOurs(labels)) return false;
  const label = labels?.[INSTALLATION_LABEL];
  return label === undefined || label === installation;
}
