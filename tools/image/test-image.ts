/**
 * `npm run test:image`: builds worker/Dockerfile into an image with podman and tests the running container
 * (test/image/, its own vitest config). Steps: install podman & co. if missing (root, apt-get), write
 * containers.conf, build or reuse the stand-in base image, check podman can run a container, build the worker
 * image, run the container tests, print the figures.
 *
 * Where the machine cannot build or run containers (not Debian, not root, apt-get or debootstrap failing,
 * podman unable to start a container) it says so loudly and exits 0, so the rest of CI goes on; with
 * TOKENSTREAM_IMAGE_TEST=required it exits 1 instead. A failing image build or container test always fails.
 *
 * Flags: --cold removes the cache directory and the images first (to measure a build from nothing).
 */
import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseDockerfile } from "../../test/worker/unit/dockerfile.ts";
import { ensureStandIn, resolveRecipe } from "./base-image.ts";
import { podman } from "./podman.ts";
import { ensurePackages, Unavailable, writeContainersConf } from "./provision.ts";
import { buildWorkerImage, imageSize, WORKER_IMAGE } from "./worker-image.ts";

const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
const CACHE = process.env.TOKENSTREAM_IMAGE_CACHE ?? join(REPO, ".cache/image");

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

async function timed<T>(work: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const at = performance.now();
  const value = await work();
  return { value, ms: performance.now() - at };
}

function pinnedNodeVersion(): string {
  const file = join(REPO, "node_modules/node/package.json");
  try {
    return (JSON.parse(readFileSync(file, "utf8")) as { version: string }).version;
  } catch {
    throw new Error(
      `cannot read ${file}: run npm ci first (the project pins Node.js as the \`node\` dev dependency)`,
    );
  }
}

function baseImageRef(): string {
  const refs = [...new Set(parseDockerfile().map((s) => s.from))];
  if (refs.length !== 1)
    throw new Error(`worker/Dockerfile uses ${refs.length} base images (${refs.join(", ")}); expected one`);
  return refs[0]!;
}

function runVitest(env: NodeJS.ProcessEnv): Promise<number | null> {
  const vitest = join(REPO, "node_modules/vitest/vitest.mjs");
  const child = spawn(process.execPath, [vitest, "run", "--config", "vitest.image.config.ts"], {
    cwd: REPO,
    stdio: "inherit",
    env,
  });
  return new Promise((resolve) => child.on("close", (code) => resolve(code)));
}

function loud(lines: string[]): void {
  const bar = "#".repeat(100);
  console.error([bar, ...lines.map((l) => `# ${l}`), bar].join("\n"));
}

async function main(): Promise<number> {
  const cold = process.argv.includes("--cold");
  const required = process.env.TOKENSTREAM_IMAGE_TEST === "required";
  if (cold) rmSync(CACHE, { recursive: true, force: true });
  mkdirSync(CACHE, { recursive: true });
  const log = join(CACHE, "build.log");
  writeFileSync(log, "");
  const total = performance.now();
  const from = baseImageRef();
  const nodeVersion = pinnedNodeVersion();
  try {
    const installed = await ensurePackages(log);
    if (installed.length > 0) console.log(`[image] installed ${installed.join(" ")}`);
    const p = podman(writeContainersConf(CACHE));
    if (cold) {
      await p.run(["rmi", "--force", WORKER_IMAGE, from]);
      await p.run(["image", "prune", "--force"]);
    }
    const recipe = await resolveRecipe(CACHE, from, nodeVersion);
    const base = await timed(() => ensureStandIn(p, CACHE, recipe, log));
    console.log(
      `[image] stand-in ${from} (Debian ${recipe.suite} minbase, Node.js ${recipe.nodeVersion}, npm ${recipe.npmVersion}): ${base.value.built ? `built in ${seconds(base.ms)}` : "cached"}`,
    );
    const probe = await p.run(["run", "--rm", "--network=host", from, "node", "--version"]);
    if (probe.code !== 0 || probe.stdout.trim() !== `v${nodeVersion}`) {
      throw new Unavailable(
        `podman cannot run a container here:\n${probe.stderr.trim() || probe.stdout.trim()}`,
      );
    }
    const build = await timed(() => buildWorkerImage(p, REPO, log));
    const size = await imageSize(p, WORKER_IMAGE);
    console.log(`[image] ${WORKER_IMAGE} built in ${seconds(build.ms)}; ${(size / 1e6).toFixed(1)} MB`);
    const test = await timed(() =>
      runVitest({ ...process.env, CONTAINERS_CONF: p.conf, TOKENSTREAM_WORKER_IMAGE: WORKER_IMAGE }),
    );
    console.log(
      `[image] container tests ${test.value === 0 ? "passed" : "FAILED"} in ${seconds(test.ms)}; total ${seconds(performance.now() - total)}`,
    );
    return test.value === 0 ? 0 : 1;
  } catch (e) {
    if (!(e instanceof Unavailable)) throw e;
    loud([
      "IMAGE TEST NOT RUN: this machine cannot build or run the worker image with podman.",
      ...e.message.split("\n"),
      required ? "TOKENSTREAM_IMAGE_TEST=required: failing." : "worker/Dockerfile was NOT built or tested.",
    ]);
    return required ? 1 : 0;
  }
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`[image] ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
