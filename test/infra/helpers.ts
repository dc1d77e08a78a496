import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { App, CfnElement, Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";
import { parseConfig, type TokenstreamConfig } from "../../lib/config.ts";

export const PROFILE_ARN_SECRET =
  "arn:aws:secretsmanager:eu-west-1:111122223333:secret:tokenstream/genesys/eu-AbCdEf";
export const PROFILE_KMS_KEY = "arn:aws:kms:eu-west-1:111122223333:key/0b1d2c3e-4f50-6172-8394-a5b6c7d8e9f0";
export const INVOKER_ROLE = "arn:aws:iam::444455556666:role/auditor";

/** Two profiles (one by secret name, one by ARN + CMK), an external invoker and an alarm e-mail. */
export function testConfig(overrides: Record<string, unknown> = {}): TokenstreamConfig {
  return parseConfig({
    profiles: [
      {
        name: "default",
        genesysEnv: "mypurecloud.com",
        credentialsSecretName: "tokenstream/genesys/default",
      },
      {
        name: "eu",
        loginUrl: "https://login.mypurecloud.ie",
        credentialsSecretArn: PROFILE_ARN_SECRET,
        credentialsKmsKeyArn: PROFILE_KMS_KEY,
      },
    ],
    topics: ["v2.routing.queues.q1.conversations", "v2.users.u1.presence"],
    invokerPrincipals: [INVOKER_ROLE],
    alarmEmail: "ops@example.com",
    ...overrides,
  });
}

/** cdk.json's context without the tokenstream configuration: the feature flags `cdk synth` applies. */
export function cdkJsonFlags(): Record<string, unknown> {
  const cdkJson = JSON.parse(readFileSync(new URL("../../cdk.json", import.meta.url), "utf8"));
  const { tokenstream: _, ...flags } = cdkJson.context as Record<string, unknown>;
  return flags;
}

/**
 * A fresh app with cdk.json's feature flags (so tests synthesize what `cdk deploy` deploys), whose synth skips
 * asset bundling (esbuild) and writes to a throw-away directory.
 */
export function testApp(): App {
  return new App({
    outdir: mkdtempSync(join(tmpdir(), "tokenstream-infra-")),
    context: { ...cdkJsonFlags(), "aws:cdk:bundling-stacks": [] },
  });
}

/** One cdk-nag acknowledgement as recorded in construct metadata. */
export interface Acknowledgement {
  /** Construct path of the acknowledged CloudFormation resource. */
  path: string;
  /** Its logical id in the template. */
  logicalId: string;
  /** Finding id, e.g. `AwsSolutions-SMG4` or `AwsSolutions-IAM5[Resource::...]`. */
  id: string;
  reason: string;
}

/** Every AwsSolutions acknowledgement made under `root` (`{"Annotation::<id>": reason}` metadata), in tree order. */
export function collectAcknowledgements(root: IConstruct): Acknowledgement[] {
  return root.node.findAll().flatMap((c) =>
    c.node.metadata
      .filter((m) => m.type === Validations.ACKNOWLEDGED_RULES_METADATA_KEY)
      .flatMap((m) => Object.entries(m.data as Record<string, string>))
      .map(([key, reason]) => ({
        path: c.node.path,
        logicalId: c instanceof CfnElement ? Stack.of(c).resolve(c.logicalId) : "",
        id: key.replace(/^annotation::/i, ""),
        reason,
      }))
      .filter((a) => a.id.startsWith("AwsSolutions")),
  );
}

/** A Fn::Join of JSON text with references in it, parsed: references become `GetAtt:<id>` / `Ref:<id>`. */
export function renderJoin(value: unknown): unknown {
  const [separator, parts] = (value as { "Fn::Join": [string, unknown[]] })["Fn::Join"];
  const text = parts
    .map((part) => {
      if (typeof part === "string") return part;
      const ref = part as { Ref?: string; "Fn::GetAtt"?: [string, string] };
      return ref.Ref ? `Ref:${ref.Ref}` : `GetAtt:${ref["Fn::GetAtt"]![0]}`;
    })
    .join(separator);
  return JSON.parse(text);
}
