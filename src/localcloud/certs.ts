import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import { promisify } from "node:util";

const run = promisify(execFile);

/** Paths of the PEM files of one cluster's PKI. */
export interface ClusterPki {
  caCert: string;
  caKey: string;
  servingCert: string;
  servingKey: string;
  adminCert: string;
  adminKey: string;
  serviceAccountKey: string;
  serviceAccountPub: string;
}

async function openssl(args: string[], cwd: string): Promise<void> {
  try {
    await run("openssl", args, { cwd });
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? "";
    throw new Error(`openssl ${args[0]} failed: ${stderr.trim()}`, { cause: err });
  }
}

async function ecKey(file: string, dir: string): Promise<void> {
  await openssl(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", file], dir);
}

/** Issues a certificate for `subject` signed by the CA in `dir`, with optional extensions. */
async function issue(
  dir: string,
  name: string,
  subject: string,
  extensions: string,
): Promise<void> {
  await ecKey(`${name}.key`, dir);
  await openssl(
    ["req", "-new", "-key", `${name}.key`, "-subj", subject, "-out", `${name}.csr`],
    dir,
  );
  await writeFile(path.join(dir, `${name}.ext`), extensions);
  await openssl(
    [
      "x509",
      "-req",
      "-in",
      `${name}.csr`,
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-set_serial",
      `0x${randomBytes(8).toString("hex")}`,
      "-days",
      "7",
      "-sha256",
      "-extfile",
      `${name}.ext`,
      "-out",
      `${name}.crt`,
    ],
    dir,
  );
}

/**
 * Creates a fresh CA, an API server serving certificate for `ipSans`/`dnsSans`, an admin client
 * certificate in group system:masters, and a service-account signing key pair, all in `dir`.
 */
export async function createClusterPki(
  dir: string,
  clusterName: string,
  ipSans: string[],
  dnsSans: string[],
): Promise<ClusterPki> {
  await ecKey("ca.key", dir);
  await openssl(
    [
      "req",
      "-x509",
      "-new",
      "-key",
      "ca.key",
      "-subj",
      `/CN=kubeburst-localcloud-${clusterName}-ca`,
      "-days",
      "7",
      "-sha256",
      "-out",
      "ca.crt",
    ],
    dir,
  );
  const san = [...ipSans.map((ip) => `IP:${ip}`), ...dnsSans.map((d) => `DNS:${d}`)].join(",");
  await Promise.all([
    issue(
      dir,
      "serving",
      `/CN=kube-apiserver-${clusterName}`,
      `subjectAltName=${san}\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n`,
    ),
    issue(
      dir,
      "admin",
      "/O=system:masters/CN=kubeburst-admin",
      "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
    ),
    (async () => {
      await ecKey("sa.key", dir);
      await openssl(["ec", "-in", "sa.key", "-pubout", "-out", "sa.pub"], dir);
    })(),
  ]);
  const p = (f: string) => path.join(dir, f);
  return {
    caCert: p("ca.crt"),
    caKey: p("ca.key"),
    servingCert: p("serving.crt"),
    servingKey: p("serving.key"),
    adminCert: p("admin.crt"),
    adminKey: p("admin.key"),
    serviceAccountKey: p("sa.key"),
    serviceAccountPub: p("sa.pub"),
  };
}

/** Issues a client certificate for `user` (in `groups`) from the cluster's CA. Returns PEM texts. */
export async function issueClientCert(
  dir: string,
  fileBase: string,
  user: string,
  groups: string[],
): Promise<{ cert: string; key: string }> {
  const subject = `${groups.map((g) => `/O=${g}`).join("")}/CN=${user}`;
  await issue(dir, fileBase, subject, "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature\n");
  return {
    cert: await readFile(path.join(dir, `${fileBase}.crt`), "utf8"),
    key: await readFile(path.join(dir, `${fileBase}.key`), "utf8"),
  };
}

/** A kubeconfig (YAML text) with inline CA and client certificate. */
export function kubeconfigYaml(
  name: string,
  server: string,
  caPem: string,
  certPem: string,
  keyPem: string,
): string {
  const b64 = (s: string) => Buffer.from(s).toString("base64");
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    `- name: ${name}`,
    "  cluster:",
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caPem)}`,
    "users:",
    `- name: ${name}-user`,
    "  user:",
    `    client-certificate-data: ${b64(certPem)}`,
    `    client-key-data: ${b64(keyPem)}`,
    "contexts:",
    `- name: ${name}`,
    "  context:",
    `    cluster: ${name}`,
    `    user: ${name}-user`,
    `current-context: ${name}`,
    "",
  ].join("\n");
}
