import { execFileSync } from "node:child_process";
import { readFileSync } from "node:fs";
import path from "node:path";

/**
 * A self-signed P-256 certificate and its unencrypted key for `CN=<name>`, valid two days, made
 * with openssl in `dir` (which the caller removes): PEM file paths and their text. `ip`: an IP
 * subject alternative name, for a server's certificate.
 */
export function selfSigned(
  dir: string,
  name: string,
  ip?: string,
): { certFile: string; keyFile: string; cert: string; key: string } {
  const certFile = path.join(dir, `${name}.crt`);
  const keyFile = path.join(dir, `${name}.key`);
  execFileSync(
    "openssl",
    [
      ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"],
      ["-keyout", keyFile, "-out", certFile, "-subj", `/CN=${name}`, "-days", "2"],
      ip === undefined ? [] : ["-addext", `subjectAltName=IP:${ip}`],
    ].flat(),
    { stdio: "ignore" },
  );
  return {
    certFile,
    keyFile,
    cert: readFileSync(certFile, "utf8"),
    key: readFileSync(keyFile, "utf8"),
  };
}
