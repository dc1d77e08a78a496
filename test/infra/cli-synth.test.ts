import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { delimiter, join } from "node:path";
import { fileURLToPath } from "node:url";
import { beforeAll, describe, expect, it } from "vitest";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));

/**
 * The environment of a clean clone on a machine with no AWS credentials and no network: credential
 * variables removed, shared config files pointed at nothing, instance metadata disabled, and every HTTP(S)
 * request sent to a closed local port, so anything that tried to reach the network would fail the synth.
 */
function offlineEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(AWS_|CDK_)/.test(key)) env[key] = value;
  }
  const nothing = join(tmpdir(), "tokenstream-no-such-aws-file");
  return {
    ...env,
    // A `docker` that records being called and fails, first on PATH: synth must never run Docker.
    PATH: `${dockerTrap.dir}${delimiter}${env.PATH ?? ""}`,
    AWS_CONFIG_FILE: nothing,
    AWS_SHARED_CREDENTIALS_FILE: nothing,
    AWS_EC2_METADATA_DISABLED: "true",
    CDK_DISABLE_VERSION_CHECK: "1",
    HTTPS_PROXY: "http://127.0.0.1:9",
    HTTP_PROXY: "http://127.0.0.1:9",
    NO_PROXY: "",
    ...extra,
  };
}

const dockerTrap = (() => {
  const dir = mkdtempSync(join(tmpdir(), "tokenstream-no-docker-"));
  const marker = join(dir, "docker-was-called");
  writeFileSync(join(dir, "docker"), `#!/bin/sh\necho "$@" >> "${marker}"\nexit 1\n`);
  chmodSync(join(dir, "docker"), 0o755);
  return { dir, marker };
})();

describe("npx cdk synth on a clean clone (no credentials, no Docker, no network)", () => {
  let outdir: string;
  let run: ReturnType<typeof spawnSync>;

  beforeAll(() => {
    outdir = mkdtempSync(join(tmpdir(), "tokenstream-cli-synth-"));
    run = spawnSync("npx", ["cdk", "synth", "-q", "-o", outdir], {
      cwd: repoRoot,
      env: offlineEnv(),
      encoding: "utf8",
      timeout: 150_000,
    });
  }, 160_000);

  it("exits 0 with the example configuration and cdk-nag clean", () => {
    if (run.status !== 0) console.error(run.stdout, run.stderr);
    expect(run.status).toBe(0);
    expect(existsSync(join(outdir, "Tokenstream.template.json"))).toBe(true);
    expect(existsSync(dockerTrap.marker), "synth ran docker").toBe(false);
  });

  it("bundles both broker functions with the local esbuild and only declares the worker image", () => {
    const assets = JSON.parse(readFileSync(join(outdir, "Tokenstream.assets.json"), "utf8")) as {
      files: Record<string, { source: { path: string; packaging?: string } }>;
      dockerImages: Record<string, { source: { directory: string; dockerFile?: string; platform?: string } }>;
    };
    const zips = Object.values(assets.files).filter((f) => f.source.packaging === "zip");
    const contents = zips.map((z) => readdirSync(join(outdir, z.source.path)));
    // The Function URL and scheduled-refresh functions, plus CDK's prebuilt provider of the custom resource
    // that empties the VPC's default security group (@aws-cdk/aws-ec2:restrictDefaultSecurityGroup).
    expect(contents.filter((c) => c.includes("index.mjs"))).toHaveLength(2);
    expect(contents.filter((c) => !c.includes("index.mjs"))).toEqual([
      expect.arrayContaining(["__entrypoint__.js", "index.js"]),
    ]);
    const images = Object.values(assets.dockerImages);
    expect(images).toHaveLength(1);
    expect(images[0]!.source).toMatchObject({ dockerFile: "worker/Dockerfile", platform: "linux/arm64" });
    const context = readdirSync(join(outdir, images[0]!.source.directory)).sort();
    expect(context).toEqual(
      expect.arrayContaining(["package-lock.json", "package.json", "shared", "worker"]),
    );
    expect(context).not.toContain("node_modules");
    expect(context).not.toContain("test");
    // What worker/Dockerfile copies must be there, and nothing the image does not need.
    const staged = join(outdir, images[0]!.source.directory);
    for (const file of ["tsconfig.json", "worker/Dockerfile", "worker/main.ts", "shared/contracts.ts"]) {
      expect(existsSync(join(staged, file)), file).toBe(true);
    }
    for (const dir of ["functions", "lib", "sim", "bin", "docs", ".git"]) expect(context).not.toContain(dir);
  });

  it("fails with every configuration problem listed when the configuration is wrong", () => {
    const bad = spawnSync("npx", ["tsx", "bin/tokenstream.ts"], {
      cwd: repoRoot,
      env: offlineEnv({
        CDK_OUTDIR: mkdtempSync(join(tmpdir(), "tokenstream-cli-bad-")),
        CDK_CONTEXT_JSON: JSON.stringify({ tokenstream: { topics: [], redundancy: 9 } }),
      }),
      encoding: "utf8",
      timeout: 60_000,
    });
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/profiles: at least one profile is required/);
    expect(bad.stderr).toMatch(/topics: at least one topic is required/);
    expect(bad.stderr).toMatch(/redundancy: must be an integer from 1 to 4/);
  });
});
