import { setTimeout as sleep } from "node:timers/promises";
import { KubeApiError } from "../kube/kube-api-error.ts";
import type { KubeClient } from "../kube/kube-client.ts";
import { loadKubeconfig } from "../kube/load-kubeconfig.ts";
import { requestServiceAccountToken, tokenKubeconfigYaml } from "../kube/service-account-token.ts";
import {
  ANCHOR_ANNOTATION,
  discoverySecret,
  EXPIRES_ANNOTATION,
  hasWanted,
  type KubeObject,
  LINK_LABEL,
  LINK_LABEL_VALUE,
  objectPath,
  PEAK_NAMESPACE,
  PEAK_SERVICE_ACCOUNT,
  peakObjects,
  TOKEN_LABEL,
  tokenSecret,
} from "./peak-identity.ts";

export interface LinkOptions {
  /** The peak, with an admin's rights. */
  peak: KubeClient;
  /** The peak's API server as production reaches it, and its CA (undefined: system roots). */
  peakServer: string;
  peakCa: Buffer | undefined;
  /** The peak cluster's name in kubeburst (the discovery Secret's name). */
  name: string;
  allowedCIDRs: readonly string[];
  /** Production (`--apply`): the discovery Secret is written there; undefined: only returned. */
  production: KubeClient | undefined;
  /** kubeburst's namespace in production. */
  namespace: string;
  /** Lifetime of a TokenRequest token, s. */
  tokenTtlSeconds: number;
  /** A long-lived token Secret instead of a TokenRequest token. */
  longLived: boolean;
  /** Mint a new token even if the current one is good. */
  rotate: boolean;
  /** How long a replaced token stays valid after the new one is written, ms. */
  revokeAfterMs: number;
  /** One line per step, for the operator. */
  log: (line: string) => void;
  now?: () => number;
}

/** What `link` left in place: the discovery Secret, and whether anything was written. */
export interface LinkResult {
  secret: KubeObject;
  changed: boolean;
}

/** The most a long-lived token Secret is waited for, ms (the token controller fills it in). */
const LONG_LIVED_WAIT_MS = 60_000;

/**
 * `kubeburst link`: makes the peak's read-only identity (namespace, ServiceAccount, ClusterRole
 * and binding, as deploy/rbac-peak.yaml), a token for it, and the discovery Secret that
 * registers the peak with it; writes that Secret into production when given. Idempotent: a
 * second run finds everything in place and writes nothing, keeping the token while it has more
 * than a fifth of its lifetime left. `rotate` mints a new token, writes it, waits
 * `revokeAfterMs` so kubeburst switches to it, then revokes the old one (make-before-break).
 */
export async function linkPeak(opts: LinkOptions): Promise<LinkResult> {
  const now = opts.now ?? Date.now;
  let changed = false;
  for (const obj of peakObjects()) changed = (await ensure(opts.peak, obj, opts.log)) || changed;

  const secretPath = objectPath({
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: opts.name, namespace: opts.namespace },
  });
  const existing = opts.production ? await getOrUndefined(opts.production, secretPath) : undefined;
  if (existing !== undefined && existing.metadata.labels?.[LINK_LABEL] !== LINK_LABEL_VALUE) {
    throw new Error(
      `secret ${opts.namespace}/${opts.name} exists in production and was not made by kubeburst link; delete it or choose another --name`,
    );
  }
  const anchors = await listAnchors(opts.peak);
  const wantedKind = opts.longLived ? "long-lived" : "bound";
  const fresh = (anchor: KubeObject) => {
    if (anchor.metadata.labels?.[TOKEN_LABEL] !== wantedKind) return false;
    const expires = anchor.metadata.annotations?.[EXPIRES_ANNOTATION];
    if (expires === undefined) return true;
    return Date.parse(expires) - now() > (opts.tokenTtlSeconds * 1000) / 5;
  };

  let token: { value: string; anchor: string; expiresAt: string | undefined } | undefined;
  if (!opts.rotate) {
    const inUse = existing?.metadata.annotations?.[ANCHOR_ANNOTATION];
    const anchor =
      existing === undefined
        ? anchors.filter(fresh).at(-1)
        : anchors.find((a) => a.metadata.name === inUse && fresh(a));
    if (anchor !== undefined) token = await reuseToken(opts, anchor, existing, now);
  }
  let replaced = false;
  if (token === undefined) {
    token = await mintToken(opts, now);
    changed = true;
    replaced = anchors.length > 0;
  }

  const kubeconfig = tokenKubeconfigYaml(opts.name, opts.peakServer, opts.peakCa, token.value);
  const secret = discoverySecret({
    name: opts.name,
    namespace: opts.namespace,
    kubeconfig,
    allowedCIDRs: opts.allowedCIDRs,
    anchor: token.anchor,
    expiresAt: token.expiresAt,
  });
  if (opts.production) {
    changed = (await writeSecret(opts.production, secret, existing, opts.log)) || changed;
  }

  const old = anchors.filter((a) => a.metadata.name !== token.anchor);
  const expired = old.filter((a) => {
    const expires = a.metadata.annotations?.[EXPIRES_ANNOTATION];
    return expires !== undefined && Date.parse(expires) <= now();
  });
  // Without --apply the operator applies the Secret: only expired tokens are revoked.
  const revoke = opts.production && replaced ? old : expired;
  if (revoke.length > expired.length && opts.revokeAfterMs > 0) {
    opts.log(
      `waiting ${Math.round(opts.revokeAfterMs / 1000)}s for kubeburst to switch to the new token before revoking the old one`,
    );
    await sleep(opts.revokeAfterMs);
  }
  for (const anchor of revoke) {
    await deleteIfThere(
      opts.peak,
      objectPath(anchor),
      opts.log,
      `peak: revoked the token of ${describe(anchor)}`,
    );
    changed = true;
  }
  return { secret, changed };
}

export interface UnlinkOptions {
  peak: KubeClient;
  production: KubeClient;
  name: string;
  namespace: string;
  log: (line: string) => void;
}

/**
 * `kubeburst unlink`: deletes the discovery Secret in production first (kubeburst withdraws the
 * peak's endpoints at its next discovery), then everything `link` made in the peak, which
 * revokes every token. Objects that are not `link`'s are left alone.
 */
export async function unlinkPeak(opts: UnlinkOptions): Promise<void> {
  const secretPath = `/api/v1/namespaces/${opts.namespace}/secrets/${opts.name}`;
  const secret = await getOrUndefined(opts.production, secretPath);
  if (secret !== undefined && secret.metadata.labels?.[LINK_LABEL] !== LINK_LABEL_VALUE) {
    throw new Error(
      `secret ${opts.namespace}/${opts.name} in production was not made by kubeburst link; delete it yourself`,
    );
  }
  await deleteIfThere(
    opts.production,
    secretPath,
    opts.log,
    `production: deleted Secret ${opts.namespace}/${opts.name}`,
  );
  for (const anchor of await listAnchors(opts.peak)) {
    await deleteIfThere(
      opts.peak,
      objectPath(anchor),
      opts.log,
      `peak: revoked the token of ${describe(anchor)}`,
    );
  }
  for (const obj of peakObjects().reverse()) {
    const current = await getOrUndefined(opts.peak, objectPath(obj));
    if (current === undefined) {
      opts.log(`peak: ${describe(obj)} is not there`);
      continue;
    }
    if (current.metadata.labels?.[LINK_LABEL] !== LINK_LABEL_VALUE) {
      opts.log(`peak: ${describe(obj)} was not made by kubeburst link; left in place`);
      continue;
    }
    await deleteIfThere(opts.peak, objectPath(obj), opts.log, `peak: deleted ${describe(obj)}`);
  }
}

function describe(obj: KubeObject): string {
  const { name, namespace } = obj.metadata;
  return `${obj.kind} ${namespace === undefined ? name : `${namespace}/${name}`}`;
}

async function getOrUndefined(client: KubeClient, path: string): Promise<KubeObject | undefined> {
  try {
    return await client.request<KubeObject>({ method: "GET", path });
  } catch (err) {
    if (err instanceof KubeApiError && err.kind === "not-found") return undefined;
    throw err;
  }
}

/** Creates `obj` or brings it to what `link` wants; true when it wrote. */
async function ensure(
  client: KubeClient,
  obj: KubeObject,
  log: (line: string) => void,
): Promise<boolean> {
  const current = await getOrUndefined(client, objectPath(obj));
  if (current === undefined) {
    await client.request({ method: "POST", path: objectPath(obj, false), body: obj });
    log(`peak: created ${describe(obj)}`);
    return true;
  }
  if (hasWanted(current, obj)) {
    log(`peak: ${describe(obj)} unchanged`);
    return false;
  }
  // A namespace that was there before holds more than ours: it stays unmarked, so that unlink
  // never deletes it.
  if (obj.kind === "Namespace" && current.metadata.labels?.[LINK_LABEL] !== LINK_LABEL_VALUE) {
    log(`peak: ${describe(obj)} exists already; used as it is`);
    return false;
  }
  // A binding's roleRef cannot change in place: the binding is made again.
  const ref = (o: KubeObject) => {
    const r = (o.roleRef ?? {}) as Record<string, unknown>;
    return `${String(r.apiGroup)}/${String(r.kind)}/${String(r.name)}`;
  };
  if (obj.roleRef !== undefined && ref(current) !== ref(obj)) {
    await client.request({ method: "DELETE", path: objectPath(obj) });
    await client.request({ method: "POST", path: objectPath(obj, false), body: obj });
    log(`peak: replaced ${describe(obj)} (its roleRef differed)`);
    return true;
  }
  const body = {
    ...current,
    ...obj,
    metadata: {
      ...current.metadata,
      labels: { ...current.metadata.labels, ...obj.metadata.labels },
    },
  };
  await client.request({ method: "PUT", path: objectPath(obj), body });
  log(`peak: updated ${describe(obj)}`);
  return true;
}

async function listAnchors(peak: KubeClient): Promise<KubeObject[]> {
  const list = await peak.request<{ items: KubeObject[] }>({
    method: "GET",
    path: `/api/v1/namespaces/${PEAK_NAMESPACE}/secrets`,
    query: { labelSelector: `${LINK_LABEL}=${LINK_LABEL_VALUE},${TOKEN_LABEL}` },
  });
  // Items of a list carry no kind. Oldest first: names carry their creation time, zero-padded.
  return list.items
    .map((item) => ({ ...item, apiVersion: "v1", kind: "Secret" }))
    .sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : 1));
}

/** Deletes the object at `path`, logging `done` if it was there. */
async function deleteIfThere(
  client: KubeClient,
  path: string,
  log: (line: string) => void,
  done: string,
): Promise<void> {
  try {
    await client.request({ method: "DELETE", path });
    log(done);
  } catch (err) {
    if (!(err instanceof KubeApiError && err.kind === "not-found")) throw err;
  }
}

/** A new Secret in the peak, and a token bound to it (or filled into it, when long-lived). */
async function mintToken(
  opts: LinkOptions,
  now: () => number,
): Promise<{ value: string; anchor: string; expiresAt: string | undefined }> {
  const name = `kubeburst-token-${now().toString(36).padStart(9, "0")}`;
  if (opts.longLived) {
    await opts.peak.request({
      method: "POST",
      path: `/api/v1/namespaces/${PEAK_NAMESPACE}/secrets`,
      body: tokenSecret(name, true),
    });
    opts.log(`peak: created long-lived token Secret ${PEAK_NAMESPACE}/${name}`);
    return {
      value: await waitForLongLivedToken(opts.peak, name),
      anchor: name,
      expiresAt: undefined,
    };
  }
  // Whole seconds, as the API server grants them.
  const expiresAt = new Date(Math.floor(now() / 1000) * 1000 + opts.tokenTtlSeconds * 1000)
    .toISOString()
    .replace(".000Z", "Z");
  const anchor = await opts.peak.request<KubeObject>({
    method: "POST",
    path: `/api/v1/namespaces/${PEAK_NAMESPACE}/secrets`,
    body: tokenSecret(name, false, expiresAt),
  });
  const minted = await requestServiceAccountToken(opts.peak, PEAK_NAMESPACE, PEAK_SERVICE_ACCOUNT, {
    expirationSeconds: opts.tokenTtlSeconds,
    boundSecret: { name, uid: anchor.metadata.uid ?? "" },
  });
  const granted = new Date(minted.expiresAt).toISOString();
  opts.log(
    `peak: minted a token bound to Secret ${PEAK_NAMESPACE}/${name}, valid until ${granted}`,
  );
  // The anchor's annotation is the one record of the expiry, so that a later run compares equal;
  // an API server that caps token lifetimes (--service-account-max-token-expiration) grants less.
  if (Math.abs(minted.expiresAt - Date.parse(expiresAt)) > 60_000) {
    const capped = granted.replace(".000Z", "Z");
    await opts.peak.request({
      method: "PATCH",
      path: `/api/v1/namespaces/${PEAK_NAMESPACE}/secrets/${name}`,
      contentType: "application/merge-patch+json",
      body: { metadata: { annotations: { [EXPIRES_ANNOTATION]: capped } } },
    });
    return { value: minted.token, anchor: name, expiresAt: capped };
  }
  return { value: minted.token, anchor: name, expiresAt };
}

/**
 * The token of a good anchor: the one the discovery Secret holds already (so nothing changes),
 * or, without one, a new token bound to the same anchor (nothing stored changes either).
 */
async function reuseToken(
  opts: LinkOptions,
  anchor: KubeObject,
  existing: KubeObject | undefined,
  now: () => number,
): Promise<{ value: string; anchor: string; expiresAt: string | undefined }> {
  const name = anchor.metadata.name;
  const expiresAt = anchor.metadata.annotations?.[EXPIRES_ANNOTATION];
  const data = (existing?.data ?? {}) as Record<string, string>;
  if (data.kubeconfig !== undefined) {
    const text = Buffer.from(data.kubeconfig, "base64").toString("utf8");
    const loaded = loadKubeconfig(
      { kind: "inline", text },
      { context: undefined, allowInsecure: false },
    );
    if (loaded.ok && loaded.kubeConfig.user.token !== undefined) {
      opts.log(`peak: the token bound to Secret ${PEAK_NAMESPACE}/${name} is kept`);
      return { value: loaded.kubeConfig.user.token, anchor: name, expiresAt };
    }
  }
  if (opts.longLived) {
    return { value: await waitForLongLivedToken(opts.peak, name), anchor: name, expiresAt };
  }
  const seconds = Math.max(600, Math.floor((Date.parse(expiresAt ?? "") - now()) / 1000));
  const minted = await requestServiceAccountToken(opts.peak, PEAK_NAMESPACE, PEAK_SERVICE_ACCOUNT, {
    expirationSeconds: Number.isFinite(seconds) ? seconds : opts.tokenTtlSeconds,
    boundSecret: { name, uid: anchor.metadata.uid ?? "" },
  });
  opts.log(`peak: minted a token bound to the existing Secret ${PEAK_NAMESPACE}/${name}`);
  return { value: minted.token, anchor: name, expiresAt };
}

async function waitForLongLivedToken(peak: KubeClient, name: string): Promise<string> {
  const deadline = Date.now() + LONG_LIVED_WAIT_MS;
  while (Date.now() < deadline) {
    const secret = await getOrUndefined(
      peak,
      `/api/v1/namespaces/${PEAK_NAMESPACE}/secrets/${name}`,
    );
    const token = (secret?.data as Record<string, string> | undefined)?.token;
    if (token) return Buffer.from(token, "base64").toString("utf8");
    await sleep(500);
  }
  throw new Error(
    `the long-lived token Secret ${PEAK_NAMESPACE}/${name} got no token within ${LONG_LIVED_WAIT_MS / 1000}s; does the peak's kube-controller-manager run its service-account token controller? Without --long-lived-token, link uses the TokenRequest API instead`,
  );
}

/** Creates or replaces the discovery Secret; true when it wrote. */
async function writeSecret(
  production: KubeClient,
  secret: KubeObject,
  existing: KubeObject | undefined,
  log: (line: string) => void,
): Promise<boolean> {
  const where = `production: Secret ${secret.metadata.namespace}/${secret.metadata.name}`;
  if (existing === undefined) {
    await production.request({ method: "POST", path: objectPath(secret, false), body: secret });
    log(`${where} created`);
    return true;
  }
  const annotations = Object.entries(secret.metadata.annotations ?? {});
  const same =
    hasWanted(existing, secret) &&
    annotations.every(([k, v]) => existing.metadata.annotations?.[k] === v);
  if (same) {
    log(`${where} unchanged`);
    return false;
  }
  const body = {
    ...secret,
    metadata: { ...secret.metadata, resourceVersion: existing.metadata.resourceVersion },
  };
  await production.request({ method: "PUT", path: objectPath(secret), body });
  log(`${where} updated`);
  return true;
}
