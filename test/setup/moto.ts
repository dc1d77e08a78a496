import type { TestProject } from "vitest/node";
import { motoAnswers, startMotoServer } from "../../bench/support/moto-server.ts";

declare module "vitest" {
  export interface ProvidedContext {
    /** http://127.0.0.1:<port> of the moto server shared by the whole run (Secrets Manager, DynamoDB). */
    motoEndpoint: string;
  }
}

/**
 * vitest globalSetup: starts one `python3 -m moto.server` on 127.0.0.1 for the whole run and provides
 * its URL as `inject("motoEndpoint")`. Set MOTO_ENDPOINT to reuse a server that is already running.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const existing = process.env.MOTO_ENDPOINT;
  if (existing) {
    if (!(await motoAnswers(existing))) throw new Error(`MOTO_ENDPOINT ${existing} does not answer`);
    project.provide("motoEndpoint", existing);
    return async () => {};
  }
  const moto = await startMotoServer();
  project.provide("motoEndpoint", moto.endpoint);
  return moto.stop;
}
