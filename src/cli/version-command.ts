import { readFileSync } from "node:fs";

/** The Kubernetes version the local cloud builds and the tests run against. */
export const testedKubernetesVersion = "v1.37.2";

/** `kubeburst <version> (tested with Kubernetes <version>, Node.js <version>)` */
export function versionText(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return `kubeburst ${pkg.version} (tested with Kubernetes ${testedKubernetesVersion}, Node.js ${process.version})`;
}
