import { Stack, Validations } from "aws-cdk-lib";
import type { IConstruct } from "constructs";

/**
 * Acknowledges ONE cdk-nag finding on ONE resource. An L2 construct is narrowed to its CloudFormation
 * resource, so the acknowledgement never covers siblings or children. `reason` states the control and why.
 */
export function acknowledge(construct: IConstruct, findingId: string, reason: string): void {
  const target = construct.node.defaultChild ?? construct;
  Validations.of(target).acknowledge({ id: findingId, reason });
}

/**
 * Renders a CloudFormation value the way cdk-nag names it in a finding id (`<LogicalId.Arn>`, `<LogicalId>`),
 * so an acknowledgement can name the exact resource ARN of an IAM5 finding.
 */
export function nagRef(scope: IConstruct, value: string): string {
  return flatten(Stack.of(scope).resolve(value));
}

function flatten(node: unknown): string {
  if (node === undefined) return "";
  if (typeof node === "string") return node.replace(/\$\{/g, "<").replace(/\}/g, ">");
  if (typeof node === "object" && node !== null) {
    const record = node as Record<string, unknown>;
    const join = record["Fn::Join"] as [string, unknown[]] | undefined;
    if (join) return join[1].map(flatten).join(join[0]);
    if ("Fn::Sub" in record) return flatten(record["Fn::Sub"]);
    const getAtt = record["Fn::GetAtt"] as [unknown, unknown] | undefined;
    if (getAtt) return `<${flatten(getAtt[0])}.${flatten(getAtt[1])}>`;
    if ("Fn::ImportValue" in record) return flatten(record["Fn::ImportValue"]);
    if ("Ref" in record) return `<${flatten(record.Ref)}>`;
  }
  return JSON.stringify(node);
}
