// Every permission kubeburst needs, in one place: `check` asks the API for each of them, `link`
// grants the peak ones, the least-privilege test proves nothing more is granted, and a unit test
// keeps deploy/'s RBAC manifests equal to this list.

/** One RBAC rule kubeburst needs: in every namespace, or only in its own (`scope: "own"`). */
export interface Permission {
  /** `""` is the core group. */
  apiGroup: string;
  resource: string;
  verbs: readonly string[];
  scope: "cluster" | "own";
  /** Why kubeburst needs it (shown by `check` next to a failure). */
  why: string;
  /** Needed only in literal mode (`mode: endpoints`), or only with leader election. */
  only?: "literal-mode" | "leader-election";
}

/** Read-only, in every peak cluster. */
export const PEAK_PERMISSIONS: readonly Permission[] = [
  {
    apiGroup: "",
    resource: "services",
    verbs: ["list", "watch"],
    scope: "cluster",
    why: "peak Services labelled kubeburst.io/role: peak",
  },
  {
    apiGroup: "discovery.k8s.io",
    resource: "endpointslices",
    verbs: ["list", "watch"],
    scope: "cluster",
    why: "the endpoints of peak Services",
  },
];

/** In the production cluster: reads, and writes of only its slices, Endpoints, Events and Lease. */
export const PRODUCTION_PERMISSIONS: readonly Permission[] = [
  {
    apiGroup: "",
    resource: "services",
    verbs: ["list", "watch"],
    scope: "cluster",
    why: "production Services labelled kubeburst.io/role: production",
  },
  {
    apiGroup: "discovery.k8s.io",
    resource: "endpointslices",
    verbs: ["list", "watch", "create", "patch", "update", "delete"],
    scope: "cluster",
    why: "writing its own EndpointSlices, and the API server's own addresses",
  },
  {
    apiGroup: "",
    resource: "endpoints",
    verbs: ["list", "watch"],
    scope: "cluster",
    why: "Endpoints it added addresses to, to take them back out",
  },
  {
    apiGroup: "",
    resource: "endpoints",
    verbs: ["create", "update"],
    scope: "cluster",
    why: "literal mode rewrites the Endpoints of selector-less Services",
    only: "literal-mode",
  },
  {
    apiGroup: "",
    resource: "events",
    verbs: ["create", "patch"],
    scope: "cluster",
    why: "Events on production Services",
  },
  {
    apiGroup: "events.k8s.io",
    resource: "events",
    verbs: ["create", "patch"],
    scope: "cluster",
    why: "Events on production Services",
  },
  {
    apiGroup: "",
    resource: "nodes",
    verbs: ["list", "watch"],
    scope: "cluster",
    why: "production's node addresses and pod ranges, never admitted from a peak",
  },
  {
    apiGroup: "networking.k8s.io",
    resource: "servicecidrs",
    verbs: ["list", "watch"],
    scope: "cluster",
    why: "production's Service ranges, never admitted from a peak",
  },
  {
    apiGroup: "autoscaling",
    resource: "horizontalpodautoscalers",
    verbs: ["list", "watch"],
    scope: "cluster",
    why: "the HorizontalPodAutoscaler an hpa-saturated burst policy names",
  },
  {
    apiGroup: "",
    resource: "secrets",
    verbs: ["list"],
    scope: "own",
    why: "discovery Secrets (labelled kubeburst.io/cluster) that register peak clusters",
  },
  {
    apiGroup: "coordination.k8s.io",
    resource: "leases",
    verbs: ["get", "create", "update"],
    scope: "own",
    why: "the leader Lease",
    only: "leader-election",
  },
];

/** The permissions of a role, for the settings given. */
export function permissionsFor(
  role: "production" | "peak",
  settings: { literalMode: boolean; leaderElection: boolean },
): Permission[] {
  if (role === "peak") return [...PEAK_PERMISSIONS];
  return PRODUCTION_PERMISSIONS.filter(
    (p) =>
      p.only === undefined ||
      (p.only === "literal-mode" && settings.literalMode) ||
      (p.only === "leader-election" && settings.leaderElection),
  );
}

/** One RBAC rule as in a (Cluster)Role. */
export interface RbacRule {
  apiGroups: string[];
  resources: string[];
  verbs: string[];
}

/**
 * The RBAC rules granting `permissions` (every one of them, whatever `only` says: an
 * installation may switch modes): one rule per group and resource, verbs merged, in list order.
 */
export function rbacRules(permissions: readonly Permission[]): RbacRule[] {
  const rules: RbacRule[] = [];
  for (const p of permissions) {
    const same = rules.find((r) => r.apiGroups[0] === p.apiGroup && r.resources[0] === p.resource);
    if (same === undefined) {
      rules.push({ apiGroups: [p.apiGroup], resources: [p.resource], verbs: [...p.verbs] });
    } else {
      for (const verb of p.verbs) if (!same.verbs.includes(verb)) same.verbs.push(verb);
    }
  }
  return rules;
}

/** Every verb that changes an object: the least-privilege test asks for each of them. */
export const WRITE_VERBS = ["create", "update", "patch", "delete", "deletecollection"] as const;
