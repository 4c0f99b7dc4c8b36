import { serviceKey } from "../domain/service-key.ts";
import { STATUS_PATH, serviceStatusPath } from "../observability/status-model.ts";
import {
  fetchStatus,
  serviceStatusSchema,
  statusAddress,
  statusDocumentSchema,
} from "./status-client.ts";
import { formatExplain, formatStatus, statusHealthy } from "./status-format.ts";

/**
 * `kubeburst status`: reads the status API of a running kubeburst (at `metrics.address` of the
 * config, or `address`) and prints readiness, each declared cluster and each Service on one line.
 * Exit 0 when ready with no cluster failing or withdrawn, 1 otherwise or when no kubeburst
 * answers, 2 on a bad config. `json`: the document as served.
 */
export async function statusCommand(opts: {
  config?: string;
  address?: string;
  json?: boolean;
}): Promise<number> {
  const where = await statusAddress({ ...opts, command: "status" });
  if (!where.ok) {
    process.stderr.write(`${where.message}\n`);
    return 2;
  }
  const got = await fetchStatus(where.address, STATUS_PATH, statusDocumentSchema);
  if (!got.ok) {
    process.stderr.write(`status: ${got.message}\n`);
    return 1;
  }
  process.stdout.write(opts.json ? got.text : `${formatStatus(got.doc, where.address)}\n`);
  return statusHealthy(got.doc) ? 0 : 1;
}

/**
 * `kubeburst explain NAMESPACE/NAME`: everything the running kubeburst knows of one Service.
 * Exit 0 when it answered, 1 when it knows no such Service or does not answer, 2 on bad input.
 */
export async function explainCommand(
  service: string,
  opts: { config?: string; address?: string; output?: string },
): Promise<number> {
  const m = /^([^/\s]+)\/([^/\s]+)$/.exec(service);
  if (!m) {
    process.stderr.write(
      `explain: ${JSON.stringify(service)} is not NAMESPACE/NAME, e.g. shop/web\n`,
    );
    return 2;
  }
  const output = opts.output ?? "text";
  if (output !== "text" && output !== "json") {
    process.stderr.write(`explain: -o ${JSON.stringify(output)}: use text or json\n`);
    return 2;
  }
  const where = await statusAddress({ ...opts, command: "explain" });
  if (!where.ok) {
    process.stderr.write(`${where.message}\n`);
    return 2;
  }
  const [namespace, name] = [m[1]!, m[2]!];
  const got = await fetchStatus(
    where.address,
    serviceStatusPath(namespace, name),
    serviceStatusSchema,
  );
  if (!got.ok) {
    process.stderr.write(`explain ${serviceKey(namespace, name)}: ${got.message}\n`);
    return 1;
  }
  process.stdout.write(output === "json" ? got.text : `${formatExplain(got.doc)}\n`);
  return 0;
}
