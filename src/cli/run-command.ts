import { ForwardingController } from "../app/forwarding-controller.ts";
import { formatConfigErrors, loadConfigFile } from "../config/load-config.ts";
import { logLevelFromEnv } from "../config/log-level.ts";
import { startHealthServer } from "../observability/health-server.ts";
import { createLogger } from "../observability/logger.ts";
import { Metrics } from "../observability/metrics.ts";
import { systemClock } from "../runtime/clock.ts";

/**
 * `kubeburst run --config FILE`: validates the file and `KUBEBURST_LOG_LEVEL` (exit 2 with every
 * problem on stderr), then runs the forwarding controller until SIGINT or SIGTERM, and exits 0
 * after a clean stop. Expected failures (metrics.address cannot be listened on, the production
 * cluster cannot be watched) exit 1 with a log line that says why, without a stack.
 */
export async function runCommand(configPath: string): Promise<number> {
  const loaded = await loadConfigFile(configPath);
  const level = logLevelFromEnv(process.env);
  if (!loaded.ok || !level.ok) {
    const errors = [...(loaded.ok ? [] : loaded.errors), ...(level.ok ? [] : level.errors)];
    process.stderr.write(`${formatConfigErrors(errors)}\n`);
    return 2;
  }
  const config = loaded.config;
  const logger = createLogger(level.level);
  const metrics = new Metrics();
  const stop = new AbortController();
  let lostLeadership = false;
  const controller = new ForwardingController({
    config,
    logger,
    metrics,
    clock: systemClock,
    // As kube-controller-manager does: exit, and let the restart rejoin as a standby.
    onLostLeadership: () => {
      lostLeadership = true;
      stop.abort();
    },
  });

  const onSignal = (name: string) => {
    logger.info({ signal: name }, "stopping");
    stop.abort();
  };
  process.once("SIGINT", () => onSignal("SIGINT"));
  process.once("SIGTERM", () => onSignal("SIGTERM"));

  let server: Awaited<ReturnType<typeof startHealthServer>> | undefined;
  if (config.metrics.enabled) {
    try {
      server = await startHealthServer(
        config.metrics.host,
        config.metrics.port,
        metrics,
        () => controller.readiness(),
        { source: controller.status, access: config.statusAPI },
      );
    } catch (err) {
      const { host, port } = config.metrics;
      logger.error(
        {
          field: "metrics.address",
          address: `${host.includes(":") ? `[${host}]` : host}:${port}`,
          err,
        },
        'cannot serve /metrics, /healthz and /readyz on metrics.address; change it or set it to "off"',
      );
      return 1;
    }
    logger.info(
      { address: server.address, statusAPI: config.statusAPI },
      "serving /metrics, /healthz, /readyz and the status API",
    );
  }
  try {
    await controller.run(stop.signal);
    if (lostLeadership) {
      logger.error("lost the leader Lease; exiting so that a restart rejoins as a standby");
      return 1;
    }
    return 0;
  } catch (err) {
    logger.error({ err }, "kubeburst stopped on an error");
    return 1;
  } finally {
    stop.abort();
    await server?.close();
    logger.flush();
  }
}
