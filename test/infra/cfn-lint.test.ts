import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { addTokenstream } from "../../lib/tokenstream-app.ts";
import { testApp, testConfig } from "./helpers.ts";

/**
 * cfn-lint warnings that were reviewed and accepted, by rule id. Anything else (and every error) fails.
 */
const REVIEWED_WARNINGS: Record<string, string> = {
  W3005:
    "CDK adds DependsOn on the Lambda role next to the GetAtt of the same role (so the role's policy exists before the function); redundant, harmless.",
};

interface LintMatch {
  Level: string;
  Message: string;
  Rule: { Id: string };
  Location: { Path?: unknown[] };
}

const version = spawnSync("cfn-lint", ["--version"], { encoding: "utf8" });
const available = version.status === 0;
if (!available) {
  console.warn(
    "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n" +
      "!! cfn-lint is not installed: the CloudFormation template lint is SKIPPED.  !!\n" +
      "!! Install it with `pip install cfn-lint` (Python 3) and run the tests again. !!\n" +
      "!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n",
  );
}

describe.skipIf(!available)(`cfn-lint (${version.stdout?.trim() || "absent"})`, () => {
  let matches: LintMatch[] = [];
  let status: number | null = null;

  beforeAll(() => {
    const app = testApp();
    const stack = addTokenstream(app, testConfig());
    const assembly = app.synth();
    const templateFile = join(assembly.directory, stack.templateFile);
    const run = spawnSync("cfn-lint", ["--format", "json", "--", templateFile], {
      encoding: "utf8",
      timeout: 120_000,
    });
    status = run.status;
    if (run.error) throw run.error;
    matches = run.stdout.trim() ? (JSON.parse(run.stdout) as LintMatch[]) : [];
  }, 180_000);

  const describeMatch = (m: LintMatch) =>
    `${m.Level} ${m.Rule.Id} at ${JSON.stringify(m.Location.Path)}: ${m.Message}`;

  it("reports no error on the synthesized template", () => {
    const errors = matches.filter((m) => m.Level === "Error");
    expect(errors.map(describeMatch)).toEqual([]);
    // exit code is a bitmask: 2 = error, 4 = warning, 8 = informational
    expect((status ?? 0) & 2).toBe(0);
  });

  it("reports only reviewed warnings", () => {
    const unreviewed = matches.filter((m) => m.Level === "Warning" && !(m.Rule.Id in REVIEWED_WARNINGS));
    expect(unreviewed.map(describeMatch)).toEqual([]);
  });
});

if (!available) {
  describe("cfn-lint", () => {
    it.skip("cfn-lint is not installed (pip install cfn-lint)", () => {});
  });
}
