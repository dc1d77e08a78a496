import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { MOTO_INSTALL_HINT, startMotoServer } from "../../bench/support/moto-server.ts";

describe("moto launcher (vitest global setup and benchmarks)", () => {
  const dir = mkdtempSync(join(tmpdir(), "moto-launcher-"));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("without python3 it fails at once and says how to install moto", async () => {
    const error = await startMotoServer({ python: join(dir, "no-such-python") }).catch((e: Error) => e);
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).toContain(MOTO_INSTALL_HINT);
    expect((error as Error).message).toContain("could not run");
  });

  it("with a python3 that lacks moto it fails at once and says how to install moto", async () => {
    // What `python3 -m moto.server` prints when moto is not installed.
    const python = join(dir, "python-without-moto");
    writeFileSync(python, "#!/bin/sh\necho \"ModuleNotFoundError: No module named 'moto'\" >&2\nexit 1\n");
    chmodSync(python, 0o755);
    const started = Date.now();
    const error = await startMotoServer({ python, startTimeoutMs: 20_000 }).catch((e: Error) => e);
    expect((error as Error).message).toContain(MOTO_INSTALL_HINT);
    expect((error as Error).message).toContain("No module named 'moto'");
    expect(Date.now() - started).toBeLessThan(15_000);
  });
});
