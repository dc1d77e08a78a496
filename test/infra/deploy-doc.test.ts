import { readFileSync, writeFileSync } from "node:fs";
import { App, CfnOutput } from "aws-cdk-lib";
import { Alarm } from "aws-cdk-lib/aws-cloudwatch";
import { describe, expect, it } from "vitest";
import { CONFIG_KEYS, PROFILE_CONFIG_KEYS, parseConfig, SHARD_CONFIG_KEYS } from "../../lib/config.ts";
import { addTokenstream } from "../../lib/tokenstream-app.ts";
import { type Acknowledgement, cdkJsonFlags, collectAcknowledgements, testConfig } from "./helpers.ts";

/**
 * docs/deploy.md must not drift from lib/: its cdk-nag acknowledgement table is generated from the
 * acknowledgements the stack makes with the example configuration in cdk.json (run with
 * TOKENSTREAM_WRITE_DOCS=1 to rewrite it), and every config key, output and alarm must be documented.
 */

const DOC = new URL("../../docs/deploy.md", import.meta.url);
const BEGIN =
  "<!-- BEGIN cdk-nag acknowledgements (generated from lib/ by test/infra/deploy-doc.test.ts; do not edit) -->";
const END = "<!-- END cdk-nag acknowledgements -->";

function exampleStack() {
  const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8"));
  const app = new App({ context: { ...cdkJsonFlags(), "aws:cdk:bundling-stacks": [] } });
  return addTokenstream(app, parseConfig(cdkJson.context.tokenstream), { nag: false });
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|");
}

function renderAcknowledgements(acks: readonly Acknowledgement[]): string {
  const rows = acks.map((a) => {
    const resource = a.path.split("/").slice(1, -1).join("/");
    return `| \`${cell(a.id)}\` | \`${resource}\` (\`${a.logicalId}\`) | ${cell(a.reason)} |`;
  });
  return [
    BEGIN,
    "| finding | resource (construct path, logical id) | reason |",
    "| --- | --- | --- |",
    ...rows,
    END,
  ].join("\n");
}

function docBlock(doc: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  expect(start, "docs/deploy.md has the generated acknowledgement block").toBeGreaterThanOrEqual(0);
  expect(end).toBeGreaterThan(start);
  return doc.slice(start, end + END.length);
}

describe("docs/deploy.md", () => {
  const stack = exampleStack();
  const acknowledgements = collectAcknowledgements(stack);

  it("lists exactly the cdk-nag acknowledgements the stack makes", () => {
    const expected = renderAcknowledgements(acknowledgements);
    let doc = readFileSync(DOC, "utf8");
    if (process.env.TOKENSTREAM_WRITE_DOCS === "1") {
      doc = doc.replace(docBlock(doc), expected);
      writeFileSync(DOC, doc);
    }
    expect(acknowledgements.length).toBeGreaterThan(5);
    expect(docBlock(doc)).toBe(expected);
  });

  it("names every acknowledged rule that other configurations add (per profile, secret by ARN)", () => {
    const doc = readFileSync(DOC, "utf8");
    const rule = (id: string) => id.replace(/\[.*$/, "");
    const other = collectAcknowledgements(addTokenstream(new App(), testConfig(), { nag: false }));
    for (const id of new Set(other.map((a) => rule(a.id)))) expect(doc).toContain(`\`${id}`);
  });

  it("documents every configuration key, output and alarm", () => {
    const doc = readFileSync(DOC, "utf8");
    for (const key of [...CONFIG_KEYS, ...PROFILE_CONFIG_KEYS, ...SHARD_CONFIG_KEYS]) {
      expect(doc, `config key ${key}`).toMatch(new RegExp(`^\\| \`${key}\` \\|`, "m"));
    }
    const documentedKeys = [
      ...doc.matchAll(/^\| `(\w+)` \| (?:string|integer|number|string\[\]|object\[\]|"[^|]*)/gm),
    ].map((m) => m[1]!);
    for (const key of documentedKeys) {
      expect(
        [...CONFIG_KEYS, ...PROFILE_CONFIG_KEYS, ...SHARD_CONFIG_KEYS],
        `documented key ${key} exists`,
      ).toContain(key);
    }
    const outputs = stack.node.findAll().filter((c) => c instanceof CfnOutput);
    expect(outputs.length).toBeGreaterThan(5);
    for (const output of outputs) expect(doc, `output ${output.node.id}`).toContain(`\`${output.node.id}\``);
    const alarms = stack.node.findAll().filter((c) => c instanceof Alarm);
    expect(alarms.length).toBeGreaterThan(5);
    for (const alarm of alarms) expect(doc, `alarm ${alarm.node.id}`).toContain(`\`${alarm.node.id}\``);
  });
});
