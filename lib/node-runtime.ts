import { Runtime } from "aws-cdk-lib/aws-lambda";

/**
 * The one Node.js line the project runs on: the broker Lambda's runtime, the broker bundle's esbuild target and,
 * kept equal by test/infra/node-runtime.test.ts, the worker image's base tag and the `node` dev dependency that
 * `npm test`, `npm start` and `npm run bench` execute on.
 */
export const BROKER_RUNTIME = Runtime.NODEJS_24_X;

/** `nodejs24.x` -> 24. */
export function runtimeMajor(runtime: Runtime): number {
  const major = /^nodejs(\d+)\.x$/.exec(runtime.name)?.[1];
  if (!major) throw new Error(`not a Node.js Lambda runtime: ${runtime.name}`);
  return Number(major);
}

/** esbuild `target` for the broker bundle: the runtime's own major. */
export const BROKER_BUNDLE_TARGET = `node${runtimeMajor(BROKER_RUNTIME)}`;
