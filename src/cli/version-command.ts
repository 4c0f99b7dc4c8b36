import { buildInfo } from "../observability/build-info.ts";

/** The Kubernetes version the local cloud builds and the tests run against. */
export const testedKubernetesVersion = "v1.37.2";

/** `kubeburst <version> (tested with Kubernetes <version>, Node.js <version>)` */
export function versionText(): string {
  const { version, nodejs } = buildInfo();
  return `kubeburst ${version} (tested with Kubernetes ${testedKubernetesVersion}, Node.js ${nodejs})`;
}
