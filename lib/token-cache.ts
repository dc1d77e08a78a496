import { RemovalPolicy, Stack } from "aws-cdk-lib";
import {
  AccountRootPrincipal,
  AnyPrincipal,
  ArnPrincipal,
  Effect,
  type IRole,
  PolicyDocument,
  PolicyStatement,
} from "aws-cdk-lib/aws-iam";
import { Key } from "aws-cdk-lib/aws-kms";
import { CfnResourcePolicy, CfnSecret } from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { acknowledge } from "./nag.ts";

/**
 * Key administration without use: the account (through IAM) may manage the key, but no statement here lets it
 * encrypt, decrypt or create grants. KMS refuses a key policy that would lock out its administrators.
 */
export const TOKEN_KEY_ADMIN_ACTIONS = [
  "kms:CancelKeyDeletion",
  "kms:CreateAlias",
  "kms:DeleteAlias",
  "kms:DescribeKey",
  "kms:DisableKey",
  "kms:DisableKeyRotation",
  "kms:EnableKey",
  "kms:EnableKeyRotation",
  "kms:GetKeyPolicy",
  "kms:GetKeyRotationStatus",
  "kms:ListGrants",
  "kms:ListKeyPolicies",
  "kms:ListResourceTags",
  "kms:PutKeyPolicy",
  "kms:RevokeGrant",
  "kms:RotateKeyOnDemand",
  "kms:ScheduleKeyDeletion",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:UpdateAlias",
  "kms:UpdateKeyDescription",
];

/** What the secret policy denies to every principal but the broker role: reading, writing or re-labelling the token. */
export const TOKEN_SECRET_DENIED_ACTIONS = [
  "secretsmanager:GetSecretValue",
  "secretsmanager:PutSecretValue",
  "secretsmanager:UpdateSecretVersionStage",
  "secretsmanager:RotateSecret",
];

export interface TokenCacheProps {
  /** One token-cache secret per profile name. */
  readonly profileNames: readonly string[];
  /** The only principal that may use the key and read or write the secrets. */
  readonly brokerRole: IRole;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The broker's token cache: one Secrets Manager secret per profile under a dedicated KMS key that only the
 * broker role can use, and only through Secrets Manager; each secret's resource policy denies its value to
 * every other principal. Nothing else is encrypted with this key.
 */
export class TokenCache extends Construct {
  readonly key: Key;
  /** Token-cache secret ARN of each profile, by profile name. */
  readonly secretArns: ReadonlyMap<string, string>;
  readonly secrets: readonly CfnSecret[];

  constructor(scope: Construct, id: string, props: TokenCacheProps) {
    super(scope, id);
    const stack = Stack.of(this);
    const secretsManager = `secretsmanager.${stack.region}.${stack.urlSuffix}`;
    this.key = new Key(this, "Key", {
      description:
        "tokenstream broker token cache: only the broker role may use it, only via Secrets Manager",
      enableKeyRotation: true,
      removalPolicy: props.removalPolicy,
      policy: new PolicyDocument({
        statements: [
          new PolicyStatement({
            sid: "KeyAdministrationWithoutUse",
            principals: [new AccountRootPrincipal()],
            actions: TOKEN_KEY_ADMIN_ACTIONS,
            resources: ["*"],
          }),
          new PolicyStatement({
            sid: "BrokerUseViaSecretsManagerOnly",
            principals: [new ArnPrincipal(props.brokerRole.roleArn)],
            actions: ["kms:Decrypt", "kms:GenerateDataKey"],
            resources: ["*"],
            conditions: {
              StringEquals: { "kms:ViaService": secretsManager, "kms:CallerAccount": stack.account },
            },
          }),
        ],
      }),
    });

    const arns = new Map<string, string>();
    const secrets: CfnSecret[] = [];
    for (const name of props.profileNames) {
      // Created empty: no deployer ever encrypts with the key (the broker reads a missing value as "no token").
      const holder = new Construct(this, `Secret-${name}`);
      const secret = new CfnSecret(holder, "Resource", {
        description: `tokenstream broker token cache for profile ${name} (CachedToken JSON, written by the broker only)`,
        kmsKeyId: this.key.keyArn,
      });
      secret.applyRemovalPolicy(RemovalPolicy.DESTROY);
      acknowledge(
        secret,
        "AwsSolutions-SMG4",
        "SMG4 (automatic rotation): Secrets Manager rotation runs at most every 4 hours; this token cache is rotated by the broker itself on an EventBridge schedule every few minutes (PutSecretValue at ~75% of the token's life), so a rotation Lambda would only fight it.",
      );
      new CfnResourcePolicy(holder, "Policy", {
        secretId: secret.ref,
        blockPublicPolicy: true,
        resourcePolicy: new PolicyDocument({
          statements: [
            new PolicyStatement({
              sid: "OnlyTheBrokerReadsOrWritesTheToken",
              effect: Effect.DENY,
              principals: [new AnyPrincipal()],
              actions: TOKEN_SECRET_DENIED_ACTIONS,
              resources: ["*"],
              conditions: { ArnNotEquals: { "aws:PrincipalArn": props.brokerRole.roleArn } },
            }),
          ],
        }),
      });
      arns.set(name, secret.ref);
      secrets.push(secret);
    }
    this.secretArns = arns;
    this.secrets = secrets;
  }
}
