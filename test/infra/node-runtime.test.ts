import { readFileSync } from "node:fs";
import { Template } from "aws-cdk-lib/assertions";
import { Runtime } from "aws-cdk-lib/aws-lambda";
import { beforeAll, describe, expect, it } from "vitest";
import { BROKER_BUNDLE_TARGET, runtimeMajor } from "../../lib/node-runtime.ts";
import { addTokenstream } from "../../lib/tokenstream-app.ts";
import { parseDockerfile } from "../worker/unit/dockerfile.ts";
import { testApp, testConfig } from "./helpers.ts";

const testMajor = Number(process.versions.node.split(".")[0]);
let lambdaRuntimes: string[];

beforeAll(() => {
  const stack = addTokenstream(testApp(), testConfig(), { nag: false });
  const functions = Template.fromStack(stack).findResources("AWS::Lambda::Function");
  lambdaRuntimes = Object.values(functions)
    .map((f) => (f.Properties as { Runtime?: string }).Runtime)
    .filter((r): r is string => r !== undefined);
}, 120_000);

describe("one Node.js line from tests to production", () => {
  it("the tests run on the Node.js major the project pins as its `node` dev dependency", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as {
      devDependencies: Record<string, string>;
    };
    const pinned = /^(\d+)\./.exec(pkg.devDependencies.node ?? "")?.[1];
    expect(pinned, "package.json pins node exactly").toBeDefined();
    expect(testMajor).toBe(Number(pinned));
  });

  it("every Lambda function in the stack runs that major, and the broker bundle targets it", () => {
    expect(lambdaRuntimes.length).toBeGreaterThan(0);
    for (const name of lambdaRuntimes) {
      expect(runtimeMajor(new Runtime(name)), name).toBe(testMajor);
    }
    expect(BROKER_BUNDLE_TARGET).toBe(`node${testMajor}`);
  });

  it("every stage of worker/Dockerfile starts from that major's image and bundles for it", () => {
    const stages = parseDockerfile();
    expect(stages.length).toBeGreaterThan(0);
    for (const stage of stages) expect(stage.from).toMatch(new RegExp(`/node:${testMajor}-[a-z-]+$`));
    const esbuild = stages.flatMap((s) => s.instructions).find((i) => /\besbuild\b/.test(i.args));
    expect(esbuild?.args).toContain(`--target=node${testMajor} `);
  });

  it("runtimeMajor reads only Node.js runtimes", () => {
    expect(runtimeMajor(Runtime.NODEJS_22_X)).toBe(22);
    expect(() => runtimeMajor(Runtime.PYTHON_3_13)).toThrow(/not a Node.js Lambda runtime/);
  });
});
