import { Command, CommanderError, Option } from "commander";
import type { RawLinkFlags } from "../config/link-options.ts";
import { demoCommand } from "../demo/demo-command.ts";
import { IP_FAMILY_OPTIONS, type IpFamilyOption } from "../localcloud/address-plan.ts";
import { checkCommand } from "./check-command.ts";
import { linkCommand, unlinkCommand } from "./link-command.ts";
import { runCommand } from "./run-command.ts";
import { explainCommand, statusCommand } from "./status-command.ts";
import { versionText } from "./version-command.ts";

/** Exit codes of the `kubeburst` command. */
export const exitCodes = {
  ok: 0,
  failure: 1,
  usage: 2,
} as const;

/** Runs the `kubeburst` command line and returns its exit code. */
export async function main(argv: string[]): Promise<number> {
  let code: number = exitCodes.ok;
  const program = new Command("kubeburst")
    .description(
      "Let a production Service balance across its own pods and the pods of the same-named peak Service in another cluster.",
    )
    .exitOverride()
    .showHelpAfterError();

  program
    .command("version")
    .description("print the version of kubeburst and of the Kubernetes it is tested with")
    .action(() => {
      process.stdout.write(`${versionText()}\n`);
    });

  program
    .command("run")
    .description("watch every configured cluster and keep the union of endpoints in production")
    .requiredOption("-c, --config <file>", "the config file (YAML)")
    .action(async (opts: { config: string }) => {
      code = await runCommand(opts.config);
    });

  program
    .command("check")
    .description(
      "validate the config file and reach every cluster with its kubeconfig (writes nothing)",
    )
    .requiredOption("-c, --config <file>", "the config file (YAML)")
    .action(async (opts: { config: string }) => {
      code = await checkCommand(opts.config);
    });

  const peakFlags = (cmd: Command) =>
    cmd
      .option("--name <name>", "the peak cluster's name in kubeburst (the discovery Secret's name)")
      .option("--peak-kubeconfig <file>", "an admin kubeconfig of the peak cluster")
      .option("--peak-context <context>", "its context (default: its current context)")
      .option(
        "--production-kubeconfig <file>",
        "a kubeconfig of production that may write Secrets in --namespace",
      )
      .option("--production-context <context>", "its context (default: its current context)")
      .option("--namespace <namespace>", "kubeburst's namespace in production", "kubeburst");

  peakFlags(
    program
      .command("link")
      .description(
        "create a read-only identity in a peak cluster and register it with kubeburst (prints the Secret, or writes it with --apply)",
      ),
  )
    .option(
      "--allowed-cidrs <cidrs>",
      "address ranges the peak's endpoints may use, comma-separated",
    )
    .option(
      "--peak-server <url>",
      "the peak's API server as production reaches it (default: the kubeconfig's)",
    )
    .option("--apply", "write the discovery Secret into production (needs --production-kubeconfig)")
    .option(
      "--token-ttl <duration>",
      "lifetime of the TokenRequest token (10m to 8784h)",
      undefined,
    )
    .option(
      "--long-lived-token",
      "a long-lived token Secret instead (needs the peak's token controller)",
    )
    .option("--rotate", "mint a new token, write it, then revoke the old one after --revoke-after")
    .option("--revoke-after <duration>", "how long a replaced token stays valid", undefined)
    .action(async (opts: RawLinkFlags) => {
      code = await linkCommand(opts);
    });

  peakFlags(
    program
      .command("unlink")
      .description(
        "remove a peak: its discovery Secret in production, then everything link made in the peak",
      ),
  ).action(async (opts: RawLinkFlags) => {
    code = await unlinkCommand(opts);
  });

  program
    .command("status")
    .description(
      "ask a running kubeburst's status API whether it is ready, and how each cluster and Service is doing",
    )
    .option("-c, --config <file>", "the config file (its metrics.address is asked)")
    .option("--address <host:port>", "where kubeburst serves /metrics, instead of the config's")
    .option("--json", "print the status document as kubeburst serves it")
    .action(async (opts: { config?: string; address?: string; json?: boolean }) => {
      code = await statusCommand(opts);
    });

  program
    .command("explain")
    .description(
      "show one Service as a running kubeburst sees it: each cluster's endpoints, what was refused and why, what is written, when, and how long the last change took",
    )
    .argument("<namespace/name>", "the production Service, e.g. shop/web")
    .option("-c, --config <file>", "the config file (its metrics.address is asked)")
    .option("--address <host:port>", "where kubeburst serves /metrics, instead of the config's")
    .option("-o, --output <format>", "text or json", "text")
    .action(
      async (service: string, opts: { config?: string; address?: string; output?: string }) => {
        code = await explainCommand(service, opts);
      },
    );

  program
    .command("demo")
    .description(
      "two local clusters, kubeburst between them, traffic visibly crossing (needs root)",
    )
    .option(
      "--json",
      "no live display: print a per-phase summary; exit 0 only if traffic crossed as expected",
    )
    .option("--phase-seconds <n>", "how long each phase counts traffic", "6")
    .addOption(
      new Option(
        "--ip-family <family>",
        "address families of both clusters and Services (dual: traffic to both ClusterIPs)",
      )
        .choices(IP_FAMILY_OPTIONS)
        .default("ipv4"),
    )
    .action(async (opts: { json?: boolean; phaseSeconds: string; ipFamily: IpFamilyOption }) => {
      const phaseSeconds = Number(opts.phaseSeconds);
      if (!(phaseSeconds > 0)) {
        process.stderr.write(
          `--phase-seconds: ${JSON.stringify(opts.phaseSeconds)} is not a positive number\n`,
        );
        code = exitCodes.usage;
        return;
      }
      code = await demoCommand({
        json: opts.json ?? false,
        phaseSeconds,
        ipFamily: opts.ipFamily,
      });
    });

  try {
    await program.parseAsync(argv, { from: "user" });
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? exitCodes.ok : exitCodes.usage;
    }
    throw err;
  }
  return code;
}
