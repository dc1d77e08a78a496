import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type App, Stack } from "aws-cdk-lib";
import { Queue } from "aws-cdk-lib/aws-sqs";
import { beforeAll, describe, expect, it } from "vitest";
import { addTokenstream } from "../../lib/tokenstream-app.ts";
import { type Acknowledgement, collectAcknowledgements, testApp, testConfig } from "./helpers.ts";

interface Finding {
  rule: string;
  path: string;
}

/**
 * One synth of the real app (cdk-nag registered by addTokenstream) plus a canary stack holding a deliberately
 * non-compliant queue: the synth must fail, and only because of the canary.
 */
let findings: Finding[] = [];
let synthError: Error | undefined;
let acknowledgements: Acknowledgement[] = [];

beforeAll(() => {
  const app = testApp();
  addTokenstream(app, testConfig());
  const canary = new Stack(app, "NagCanary");
  new Queue(canary, "PlainQueue");
  try {
    app.synth();
  } catch (error) {
    synthError = error as Error;
  }
  findings = readFindings(app);
  acknowledgements = collectAcknowledgements(app);
}, 120_000);

function readFindings(app: App): Finding[] {
  const report = JSON.parse(readFileSync(join(app.outdir, "validation-report.json"), "utf8")) as {
    pluginReports: Array<{
      violations?: Array<{ ruleName: string; violatingConstructs?: Array<{ constructPath?: string }> }>;
    }>;
  };
  return report.pluginReports.flatMap((r) =>
    (r.violations ?? []).flatMap((v) =>
      (v.violatingConstructs ?? [{}]).map((c) => ({ rule: v.ruleName, path: c.constructPath ?? "?" })),
    ),
  );
}

describe("cdk-nag AwsSolutions", () => {
  it("runs on every synth of the app and fails it on an unacknowledged finding", () => {
    expect(synthError?.message).toMatch(/AwsSolutions/);
    const canary = findings.filter((f) => f.path.startsWith("NagCanary/"));
    expect(canary.map((f) => f.rule)).toEqual(expect.arrayContaining([expect.stringContaining("SQS")]));
  });

  it("has no unacknowledged finding on the tokenstream stack", () => {
    const own = findings.filter((f) => !f.path.startsWith("NagCanary/"));
    if (own.length > 0) {
      console.error(
        `Unacknowledged cdk-nag findings:\n${own.map((f) => `  ${f.rule} at ${f.path}`).join("\n")}`,
      );
    }
    expect(own).toEqual([]);
  });

  it("acknowledges narrowly: one finding on one CloudFormation resource, with the control and the reason", () => {
    expect(acknowledgements.length).toBeGreaterThan(0);
    console.info(
      `cdk-nag acknowledgements (${acknowledgements.length}):\n${acknowledgements
        .map((a) => `  ${a.id} @ ${a.path}\n    ${a.reason}`)
        .join("\n")}`,
    );
    for (const a of acknowledgements) {
      expect(a.id).toMatch(/^AwsSolutions-[A-Z]+\d+(\[.+\])?$/);
      expect(a.path.endsWith("/Resource"), `${a.id} on ${a.path} targets a CloudFormation resource`).toBe(
        true,
      );
      const control = a.id.replace(/^AwsSolutions-/, "").replace(/\[.*$/, "");
      expect(a.reason.startsWith(`${control} (`), `${a.id} reason names its control`).toBe(true);
      expect(a.reason.length).toBeGreaterThan(80);
    }
    const perResource = new Map<string, number>();
    for (const a of acknowledgements)
      perResource.set(`${a.path}|${a.id}`, (perResource.get(`${a.path}|${a.id}`) ?? 0) + 1);
    expect([...perResource.values()].every((n) => n === 1)).toBe(true);
  });
});
