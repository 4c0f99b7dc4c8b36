import { Command, CommanderError, Option } from "commander";
import { demoCommand } from "../demo/demo-command.ts";
import { IP_FAMILY_OPTIONS, type IpFamilyOption } from "../localcloud/address-plan.ts";
import { checkCommand } from "./check-command.ts";
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
