/**
 * The sink's overload run as a process of its own, bundled and run with plain node like the worker (so its
 * RSS is the sink's, not the benchmark harness's or the TypeScript loader's). SINK_OVERLOAD_SPEC is an
 * OverloadSpec; the OverloadResult is printed as JSON on stdout.
 */
import { type OverloadSpec, runOverload } from "./sink-load.ts";

const spec = JSON.parse(process.env.SINK_OVERLOAD_SPEC ?? "{}") as OverloadSpec;
runOverload(spec).then(
  (result) => {
    process.stdout.write(JSON.stringify(result));
    process.exit(0);
  },
  (error: unknown) => {
    process.stderr.write(`sink overload failed: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
