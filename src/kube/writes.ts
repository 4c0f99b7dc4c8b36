import type { KubeClient } from "./kube-client.ts";

/** The field manager of every write kubeburst makes. */
export const fieldManager = "kubeburst";

/** How a write may run: until `signal` aborts, and for at most `timeoutMs` (default: the client's). */
export interface WriteOptions {
  signal: AbortSignal;
  timeoutMs?: number;
}

/** Path of an EndpointSlice (or the collection, without `name`). */
export function endpointSlicePath(namespace: string, name?: string): string {
  const base = `/apis/discovery.k8s.io/v1/namespaces/${namespace}/endpointslices`;
  return name === undefined ? base : `${base}/${name}`;
}

/**
 * Server-side applies a whole object with our one field manager and `force`, so kubeburst owns
 * every field it sets and nothing else (the one rule for writes; DESIGN "one writer per object").
 */
export async function serverSideApply<T>(
  client: KubeClient,
  path: string,
  body: object,
  options: WriteOptions,
): Promise<T> {
  return await client.request<T>({
    method: "PATCH",
    path,
    query: { fieldManager, force: true },
    contentType: "application/apply-patch+yaml",
    body,
    ...options,
  });
}

/**
 * Deletes an object only if it still has `uid` (a precondition), so an object re-created by
 * someone else in the meantime is never removed. Not-found counts as done.
 */
export async function deleteWithUid(
  client: KubeClient,
  path: string,
  uid: string,
  options: WriteOptions,
): Promise<"deleted" | "gone"> {
  try {
    await client.request({
      method: "DELETE",
      path,
      body: { apiVersion: "v1", kind: "DeleteOptions", preconditions: { uid } },
      ...options,
    });
    return "deleted";
  } catch (err) {
    if ((err as { kind?: string }).kind === "not-found") return "gone";
    throw err;
  }
}

/** Replaces an object (PUT); `body.metadata.resourceVersion` makes it conditional. */
export async function replaceObject<T>(
  client: KubeClient,
  path: string,
  body: object,
  options: WriteOptions,
): Promise<T> {
  return await client.request<T>({
    method: "PUT",
    path,
    query: { fieldManager },
    body,
    ...options,
  });
}

/** Creates an object (POST to its collection). */
export async function createObject<T>(
  client: KubeClient,
  collectionPath: string,
  body: object,
  options: WriteOptions,
): Promise<T> {
  return await client.request<T>({
    method: "POST",
    path: collectionPath,
    query: { fieldManager },
    body,
    ...options,
  });
}
