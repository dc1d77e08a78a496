/**
 * Builds the worker the way worker/Dockerfile does (esbuild: one ESM bundle of worker/main.ts for Node, with
 * a `require` shim for the CommonJS dependencies), so benchmarks measure the process that ships rather than
 * the worker running under the tsx loader. Targets the Node running the benchmark.
 */
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";

/** Bundles worker/main.ts into a fresh temporary directory and returns the bundle's path. */
export function bundleWorker(): Promise<{ file: string; dir: string }> {
  return bundleForNode(fileURLToPath(new URL("../../worker/main.ts", import.meta.url)));
}

/** Bundles `entry` (a .ts path) the same way into a fresh temporary directory. */
export async function bundleForNode(entry: string): Promise<{ file: string; dir: string }> {
  const dir = mkdtempSync(join(tmpdir(), "tokenstream-bundle-"));
  const file = join(dir, "main.mjs");
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: "node",
    target: `node${process.versions.node.split(".")[0]}`,
    format: "esm",
    outfile: file,
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: "error",
  });
  return { file, dir };
}
