import { Stack } from "aws-cdk-lib";
import type { ITable } from "aws-cdk-lib/aws-dynamodb";
import { Effect, PolicyStatement, type Role } from "aws-cdk-lib/aws-iam";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";
import type { Construct } from "constructs";
import { acknowledge, nagRef } from "./nag.ts";
import type { TokenBrokerProfileProps } from "./token-broker.ts";

/** What the broker reads and writes besides the operator's credentials secrets. */
export interface BrokerData {
  /** Every lane's token-cache secret, by ARN: no name pattern, so no other secret matches. */
  readonly tokenSecretArns: readonly string[];
  readonly tokenKey: IKey;
  /** Encrypts the lease and audit tables and the schedule DLQ. */
  readonly tableKey: IKey;
  readonly leaseTable: ITable;
  readonly auditTable: ITable;
}

/**
 * The broker role's identity policy: exactly the calls its adapters make, each key usable only through the
 * service holding data under it.
 */
export function grantBrokerAccess(
  scope: Construct,
  role: Role,
  profiles: readonly TokenBrokerProfileProps[],
  data: BrokerData,
): void {
  profiles.forEach((profile, index) => {
    role.addToPolicy(
      new PolicyStatement({
        sid: `ReadCredentials${index}`,
        actions: ["secretsmanager:GetSecretValue"],
        resources: [secretPolicyArn(profile.credentialsSecret)],
      }),
    );
    if (!profile.credentialsSecret.secretFullArn) {
      acknowledge(
        role.node.findChild("DefaultPolicy"),
        `AwsSolutions-IAM5[Resource::${nagRef(scope, secretPolicyArn(profile.credentialsSecret))}]`,
        `IAM5 (wildcard resource): profile ${profile.name}'s credentials secret is referenced by name; "-??????" only matches the 6-character suffix Secrets Manager appends to that one secret's ARN (configure credentialsSecretArn to avoid it).`,
      );
    }
    if (profile.credentialsKey) {
      role.addToPolicy(
        new PolicyStatement({
          sid: `DecryptCredentials${index}`,
          actions: ["kms:Decrypt"],
          resources: [profile.credentialsKey.keyArn],
          conditions: {
            StringEquals: {
              "kms:ViaService": `secretsmanager.${Stack.of(scope).region}.${Stack.of(scope).urlSuffix}`,
            },
          },
        }),
      );
    }
  });
  role.addToPolicy(
    new PolicyStatement({
      sid: "TokenCache",
      // What SecretsManagerTokenStore calls: GetSecretValue (AWSCURRENT) and PutSecretValue.
      actions: ["secretsmanager:GetSecretValue", "secretsmanager:PutSecretValue"],
      resources: [...data.tokenSecretArns],
    }),
  );
  role.addToPolicy(
    new PolicyStatement({
      sid: "TokenKeyViaSecretsManager",
      actions: ["kms:Decrypt", "kms:GenerateDataKey"],
      resources: [data.tokenKey.keyArn],
      conditions: {
        StringEquals: {
          "kms:ViaService": `secretsmanager.${Stack.of(scope).region}.${Stack.of(scope).urlSuffix}`,
        },
      },
    }),
  );
  role.addToPolicy(
    new PolicyStatement({
      sid: "Lease",
      // What DynamoDbLeaseStore calls: a conditional PutItem to acquire, a conditional DeleteItem to release.
      actions: ["dynamodb:PutItem", "dynamodb:DeleteItem"],
      resources: [data.leaseTable.tableArn],
    }),
  );
  role.addToPolicy(
    new PolicyStatement({
      sid: "AuditAppendOnly",
      effect: Effect.ALLOW,
      actions: ["dynamodb:PutItem"],
      resources: [data.auditTable.tableArn],
    }),
  );
  role.addToPolicy(
    new PolicyStatement({
      sid: "BrokerKey",
      actions: ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
      resources: [data.tableKey.keyArn],
      // Only through the services that hold data under this key: never a direct Decrypt call.
      conditions: {
        StringEquals: {
          "kms:ViaService": ["dynamodb", "sqs"].map(
            (service) => `${service}.${Stack.of(scope).region}.${Stack.of(scope).urlSuffix}`,
          ),
        },
      },
    }),
  );
}

/** The ARN form IAM needs: a secret referenced by name gets Secrets Manager's 6-character suffix wildcard. */
function secretPolicyArn(secret: ISecret): string {
  return secret.secretFullArn ?? `${secret.secretArn}-??????`;
}
