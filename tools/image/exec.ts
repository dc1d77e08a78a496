/** Runs a command to completion, capturing its output (and optionally appending it to a log file). */
import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";

export interface ExecResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** Also append stdout and stderr to this file as they arrive. */
  log?: string;
}

export function exec(command: string, args: string[], options: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    const child = spawn(command, args, {
      stdio: ["ignore", "pipe", "pipe"],
      env: options.env ?? process.env,
      cwd: options.cwd,
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const keep = (into: Buffer[]) => (d: Buffer) => {
      into.push(d);
      if (options.log) appendFileSync(options.log, d);
    };
    child.stdout.on("data", keep(out));
    child.stderr.on("data", keep(err));
    child.on("error", (e) => resolve({ code: null, stdout: "", stderr: String(e) }));
    child.on("close", (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8"),
      }),
    );
  });
}

/** Like exec, but throws (with the command and the end of its output) unless it exits 0. */
export async function execOk(command: string, args: string[], options: ExecOptions = {}): Promise<string> {
  const r = await exec(command, args, options);
  if (r.code !== 0) throw new ExecError(command, args, r);
  return r.stdout;
}

export class ExecError extends Error {
  constructor(
    readonly command: string,
    readonly args: string[],
    readonly result: ExecResult,
  ) {
    const tail = `${result.stdout}\n${result.stderr}`.trim().split("\n").slice(-30).join("\n");
    super(`${command} ${args.join(" ")} exited ${result.code}:\n${tail}`);
    this.name = "ExecError";
  }
}
