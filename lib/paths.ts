import { fileURLToPath } from "node:url";

/** Repository root: the esbuild project root for the broker and the Docker build context for the worker. */
export const REPO_ROOT = fileURLToPath(new URL("../", import.meta.url));
