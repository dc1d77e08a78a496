/**
 * The worker image under test (built by `npm run test:image`) and containers of it run the way the task
 * definition runs them: an init process, no Linux capabilities, a read-only root filesystem, and a fresh empty
 * volume at each of the image's VOLUMEs that takes the owner and mode of the image's directory there, as
 * Fargate does for task storage mounted at a VOLUME path; here the host network too, so the container reaches
 * the simulator and fauxqs on 127.0.0.1.
 *
 * Those volumes are podman's anonymous image volumes (`--image-volume=bind`), not `--tmpfs`: podman 4.3 with
 * runc 1.1 mounts a tmpfs root-owned whatever the image's directory is, so a tmpfs spool would be unwritable
 * for uid 1000 (and a tmpfs forced to the container's user would hide a missing chown in the Dockerfile).
 */
import { type Podman, podman } from "../../tools/image/podman.ts";

export interface ImageUnderTest {
  image: string;
  podman: Podman;
}

export function imageUnderTest(): ImageUnderTest {
  const image = process.env.TOKENSTREAM_WORKER_IMAGE;
  const conf = process.env.CONTAINERS_CONF;
  if (!image || !conf) {
    throw new Error(
      "TOKENSTREAM_WORKER_IMAGE / CONTAINERS_CONF are unset: run these tests with `npm run test:image`",
    );
  }
  return { image, podman: podman(conf) };
}

export interface ImageConfig {
  User: string;
  Cmd: string[];
  Entrypoint: string[] | null;
  WorkingDir: string;
  Env: string[];
  Volumes: Record<string, object> | null;
}

export async function imageConfig({ image, podman: p }: ImageUnderTest): Promise<ImageConfig> {
  return JSON.parse(await p.ok(["image", "inspect", "--format", "{{json .Config}}", image])) as ImageConfig;
}

/** `podman run` options of a production-like container of `config`'s image. */
export function taskLikeOptions(config: ImageConfig): string[] {
  if (Object.keys(config.Volumes ?? {}).length === 0) throw new Error("the image declares no VOLUME");
  return [
    "--init",
    "--cap-drop=ALL",
    "--network=host",
    "--read-only",
    "--read-only-tmpfs=false",
    "--image-volume=bind",
  ];
}

export function envOptions(env: Record<string, string>): string[] {
  return Object.entries(env).flatMap(([k, v]) => ["--env", `${k}=${v}`]);
}

/** The image's environment as a record (e.g. SPOOL_DIR, HEALTH_PORT set by the Dockerfile). */
export function imageEnv(config: ImageConfig): Record<string, string> {
  return Object.fromEntries(
    config.Env.map((e) => {
      const i = e.indexOf("=");
      return [e.slice(0, i), e.slice(i + 1)];
    }),
  );
}
