import type { KubeClient } from "./kube-client.ts";

/** One action to ask about: `verb` on `resource` of `group`, in `namespace` or in all. */
export interface AccessQuestion {
  group: string;
  resource: string;
  verb: string;
  namespace?: string;
}

/**
 * Asks the API server whether the client's own identity may do `q` (a SelfSubjectAccessReview:
 * the authorizer's answer, RBAC and any other authorizer included). Every authenticated identity
 * may ask about itself. Throws a KubeApiError when the question cannot be asked.
 */
export async function canI(
  client: KubeClient,
  q: AccessQuestion,
  signal?: AbortSignal,
): Promise<{ allowed: boolean; reason: string }> {
  const answer = await client.request<{ status?: { allowed?: boolean; reason?: string } }>({
    method: "POST",
    path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    body: {
      apiVersion: "authorization.k8s.io/v1",
      kind: "SelfSubjectAccessReview",
      spec: {
        resourceAttributes: {
          group: q.group,
          resource: q.resource,
          verb: q.verb,
          ...(q.namespace === undefined ? {} : { namespace: q.namespace }),
        },
      },
    },
    ...(signal === undefined ? {} : { signal }),
  });
  return { allowed: answer?.status?.allowed === true, reason: answer?.status?.reason ?? "" };
}
