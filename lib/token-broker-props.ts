import type { Duration, RemovalPolicy } from "aws-cdk-lib";
import type { IKey } from "aws-cdk-lib/aws-kms";
import type { RetentionDays } from "aws-cdk-lib/aws-logs";
import type { ISecret } from "aws-cdk-lib/aws-secretsmanager";

/** One OAuth client the broker serves. */
export interface TokenBrokerProfileProps {
  /** Profile name (`GET /token?profile=<name>`). */
  readonly name: string;
  /** Identity-provider base URL; the broker posts to `<loginUrl>/oauth/token`. */
  readonly loginUrl: string;
  /** The operator-created secret holding `{"clientId":"...","clientSecret":"..."}`. Only read, never written. */
  readonly credentialsSecret: ISecret;
  /**
   * How the broker names the credentials secret in `GetSecretValue` (ARN, or name for a secret
   * referenced by name).
   * @default credentialsSecret.secretArn
   */
  readonly credentialsSecretId?: string;
  /**
   * Customer-managed KMS key encrypting the credentials secret; the broker gets `kms:Decrypt` on it through
   * Secrets Manager only.
   * @default - the secret uses the AWS managed key `aws/secretsmanager`, no key grant needed
   */
  readonly credentialsKey?: IKey;
  /**
   * Principals (ARNs or ARN patterns with `*`; a role ARN covers its sessions) allowed to obtain this profile's
   * token from the broker. More can be added with {@link TokenBroker.allowPrincipal}.
   * @default - none (every request for the profile is refused and audited)
   */
  readonly allowedPrincipals?: readonly string[];
  /**
   * Token lanes: one token-cache secret each, minted and rotated at staggered times (`GET /token?lane=N`). Worker
   * slot i uses lane i, so give at least the redundancy of the workers using this profile.
   * @default DEFAULT_TOKEN_LANES (2)
   */
  readonly lanes?: number;
}

export interface TokenBrokerProps {
  /** The OAuth clients, one token-cache secret per lane each. At least one. */
  readonly profiles: readonly TokenBrokerProfileProps[];
  /**
   * Handler source files of the Function URL function and of the scheduled-refresh function (bundled with the
   * local esbuild, never Docker).
   * @default functions/broker/url-handler.ts and functions/broker/refresh-handler.ts in this repository
   */
  readonly entries?: { readonly url: string; readonly refresh: string };
  /**
   * Lambda memory.
   * @default 512
   */
  readonly memorySize?: number;
  /**
   * Lambda timeout: covers one identity-provider call with its retries, and a loser waiting for a lease.
   * @default Duration.seconds(30)
   */
  readonly timeout?: Duration;
  /**
   * Reserved concurrency, to cap identity-provider load and keep capacity for the broker.
   * @default - unreserved (uses the account's shared pool)
   */
  readonly reservedConcurrency?: number;
  /**
   * Principals (other than the worker task role, granted by the relay) allowed to call the Function URL. Which
   * profiles each may obtain is up to the profiles' `allowedPrincipals`.
   * @default - none
   */
  readonly invokerPrincipalArns?: readonly string[];
  /**
   * A role exempt from the audit table's deny statements (repair or removal of items in an emergency).
   * @default - none: no principal can update or delete an audit item
   */
  readonly auditBreakGlassRoleArn?: string;
  /**
   * Copy every audit-table change (its stream) to an S3 bucket with Object Lock in compliance mode, kept for
   * `auditRetentionDays`.
   * @default false
   */
  readonly auditArchive?: boolean;
  /**
   * Fraction of a token's life after which the scheduled refresh mints a new one.
   * @default 0.75
   */
  readonly refreshAtFraction?: number;
  /**
   * Minimum remaining fraction of a token's life for it to be handed out.
   * @default 0.25
   */
  readonly minValidityFraction?: number;
  /**
   * Days an audit item is kept before DynamoDB TTL removes it.
   * @default 400
   */
  readonly auditRetentionDays?: number;
  /**
   * Broker log retention (the log groups are retained when the stack is deleted: their request ids join the
   * audit items).
   * @default RetentionDays.THREE_MONTHS
   */
  readonly logRetention?: RetentionDays;
  /**
   * How often the scheduler asks the broker to refresh tokens that passed `refreshAtFraction`.
   * @default Duration.minutes(5)
   */
  readonly refreshInterval?: Duration;
  /**
   * Removal policy of the audit table, lease table and KMS key.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}
