import path from "node:path";
import { stringify } from "yaml";
import { type LinkFlags, parseLinkFlags, type RawLinkFlags } from "../config/link-options.ts";
import { KubeClient } from "../kube/kube-client.ts";
import type { Kubeconfig } from "../kube/kubeconfig.ts";
import { loadKubeconfig } from "../kube/load-kubeconfig.ts";
import { linkPeak, unlinkPeak } from "../link/link-peak.ts";

/**
 * An operator's own admin kubeconfig, as kubectl would read it (exec plugins and file references
 * allowed: it runs from the operator's shell, not inside kubeburst), or the problems.
 */
function adminKubeconfig(
  flag: string,
  file: string,
  context: string | undefined,
): { ok: true; kc: Kubeconfig } | { ok: false; problems: string[] } {
  const loaded = loadKubeconfig(
    { kind: "path", path: path.resolve(file) },
    { context, allowInsecure: true },
  );
  if (!loaded.ok) return { ok: false, problems: loaded.problems.map((p) => `${flag}: ${p}`) };
  return { ok: true, kc: loaded.kubeConfig };
}

function usage(problems: string[]): number {
  process.stderr.write(`${problems.map((p) => `kubeburst: ${p}`).join("\n")}\n`);
  return 2;
}

interface Clients {
  peak: KubeClient;
  peakKc: Kubeconfig;
  production: KubeClient | undefined;
}

/** Clients of the peak and (with --apply, or for unlink) of production, from the flags' kubeconfigs. */
function clients(
  flags: LinkFlags,
): { ok: true; clients: Clients } | { ok: false; problems: string[] } {
  const peak = adminKubeconfig("--peak-kubeconfig", flags.peakKubeconfig, flags.peakContext);
  const prod =
    flags.productionKubeconfig === undefined
      ? undefined
      : adminKubeconfig(
          "--production-kubeconfig",
          flags.productionKubeconfig,
          flags.productionContext,
        );
  if (!peak.ok || (prod !== undefined && !prod.ok)) {
    const problems = [
      ...(peak.ok ? [] : peak.problems),
      ...(prod?.ok !== false ? [] : prod.problems),
    ];
    return { ok: false, problems };
  }
  return {
    ok: true,
    clients: {
      peak: new KubeClient(peak.kc),
      peakKc: peak.kc,
      production: prod?.ok ? new KubeClient(prod.kc) : undefined,
    },
  };
}

/**
 * `kubeburst link`: creates the peak's read-only identity and a token, and writes the discovery
 * Secret into production (`--apply`) or prints it on stdout. Steps go to stdout with `--apply`,
 * to stderr otherwise (stdout is then the Secret, for `kubectl apply -f -`). Exit 0 when done,
 * 1 when an API call failed (with what to do), 2 for bad flags.
 */
export async function linkCommand(raw: RawLinkFlags): Promise<number> {
  const parsed = parseLinkFlags(raw);
  if (!parsed.ok) return usage(parsed.problems);
  const { flags } = parsed;
  const made = clients(flags);
  if (!made.ok) return usage(made.problems);
  const { peak, peakKc, production } = made.clients;
  if (peakKc.cluster.insecureSkipTlsVerify && peakKc.cluster.certificateAuthority === undefined) {
    peak.close();
    production?.close();
    return usage([
      "--peak-kubeconfig: its cluster skips TLS verification, so there is no CA to give kubeburst; add certificate-authority-data to it",
    ]);
  }
  const out = production ? process.stdout : process.stderr;
  try {
    const result = await linkPeak({
      peak,
      peakServer: flags.peakServer ?? peakKc.cluster.server,
      peakCa: peakKc.cluster.certificateAuthority,
      name: flags.name,
      allowedCIDRs: flags.allowedCIDRs,
      production,
      namespace: flags.namespace,
      tokenTtlSeconds: flags.tokenTtlSeconds,
      longLived: flags.longLivedToken,
      rotate: flags.rotate,
      revokeAfterMs: flags.revokeAfterMs,
      log: (line) => out.write(`${line}\n`),
    });
    if (production) {
      out.write(
        result.changed
          ? `linked peak ${flags.name}: kubeburst picks it up at its next discovery\n`
          : `peak ${flags.name} was linked already; nothing changed\n`,
      );
    } else {
      process.stdout.write(`---\n${stringify(result.secret)}`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`kubeburst link: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    peak.close();
    production?.close();
  }
}

/** `kubeburst unlink`: removes the discovery Secret, then everything `link` made in the peak. */
export async function unlinkCommand(raw: RawLinkFlags): Promise<number> {
  const parsed = parseLinkFlags(raw, true);
  if (!parsed.ok) return usage(parsed.problems);
  const made = clients(parsed.flags);
  if (!made.ok) return usage(made.problems);
  const { peak, production } = made.clients;
  try {
    await unlinkPeak({
      peak,
      production: production!,
      name: parsed.flags.name,
      namespace: parsed.flags.namespace,
      log: (line) => process.stdout.write(`${line}\n`),
    });
    process.stdout.write(`unlinked peak ${parsed.flags.name}\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`kubeburst unlink: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  } finally {
    peak.close();
    production?.close();
  }
}
