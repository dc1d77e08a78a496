/**
 * podman as the image tooling runs it: rootful, with the containers.conf that tools/image writes
 * (CONTAINERS_CONF), so nothing under /etc/containers is changed on the machine.
 */
import { type ExecOptions, type ExecResult, exec, execOk } from "./exec.ts";

export interface Podman {
  /** Path of the containers.conf every call uses. */
  conf: string;
  run(args: string[], options?: ExecOptions): Promise<ExecResult>;
  ok(args: string[], options?: ExecOptions): Promise<string>;
}

export function podman(conf: string): Podman {
  const env = (options: ExecOptions) => ({ ...(options.env ?? process.env), CONTAINERS_CONF: conf });
  return {
    conf,
    run: (args, options = {}) => exec("podman", args, { ...options, env: env(options) }),
    ok: (args, options = {}) => execOk("podman", args, { ...options, env: env(options) }),
  };
}
