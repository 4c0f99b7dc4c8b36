import { parseCidr } from "./cidr.ts";
import { dnsLabelProblem } from "./config-schema.ts";
import { parseDuration } from "./duration.ts";

/** `kubeburst link` and `unlink` flags as given on the command line. */
export interface RawLinkFlags {
  name?: string | undefined;
  peakKubeconfig?: string | undefined;
  peakContext?: string;
  peakServer?: string;
  allowedCidrs?: string;
  apply?: boolean;
  productionKubeconfig?: string;
  productionContext?: string;
  namespace?: string;
  tokenTtl?: string;
  longLivedToken?: boolean;
  rotate?: boolean;
  revokeAfter?: string;
}

/** The flags, checked; durations in ms, CIDRs canonical. */
export interface LinkFlags {
  name: string;
  peakKubeconfig: string;
  peakContext: string | undefined;
  peakServer: string | undefined;
  allowedCIDRs: string[];
  productionKubeconfig: string | undefined;
  productionContext: string | undefined;
  namespace: string;
  tokenTtlSeconds: number;
  longLivedToken: boolean;
  rotate: boolean;
  revokeAfterMs: number;
}

/** The shortest token TokenRequest grants (10 minutes), and the longest link asks for (1 year). */
const MIN_TTL_S = 600;
const MAX_TTL_S = 366 * 24 * 3600;

/**
 * Checks `link` (or, with `forUnlink`, `unlink`) flags; every problem names its flag. Defaults:
 * namespace `kubeburst`, token TTL 720h (30 days), revoke-after 2m (longer than kubeburst's
 * default discoveryInterval of 30 s plus a sync). Pure.
 */
export function parseLinkFlags(
  raw: RawLinkFlags,
  forUnlink = false,
): { ok: true; flags: LinkFlags } | { ok: false; problems: string[] } {
  const problems: string[] = [];
  const name = raw.name ?? "";
  const nameProblem = name === "" ? "required" : dnsLabelProblem(name, "cluster name");
  if (nameProblem !== undefined) problems.push(`--name: ${nameProblem}`);
  if (!raw.peakKubeconfig)
    problems.push("--peak-kubeconfig: required (an admin kubeconfig of the peak)");
  const namespace = raw.namespace ?? "kubeburst";
  const nsProblem = dnsLabelProblem(namespace, "namespace");
  if (nsProblem !== undefined) problems.push(`--namespace: ${nsProblem}`);
  if ((raw.apply || forUnlink) && !raw.productionKubeconfig) {
    problems.push(
      `--production-kubeconfig: required ${forUnlink ? "by unlink" : "with --apply"} (a kubeconfig allowed to write Secrets in --namespace of production)`,
    );
  }
  if (!raw.apply && !forUnlink && raw.productionKubeconfig) {
    problems.push("--production-kubeconfig: only with --apply (without it the Secret is printed)");
  }
  if (raw.peakServer !== undefined) {
    if (!URL.canParse(raw.peakServer) || new URL(raw.peakServer).protocol !== "https:") {
      problems.push(`--peak-server: ${JSON.stringify(raw.peakServer)} is not an https:// URL`);
    }
  }
  const allowedCIDRs: string[] = [];
  if (!forUnlink) {
    const parts = (raw.allowedCidrs ?? "").split(/[\s,]+/).filter((p) => p !== "");
    if (parts.length === 0) {
      problems.push(
        "--allowed-cidrs: required: the address ranges the peak's endpoints may use, comma-separated (0.0.0.0/0,::/0 allows all)",
      );
    }
    for (const part of parts) {
      const parsed = parseCidr(part);
      if (parsed.ok) allowedCIDRs.push(parsed.cidr.canonical);
      else problems.push(`--allowed-cidrs: ${parsed.message}`);
    }
  }
  const ttl = duration("--token-ttl", raw.tokenTtl ?? "720h", problems);
  if (ttl !== undefined && (ttl < MIN_TTL_S * 1000 || ttl > MAX_TTL_S * 1000)) {
    problems.push("--token-ttl: must be from 10m (the API server's minimum) to 8784h (a year)");
  }
  const revokeAfter = duration("--revoke-after", raw.revokeAfter ?? "2m", problems);
  if (raw.longLivedToken && raw.tokenTtl !== undefined) {
    problems.push("--token-ttl: a long-lived token Secret never expires; leave out one of the two");
  }
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    flags: {
      name,
      peakKubeconfig: raw.peakKubeconfig!,
      peakContext: raw.peakContext,
      peakServer: raw.peakServer?.replace(/\/+$/, ""),
      allowedCIDRs: [...new Set(allowedCIDRs)].sort(),
      productionKubeconfig: raw.productionKubeconfig,
      productionContext: raw.productionContext,
      namespace,
      tokenTtlSeconds: Math.floor((ttl ?? 0) / 1000),
      longLivedToken: raw.longLivedToken ?? false,
      rotate: raw.rotate ?? false,
      revokeAfterMs: revokeAfter ?? 0,
    },
  };
}

function duration(flag: string, text: string, problems: string[]): number | undefined {
  const parsed = parseDuration(text);
  if (parsed.ok) return parsed.ms;
  problems.push(`${flag}: ${parsed.message}`);
  return undefined;
}
