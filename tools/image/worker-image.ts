/**
 * Builds worker/Dockerfile with the repository root as context, the way CDK's asset build does, except:
 * `--pull=never` (the base is the local stand-in), the host network for the build steps, and the CA bundle
 * npm trusts here passed as the build secret `npm-ca` (the registry is reached through a TLS-inspecting
 * proxy). A secret is mounted only while its RUN step runs and never enters a layer.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { exec } from "./exec.ts";
import type { Podman } from "./podman.ts";

export const WORKER_IMAGE = "localhost/tokenstream-worker:image-test";

/** The CA file npm uses on this machine (npm's cafile, else NODE_EXTRA_CA_CERTS), if any. */
export async function npmCaFile(): Promise<string | undefined> {
  const r = await exec("npm", ["config", "get", "cafile"]);
  const candidates = [r.stdout.trim(), process.env.NODE_EXTRA_CA_CERTS ?? ""];
  return candidates.find((c) => c !== "" && c !== "null" && c !== "undefined" && existsSync(c));
}

export async function buildWorkerImage(p: Podman, repo: string, log: string): Promise<void> {
  const ca = await npmCaFile();
  await p.ok(
    [
      "build",
      "--pull=never",
      "--network=host",
      ...(ca ? ["--secret", `id=npm-ca,src=${ca}`] : []),
      "--file",
      join(repo, "worker/Dockerfile"),
      "--tag",
      WORKER_IMAGE,
      repo,
    ],
    { log },
  );
}

/** Size of an image in bytes, as podman reports it (all layers, uncompressed). */
export async function imageSize(p: Podman, image: string): Promise<number> {
  return Number((await p.ok(["image", "inspect", "--format", "{{.Size}}", image])).trim());
}
