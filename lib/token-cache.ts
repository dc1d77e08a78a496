import { Fn, RemovalPolicy, Stack } from "aws-cdk-lib";
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
import { laneTokenSecretName } from "../shared/token-lanes.ts";
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
  /** One token-cache secret per profile and lane. */
  readonly profiles: readonly { readonly name: string; readonly lanes: number }[];
  /** The only principal that may use the key and read or write the secrets. */
  readonly brokerRole: IRole;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The broker's token cache: one Secrets Manager secret per profile and token lane under a dedicated KMS key that
 * only the broker role can use, and only through Secrets Manager; each secret's resource policy denies its value
 * to every other principal. Nothing else is encrypted with this key. Lane 0 keeps the profile's original
 * (generated-name) secret; lane n's secret is named `<laneSecretPrefix>/<profile>/lane-<n>`, so the broker
 * derives its id from one prefix instead of carrying an ARN per lane in its 4 KiB environment.
 */
export class TokenCache extends Construct {
  readonly key: Key;
  /** Lane 0's token-cache secret ARN of each profile, by profile name. */
  readonly secretArns: ReadonlyMap<string, string>;
  /** Every token-cache secret ARN, all lanes of all profiles (the broker role's grant). */
  readonly allSecretArns: readonly string[];
  readonly secrets: readonly CfnSecret[];
  /**
   * Name prefix of the lane secrets (lanes 1 and up): `tokenstream/<stack name>-<first 8 characters of the stack
   * id>`, unique per stack instance so a re-created stack never collides with names a deleted one still holds in
   * Secrets Manager's recovery window.
   */
  readonly laneSecretPrefix: string;

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

    const stackIdPrefix = Fn.select(0, Fn.split("-", Fn.select(2, Fn.split("/", stack.stackId))));
    this.laneSecretPrefix = `tokenstream/${stack.stackName}-${stackIdPrefix}`;
    const arns = new Map<string, string>();
    const secrets: CfnSecret[] = [];
    for (const { name, lanes } of props.profiles) {
      for (let lane = 0; lane < lanes; lane++) {
        const secret = this.laneSecret(name, lane, props.brokerRole);
        if (lane === 0) arns.set(name, secret.ref);
        secrets.push(secret);
      }
    }
    this.secretArns = arns;
    this.secrets = secrets;
    this.allSecretArns = secrets.map((s) => s.ref);
  }

  private laneSecret(profile: string, lane: number, brokerRole: IRole): CfnSecret {
    // Lane 0 keeps the construct id (and so the secret) profiles had before lanes existed.
    const holder = new Construct(this, lane === 0 ? `Secret-${profile}` : `Secret-${profile}-lane-${lane}`);
    // Created empty: no deployer ever encrypts with the key (the broker reads a missing value as "no token").
    const secret = new CfnSecret(holder, "Resource", {
      description: `tokenstream broker token cache for profile ${profile}${lane > 0 ? ` lane ${lane}` : ""} (CachedToken JSON, written by the broker only)`,
      kmsKeyId: this.key.keyArn,
      ...(lane > 0 ? { name: laneTokenSecretName(this.laneSecretPrefix, profile, lane) } : {}),
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
            conditions: { ArnNotEquals: { "aws:PrincipalArn": brokerRole.roleArn } },
          }),
        ],
      }),
    });
    return secret;
  }
}
