import { describe, expect, it } from "vitest";
import { SPOOL_DIR } from "../../../lib/event-relay.ts";
import { parseDockerfile } from "./dockerfile.ts";

describe("worker/Dockerfile", () => {
  const stages = parseDockerfile();
  const final = stages.at(-1)!;
  const ops = (op: string) => final.instructions.filter((i) => i.op === op);

  it("is multi-stage: the toolchain stays in the build stage, the final stage only copies its output", () => {
    expect(stages.length).toBeGreaterThanOrEqual(2);
    const build = stages[0]!;
    expect(build.name).toBeDefined();
    expect(build.instructions.some((i) => i.op === "RUN" && /npm ci/.test(i.args))).toBe(true);
    expect(final.instructions.some((i) => i.op === "RUN" && /\bnpm\b|\bnpx\b/.test(i.args))).toBe(false);
    const copies = ops("COPY");
    expect(copies.length).toBeGreaterThan(0);
    for (const c of copies) expect(c.args).toContain(`--from=${build.name}`);
  });

  it("runs as a non-root user, set before the command", () => {
    const users = ops("USER");
    expect(users.length).toBeGreaterThan(0);
    const user = users.at(-1)!.args.split(":")[0];
    expect(["root", "0"]).not.toContain(user);
    const idx = (op: string) => final.instructions.findLastIndex((i) => i.op === op);
    expect(idx("USER")).toBeLessThan(idx("CMD"));
  });

  it('uses an exec-form CMD ["node", <the bundle the build stage writes>] so SIGTERM reaches node', () => {
    expect(ops("ENTRYPOINT")).toEqual([]);
    const cmd = ops("CMD");
    expect(cmd).toHaveLength(1);
    const argv = JSON.parse(cmd[0]!.args) as string[];
    expect(Array.isArray(argv)).toBe(true);
    expect(argv[0]).toBe("node");
    const bundle = /--outfile=(\S+)/.exec(stages[0]!.instructions.map((i) => i.args).join(" "))?.[1];
    expect(bundle).toBeDefined();
    expect(argv[1]).toBe(bundle);
  });

  it("declares every task-storage mount of the task definition as a VOLUME, owned by the runtime user", () => {
    const volumes = ops("VOLUME").flatMap((v) => JSON.parse(v.args) as string[]);
    expect(volumes).toEqual(expect.arrayContaining([SPOOL_DIR, "/tmp"]));
    const chown = ops("RUN").some((r) => r.args.includes(`chown node:node ${SPOOL_DIR}`));
    expect(chown).toBe(true);
  });

  it("the parser sees through shell form and comments (the checks above can fail)", () => {
    const bad = parseDockerfile(
      'FROM node:22\n# CMD ["node"]\nRUN npm ci && \\\n  npx esbuild x --outfile=a.mjs\nCMD node a.mjs\n',
    );
    expect(bad).toHaveLength(1);
    expect(bad[0]!.instructions.map((i) => i.op)).toEqual(["RUN", "CMD"]);
    expect(() => JSON.parse(bad[0]!.instructions[1]!.args)).toThrow();
  });
});
