/**
 * Makes this machine able to build and run the worker image: Debian's podman with runc, netavark and
 * iptables, debootstrap for the stand-in base image and catatonit for `--init` (the task definition runs an
 * init process). Installs only what is missing, with apt-get, as root; writes the containers.conf podman is
 * then run with (tools/image/containers-conf.ts) into the cache directory.
 */
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { containersConf, parseHardLimits } from "./containers-conf.ts";
import { exec } from "./exec.ts";

export const PACKAGES = ["podman", "runc", "netavark", "iptables", "debootstrap", "catatonit"];

/** The environment cannot build or run containers; CI reports it loudly and goes on. */
export class Unavailable extends Error {
  override name = "Unavailable";
}

async function missingPackages(): Promise<string[]> {
  const missing: string[] = [];
  for (const pkg of PACKAGES) {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax, not a template.
    const r = await exec("dpkg-query", ["-W", "-f=${Status}", pkg]);
    if (r.code === null)
      throw new Unavailable("dpkg-query not found: this needs a Debian-based machine (apt)");
    if (!r.stdout.includes("install ok installed")) missing.push(pkg);
  }
  return missing;
}

/** Installs the missing packages; returns the names it installed. */
export async function ensurePackages(log: string): Promise<string[]> {
  if (process.platform !== "linux") throw new Unavailable(`podman on ${process.platform} is not set up here`);
  if (process.getuid?.() !== 0) {
    throw new Unavailable(
      "not root: the stand-in base image (debootstrap, chroot) and rootful podman need root",
    );
  }
  const missing = await missingPackages();
  if (missing.length === 0) return [];
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  const update = await exec("apt-get", ["update"], { env, log });
  if (update.code !== 0) throw new Unavailable(`apt-get update failed (see ${log})`);
  const install = await exec("apt-get", ["install", "-y", "--no-install-recommends", ...missing], {
    env,
    log,
  });
  if (install.code !== 0) throw new Unavailable(`apt-get install ${missing.join(" ")} failed (see ${log})`);
  return missing;
}

/** Writes containers.conf for this machine's limits into `dir`; returns its path. */
export function writeContainersConf(dir: string): string {
  const path = join(dir, "containers.conf");
  writeFileSync(path, containersConf(parseHardLimits(readFileSync("/proc/self/limits", "utf8"))));
  return path;
}
