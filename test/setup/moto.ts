import { type ChildProcess, spawn } from "node:child_process";
import { createServer } from "node:net";
import type { TestProject } from "vitest/node";

declare module "vitest" {
  export interface ProvidedContext {
    /** http://127.0.0.1:<port> of the moto server shared by the whole run (Secrets Manager, DynamoDB). */
    motoEndpoint: string;
  }
}

const INSTALL_HINT = 'moto server is required for these tests: install it with  pip install "moto[server]"';

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() =>
        typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port")),
      );
    });
  });
}

async function answers(url: string): Promise<boolean> {
  try {
    const response = await fetch(`${url}/moto-api/`, { signal: AbortSignal.timeout(1000) });
    await response.arrayBuffer();
    return response.status < 500;
  } catch {
    return false;
  }
}

/**
 * vitest globalSetup: starts one `python3 -m moto.server` on 127.0.0.1 for the whole run and provides
 * its URL as `inject("motoEndpoint")`. Set MOTO_ENDPOINT to reuse a server that is already running.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const existing = process.env.MOTO_ENDPOINT;
  if (existing) {
    if (!(await answers(existing))) throw new Error(`MOTO_ENDPOINT ${existing} does not answer`);
    project.provide("motoEndpoint", existing);
    return async () => {};
  }
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const child: ChildProcess = spawn("python3", ["-m", "moto.server", "-H", "127.0.0.1", "-p", String(port)], {
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    if (stderr.length < 4000) stderr += chunk.toString("utf8");
  });
  const exited = new Promise<string>((resolve) => {
    child.once("error", (error) => resolve(`could not run python3 (${error.message})`));
    child.once("exit", (code) => resolve(`moto server exited with code ${code}`));
  });
  let failure: string | undefined;
  exited.then((reason) => {
    failure = reason;
  });
  const deadline = Date.now() + 30_000;
  while (!(await answers(url))) {
    if (failure !== undefined) {
      const missing = /No module named|could not run python3/.test(`${failure}\n${stderr}`);
      throw new Error(
        `${missing ? INSTALL_HINT : "moto server failed to start"}\n${failure}\n${stderr.trim()}`,
      );
    }
    if (Date.now() > deadline) {
      child.kill();
      throw new Error(`moto server did not answer on ${url} within 30 s\n${stderr.trim()}\n${INSTALL_HINT}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  project.provide("motoEndpoint", url);
  return async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
    }
  };
}
