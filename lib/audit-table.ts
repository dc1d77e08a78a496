import { DefaultStackSynthesizer, Fn, type RemovalPolicy, Stack } from "aws-cdk-lib";
import { AttributeType, BillingMode, StreamViewType, Table, TableEncryption } from "aws-cdk-lib/aws-dynamodb";
import { AnyPrincipal, Effect, type IRole, PolicyDocument, PolicyStatement } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { Construct } from "constructs";

export const AUDIT_TABLE_PARTITION_KEY = "pk";
export const AUDIT_TABLE_SORT_KEY = "sk";
export const AUDIT_TABLE_TTL_ATTRIBUTE = "expiresAtEpoch";

/** Denied to every principal but the break-glass role: nothing may change or remove an audit item or the table. */
export const AUDIT_REWRITE_ACTIONS = [
  "dynamodb:UpdateItem",
  "dynamodb:DeleteItem",
  // BatchWriteItem carries deletes (and unconditional puts); the broker never uses it.
  "dynamodb:BatchWriteItem",
  "dynamodb:PartiQLUpdate",
  "dynamodb:PartiQLDelete",
  "dynamodb:DeleteTable",
];

/** Item writes: only the broker role appends (and the break-glass role, if named). */
export const AUDIT_APPEND_ACTIONS = ["dynamodb:PutItem", "dynamodb:PartiQLInsert"];

export interface AuditTableProps {
  readonly key: IKey;
  /** The only principal allowed to append. */
  readonly brokerRole: IRole;
  /**
   * A role that may still repair or remove items (and change TTL) in an emergency: every use is in CloudTrail.
   * @default - none: no principal may update or delete an item
   */
  readonly breakGlassRoleArn?: string;
  /**
   * Stream every item (new and old image), for an archive outside DynamoDB.
   * @default false
   */
  readonly stream?: boolean;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The append-only audit table. Its resource policy, not the broker's code, is what makes items immutable:
 * explicit denies win over any identity policy in the account (an administrator's included).
 */
export function createAuditTable(scope: Construct, id: string, props: AuditTableProps): Table {
  const exempt = props.breakGlassRoleArn ? [props.breakGlassRoleArn] : [];
  const except = (arns: readonly string[]) =>
    arns.length > 0
      ? { ArnNotEquals: { "aws:PrincipalArn": arns.length === 1 ? arns[0] : [...arns] } }
      : undefined;
  const statements = [
    new PolicyStatement({
      sid: "AuditItemsAreNeverRewritten",
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: AUDIT_REWRITE_ACTIONS,
      resources: ["*"],
      conditions: except(exempt),
    }),
    new PolicyStatement({
      sid: "OnlyTheBrokerAppends",
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: AUDIT_APPEND_ACTIONS,
      resources: ["*"],
      conditions: except([props.brokerRole.roleArn, ...exempt]),
    }),
    new PolicyStatement({
      sid: "TtlChangesOnlyThroughADeployment",
      effect: Effect.DENY,
      principals: [new AnyPrincipal()],
      actions: ["dynamodb:UpdateTimeToLive"],
      resources: ["*"],
      // CloudFormation enables TTL when it creates the table; its execution role is assumable by CloudFormation
      // only, so a TTL change is a reviewed stack deployment (or the break-glass role).
      conditions: except([...deploymentRole(scope), ...exempt]),
    }),
  ];
  return new Table(scope, id, {
    partitionKey: { name: AUDIT_TABLE_PARTITION_KEY, type: AttributeType.STRING },
    sortKey: { name: AUDIT_TABLE_SORT_KEY, type: AttributeType.STRING },
    billingMode: BillingMode.PAY_PER_REQUEST,
    encryption: TableEncryption.CUSTOMER_MANAGED,
    encryptionKey: props.key,
    pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
    deletionProtection: true,
    timeToLiveAttribute: AUDIT_TABLE_TTL_ATTRIBUTE,
    resourcePolicy: new PolicyDocument({ statements }),
    ...(props.stream ? { stream: StreamViewType.NEW_AND_OLD_IMAGES } : {}),
    removalPolicy: props.removalPolicy,
  });
}

/** The CloudFormation execution role of the default (bootstrapped) synthesizer, when the stack uses it. */
function deploymentRole(scope: Construct): string[] {
  const synthesizer = Stack.of(scope).synthesizer;
  // The synthesizer's ARN carries ${AWS::Partition}-style placeholders: Fn::Sub resolves them at deploy time.
  return synthesizer instanceof DefaultStackSynthesizer
    ? [Fn.sub(synthesizer.cloudFormationExecutionRoleArn)]
    : [];
}
