/**
 * Deployment configuration of the tokenstream CDK app: the raw shape an operator writes (cdk.json context
 * `tokenstream`, or a JSON file passed with `-c config=path.json`) and its validation into a fully
 * defaulted {@link TokenstreamConfig}. Every problem is collected, then thrown together as one
 * {@link ConfigError}, so an operator fixes the whole file in one pass.
 */

import {
  parseAllowedPrincipals,
  parseSecuritySettings,
  SECURITY_CONFIG_KEYS,
  type SecuritySettings,
} from "./config-security.ts";
import {
  fargateSizeProblem,
  MAX_CHANNELS_PER_CLIENT,
  MAX_TOPICS_PER_CHANNEL,
  parseShards,
  type ResolvedShard,
} from "./config-shards.ts";

export {
  MAX_CHANNELS_PER_CLIENT,
  MAX_TOPICS_PER_CHANNEL,
  type ResolvedShard,
  SHARD_CONFIG_KEYS,
  type TopicSource,
} from "./config-shards.ts";

export type SourceKind = "genesys" | "generic";

/** One OAuth client the broker mints tokens for. */
export interface ProfileConfig {
  /** Profile name, used in `GET /token?profile=` and as the worker's `TOKEN_PROFILE`. */
  name: string;
  /** Genesys Cloud region domain (e.g. `mypurecloud.com`); the login URL becomes `https://login.<env>`. */
  genesysEnv?: string;
  /** Explicit identity-provider base URL (https). Exactly one of `genesysEnv` / `loginUrl`. */
  loginUrl?: string;
  /** Full ARN of the operator-created `{"clientId","clientSecret"}` secret. */
  credentialsSecretArn?: string;
  /** Name of the operator-created secret (same account and region). Exactly one of ARN / name. */
  credentialsSecretName?: string;
  /** ARN of the customer-managed KMS key that encrypts the credentials secret, if not the AWS managed key. */
  credentialsKmsKeyArn?: string;
  /** Principals (ARNs or patterns) allowed this profile's token; the worker's role always gets its own profile. */
  allowedPrincipals?: string[];
}

/** Resolved profile: login URL derived, exactly one secret reference. */
export interface ResolvedProfile {
  name: string;
  loginUrl: string;
  genesysEnv?: string;
  credentialsSecret: { arn: string } | { name: string };
  credentialsKmsKeyArn?: string;
  allowedPrincipals: string[];
}

/** Fully validated, defaulted configuration. */
export interface TokenstreamConfig extends SecuritySettings {
  stackName: string;
  account?: string;
  region?: string;
  profiles: ResolvedProfile[];
  sourceKind: SourceKind;
  /** Genesys region domain for the worker's REST/WebSocket calls (genesys source kind only). */
  genesysEnv?: string;
  /** Stream URL (wss://) for the generic source kind only. */
  genericStreamUrl?: string;
  /** Where the generic source kind carries the token: `access_token` query parameter or Bearer header. */
  genericTokenIn?: "query" | "header";
  /** Every topic known at synth, across shards (S3 topic sets are read by the worker at start). */
  topics: string[];
  /** Lowest redundancy of any shard (the live-sessions alarm's threshold). */
  redundancy: number;
  /** Profile of the first shard. */
  workerProfile: string;
  /** Worker tasks across all shards. */
  workerCount: number;
  /**
   * One ECS service each: (profile, topic set) with its own size. Without `shards` in the file, one shard
   * `default` made of `workerProfile`, `topics`, `workerCount`, `redundancy`, `workerCpu`, `workerMemoryMiB`.
   */
  shards: ResolvedShard[];
  /** Bounds of the sink's adaptive SendMessageBatch concurrency per task. */
  sinkInFlight: { min: number; max: number };
  /** SQS FIFO high throughput: de-duplication per message group, throughput limit per message group. */
  queueHighThroughput: boolean;
  vpcId?: string;
  natGateways: number;
  alarmEmail?: string;
  alarmTopicArn?: string;
  invokerPrincipals: string[];
  auditRetentionDays: number;
  logRetentionDays: number;
  offloadRetentionDays: number;
  queueRetentionDays: number;
  queueAgeAlarmSeconds: number;
  brokerReservedConcurrency?: number;
  refreshAtFraction: number;
  minValidityFraction: number;
}

/** Every problem found in a configuration, reported at once. */
export class ConfigError extends Error {
  readonly problems: readonly string[];
  constructor(problems: readonly string[]) {
    super(
      `tokenstream configuration is invalid (${problems.length} problem${problems.length === 1 ? "" : "s"}):\n` +
        problems.map((p) => `  - ${p}`).join("\n"),
    );
    this.name = "ConfigError";
    this.problems = problems;
  }
}

/** CloudWatch Logs accepts only these retention periods (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922,
] as const;

/**
 * Budget for the worker's comma-separated `TOPICS` environment value: ECS refuses a task definition larger than
 * 64 KiB, and everything else in ours takes well under 4 KiB (test/infra/stack-variants.test.ts measures it).
 */
export const MAX_TOPICS_ENV_BYTES = 60_000;

/**
 * Budget for the broker's `PROFILES` environment value: Lambda allows 4 KiB for all variables together, and
 * the others (table names, fractions, Powertools settings) take under 700 bytes (test/infra/stack-variants.test.ts measures it).
 */
export const MAX_PROFILES_ENV_BYTES = 3_200;

/** Longest token-cache secret ARN CloudFormation generates (partition, region, account, name, suffix). */
const TOKEN_SECRET_ARN_ESTIMATE = "x".repeat(140);
/** Longest worker task role ARN CloudFormation generates (a role name is at most 64 characters). */
const WORKER_ROLE_ARN_ESTIMATE = "x".repeat(110);

/** Size of the broker's `PROFILES` JSON for these profiles, with a worst-case token-cache secret ARN each. */
function brokerProfilesEnvBytes(profiles: readonly ResolvedProfile[]): number {
  const entries = profiles.map((p) => ({
    name: p.name,
    loginUrl: p.loginUrl,
    credentialsSecretArn: "arn" in p.credentialsSecret ? p.credentialsSecret.arn : p.credentialsSecret.name,
    tokenSecretArn: TOKEN_SECRET_ARN_ESTIMATE,
    // The worker's task role is added to its own profile by the stack.
    allowedPrincipals: [...p.allowedPrincipals, WORKER_ROLE_ARN_ESTIMATE],
  }));
  return Buffer.byteLength(JSON.stringify(entries), "utf8");
}

/** Every top-level configuration key (docs/deploy.md documents each; test/infra/deploy-doc.test.ts checks). */
export const CONFIG_KEYS: ReadonlySet<string> = new Set([
  "stackName",
  "account",
  "region",
  "profiles",
  "sourceKind",
  "genesysEnv",
  "genericStreamUrl",
  "genericTokenIn",
  "topics",
  "redundancy",
  "workerProfile",
  "workerCount",
  "workerCpu",
  "workerMemoryMiB",
  "shards",
  "sinkMinInFlight",
  "sinkMaxInFlight",
  "queueHighThroughput",
  "vpcId",
  "natGateways",
  "alarmEmail",
  "alarmTopicArn",
  "invokerPrincipals",
  "auditRetentionDays",
  "logRetentionDays",
  "offloadRetentionDays",
  "queueRetentionDays",
  "queueAgeAlarmSeconds",
  "brokerReservedConcurrency",
  "refreshAtFraction",
  "minValidityFraction",
  ...SECURITY_CONFIG_KEYS,
]);
/** Every key of one `profiles[]` entry. */
export const PROFILE_CONFIG_KEYS: ReadonlySet<string> = new Set([
  "name",
  "genesysEnv",
  "loginUrl",
  "credentialsSecretArn",
  "credentialsSecretName",
  "credentialsKmsKeyArn",
  "allowedPrincipals",
]);

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:[A-Za-z0-9/_+=,.@:-]+$/;
const VPC_ID = /^vpc-[0-9a-f]{8}([0-9a-f]{9})?$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** Collects problems while reading typed fields out of an untyped object. */
class Reader {
  constructor(
    private readonly problems: string[],
    private readonly source: Record<string, unknown>,
    private readonly where: string,
  ) {}

  private report(key: string, message: string): undefined {
    this.problems.push(`${this.where}${key}: ${message}`);
    return undefined;
  }

  string(key: string, pattern?: RegExp, hint?: string): string | undefined {
    const value = this.source[key];
    if (value === undefined) return undefined;
    if (typeof value !== "string" || value.trim() === "")
      return this.report(key, "must be a non-empty string");
    if (pattern && !pattern.test(value)) return this.report(key, `"${value}" is not ${hint ?? "valid"}`);
    return value;
  }

  integer(key: string, min: number, max: number): number | undefined {
    const value = this.source[key];
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
      return this.report(key, `must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  fraction(key: string): number | undefined {
    const value = this.source[key];
    if (value === undefined) return undefined;
    if (typeof value !== "number" || !(value > 0 && value < 1)) {
      return this.report(key, `must be a number strictly between 0 and 1, got ${JSON.stringify(value)}`);
    }
    return value;
  }

  stringArray(key: string, pattern?: RegExp, hint?: string): string[] | undefined {
    const value = this.source[key];
    if (value === undefined) return undefined;
    if (!Array.isArray(value)) return this.report(key, "must be an array of strings");
    const out: string[] = [];
    value.forEach((item, i) => {
      if (typeof item !== "string" || item.trim() === "") {
        this.report(`${key}[${i}]`, "must be a non-empty string");
      } else if (pattern && !pattern.test(item)) {
        this.report(`${key}[${i}]`, `"${item}" is not ${hint ?? "valid"}`);
      } else {
        out.push(item);
      }
    });
    return out;
  }

  unknownKeys(allowed: ReadonlySet<string>): void {
    for (const key of Object.keys(this.source)) {
      if (!allowed.has(key)) this.report(key, "is not a known setting (typo?)");
    }
  }
}

function parseProfile(problems: string[], raw: unknown, index: number): ResolvedProfile | undefined {
  const where = `profiles[${index}].`;
  if (!isRecord(raw)) {
    problems.push(`profiles[${index}]: must be an object`);
    return undefined;
  }
  const r = new Reader(problems, raw, where);
  r.unknownKeys(PROFILE_CONFIG_KEYS);
  const name = r.string("name", PROFILE_NAME, "a profile name (letters, digits, _ and -, up to 64)");
  if (raw.name === undefined) problems.push(`${where}name: is required`);
  const genesysEnv = r.string("genesysEnv", DOMAIN, "a domain such as mypurecloud.com");
  const loginUrl = r.string("loginUrl");
  if (loginUrl !== undefined && !isHttpsUrl(loginUrl)) {
    problems.push(`${where}loginUrl: "${loginUrl}" must be an https:// URL`);
  }
  if (raw.genesysEnv !== undefined && raw.loginUrl !== undefined) {
    problems.push(`${where}: set either genesysEnv or loginUrl, not both`);
  } else if (raw.genesysEnv === undefined && raw.loginUrl === undefined) {
    problems.push(`${where}: one of genesysEnv or loginUrl is required`);
  }
  const secretArn = r.string("credentialsSecretArn", SECRET_ARN, "a complete Secrets Manager secret ARN");
  const secretName = r.string("credentialsSecretName", SECRET_NAME, "a Secrets Manager secret name");
  if (raw.credentialsSecretArn !== undefined && raw.credentialsSecretName !== undefined) {
    problems.push(`${where}: set either credentialsSecretArn or credentialsSecretName, not both`);
  } else if (raw.credentialsSecretArn === undefined && raw.credentialsSecretName === undefined) {
    problems.push(`${where}: one of credentialsSecretArn or credentialsSecretName is required`);
  }
  const kmsKeyArn = r.string("credentialsKmsKeyArn", KMS_KEY_ARN, "a KMS key ARN");
  const allowedPrincipals = parseAllowedPrincipals(raw.allowedPrincipals, where, problems);
  const resolvedLogin = loginUrl ?? (genesysEnv ? `https://login.${genesysEnv}` : undefined);
  const secret = secretArn ? { arn: secretArn } : secretName ? { name: secretName } : undefined;
  if (!name || !resolvedLogin || !secret) return undefined;
  return {
    name,
    loginUrl: resolvedLogin.replace(/\/+$/, ""),
    ...(genesysEnv ? { genesysEnv } : {}),
    credentialsSecret: secret,
    ...(kmsKeyArn ? { credentialsKmsKeyArn: kmsKeyArn } : {}),
    allowedPrincipals,
  };
}

function isHttpsUrl(value: string): boolean {
  try {
    return new URL(value).protocol === "https:";
  } catch {
    return false;
  }
}

function isWebSocketUrl(value: string): boolean {
  try {
    const protocol = new URL(value).protocol;
    return protocol === "wss:";
  } catch {
    return false;
  }
}

/**
 * Validates a raw configuration object. Throws one {@link ConfigError} listing every problem.
 */
export interface ParseConfigOptions {
  /** Directory `shards[].topicsFile` paths are relative to. Default: the working directory. */
  baseDir?: string;
  readFile?: (path: string) => string;
}

export function parseConfig(raw: unknown, options: ParseConfigOptions = {}): TokenstreamConfig {
  const problems: string[] = [];
  if (!isRecord(raw)) throw new ConfigError(["configuration must be a JSON object"]);
  const r = new Reader(problems, raw, "");
  r.unknownKeys(CONFIG_KEYS);

  const stackName = r.string("stackName", STACK_NAME, "a CloudFormation stack name") ?? "Tokenstream";
  const account = r.string("account", ACCOUNT, "a 12-digit account id");
  const region = r.string("region", REGION, "an AWS region such as eu-west-1");

  const profiles: ResolvedProfile[] = [];
  if (raw.profiles === undefined) {
    problems.push("profiles: at least one profile is required");
  } else if (!Array.isArray(raw.profiles) || raw.profiles.length === 0) {
    problems.push("profiles: must be a non-empty array");
  } else {
    raw.profiles.forEach((p, i) => {
      const parsed = parseProfile(problems, p, i);
      if (parsed) profiles.push(parsed);
    });
    const seen = new Set<string>();
    for (const p of raw.profiles) {
      if (isRecord(p) && typeof p.name === "string") {
        if (seen.has(p.name)) problems.push(`profiles: name "${p.name}" is used more than once`);
        seen.add(p.name);
      }
    }
    const profilesBytes = brokerProfilesEnvBytes(profiles);
    if (profilesBytes > MAX_PROFILES_ENV_BYTES) {
      problems.push(
        `profiles: ${profiles.length} profiles need about ${profilesBytes} bytes in the broker's PROFILES variable, over the ${MAX_PROFILES_ENV_BYTES} left of Lambda's 4 KiB environment; split them over several stacks`,
      );
    }
  }

  const sourceKindRaw = raw.sourceKind ?? "genesys";
  let sourceKind: SourceKind = "genesys";
  if (sourceKindRaw === "genesys" || sourceKindRaw === "generic") sourceKind = sourceKindRaw;
  else problems.push(`sourceKind: must be "genesys" or "generic", got ${JSON.stringify(sourceKindRaw)}`);

  const profileNames = profiles.map((p) => p.name);
  const redundancyDefault = r.integer("redundancy", 1, 4) ?? 2;
  const workerCpu = r.integer("workerCpu", 256, 16_384) ?? 512;
  const workerMemoryMiB = r.integer("workerMemoryMiB", 512, 122_880) ?? 1024;
  const sizeProblem = fargateSizeProblem(workerCpu, workerMemoryMiB);
  if (sizeProblem) problems.push(`workerCpu/workerMemoryMiB: ${sizeProblem}`);
  let shards: ResolvedShard[];
  if (raw.shards !== undefined) {
    for (const key of ["topics", "workerProfile", "workerCount"]) {
      if (raw[key] !== undefined) problems.push(`${key}: with shards, set it on each shard instead`);
    }
    shards = parseShards(
      problems,
      raw.shards,
      {
        redundancy: redundancyDefault,
        cpu: workerCpu,
        memoryMiB: workerMemoryMiB,
        profileNames,
        baseDir: options.baseDir ?? process.cwd(),
        ...(options.readFile ? { readFile: options.readFile } : {}),
      },
      sourceKind,
    );
  } else {
    shards = [legacyShard()];
  }
  const topics = shards.flatMap((s) => (s.topics.kind === "s3" ? [] : s.topics.topics));
  const redundancy = Math.min(...shards.map((s) => s.redundancy), redundancyDefault);
  const workerCount = shards.reduce((n, s) => n + s.workerCount, 0);
  const workerProfile = shards[0]?.profile ?? profileNames[0] ?? "";

  /** The single-shard form: top-level topics, workerProfile, workerCount, redundancy. */
  function legacyShard(): ResolvedShard {
    const r = new Reader(problems, raw as Record<string, unknown>, "");
    const raw_ = raw as Record<string, unknown>;
    const topics = r.stringArray("topics") ?? [];
    if (raw_.topics === undefined || (Array.isArray(raw_.topics) && raw_.topics.length === 0)) {
      problems.push("topics: at least one topic is required");
    }
    topics.forEach((topic, i) => {
      if (/[,\s]/.test(topic)) {
        problems.push(
          `topics[${i}]: "${topic}" must not contain a comma or whitespace (the worker gets a comma list)`,
        );
      }
    });
    const topicsEnvBytes = Buffer.byteLength(topics.join(","), "utf8");
    if (topicsEnvBytes > MAX_TOPICS_ENV_BYTES) {
      problems.push(
        `topics: ${topics.length} topics take ${topicsEnvBytes} bytes as the worker's TOPICS variable, over the ${MAX_TOPICS_ENV_BYTES} that fit in an ECS task definition (64 KiB); split them over several stacks`,
      );
    }
    const duplicateTopics = topics.filter((t, i) => topics.indexOf(t) !== i);
    if (duplicateTopics.length > 0) {
      problems.push(`topics: duplicated ${[...new Set(duplicateTopics)].map((t) => `"${t}"`).join(", ")}`);
    }

    const redundancy = redundancyDefault;
    const workerCount = r.integer("workerCount", 1, 10) ?? 1;

    // A session holds one channel per shard of up to 1,000 topics. Worst case in a task, every slot is replaced
    // make-before-break at once (socket_closing reaches all sessions): 2 x redundancy sessions, the model
    // worker/config.ts checks. A deployment runs old and new tasks side by side (maxHealthyPercent 200), and all
    // of them use the worker profile's one OAuth client.
    const channelsPerSession = Math.max(1, Math.ceil(new Set(topics).size / MAX_TOPICS_PER_CHANNEL));
    const peakChannels = 2 * workerCount * 2 * redundancy * channelsPerSession;
    if (sourceKind === "genesys" && peakChannels > MAX_CHANNELS_PER_CLIENT) {
      problems.push(
        `workerCount (${workerCount}) and redundancy (${redundancy}): 2 task generations x ${workerCount} task(s) x 2 x ${redundancy} sessions while rotating x ${channelsPerSession} channel(s) per session = ${peakChannels} channels during a deployment exceed the ${MAX_CHANNELS_PER_CLIENT} Genesys Cloud keeps per OAuth client (the 21st evicts one); lower workerCount, redundancy or the number of topics`,
      );
    }
    const workerProfile = r.string("workerProfile") ?? profileNames[0] ?? "";
    if (raw_.workerProfile !== undefined && profiles.length > 0 && !profileNames.includes(workerProfile)) {
      problems.push(
        `workerProfile: "${workerProfile}" is not one of the profiles (${profileNames.join(", ")})`,
      );
    }
    return {
      name: "default",
      profile: workerProfile,
      topics: { kind: "inline", topics },
      topicCount: topics.length,
      workerCount,
      redundancy,
      cpu: workerCpu,
      memoryMiB: workerMemoryMiB,
    };
  }

  const sinkMinInFlight = r.integer("sinkMinInFlight", 1, 256) ?? 2;
  const sinkMaxInFlight = r.integer("sinkMaxInFlight", 1, 256) ?? 64;
  if (sinkMaxInFlight < sinkMinInFlight) {
    problems.push(
      `sinkMaxInFlight (${sinkMaxInFlight}) must be at least sinkMinInFlight (${sinkMinInFlight})`,
    );
  }
  const queueHighThroughput = raw.queueHighThroughput ?? true;
  if (typeof queueHighThroughput !== "boolean") {
    problems.push(`queueHighThroughput: must be true or false, got ${JSON.stringify(queueHighThroughput)}`);
  }

  let genesysEnv = r.string("genesysEnv", DOMAIN, "a domain such as mypurecloud.com");
  const genericStreamUrl = r.string("genericStreamUrl");
  if (sourceKind === "genesys") {
    genesysEnv ??= profiles.find((p) => p.name === workerProfile)?.genesysEnv;
    if (!genesysEnv && raw.genesysEnv === undefined && profiles.length > 0) {
      problems.push(
        'genesysEnv: sourceKind "genesys" needs the worker\'s Genesys region (set genesysEnv, or genesysEnv on the worker profile)',
      );
    }
    if (genericStreamUrl !== undefined) {
      problems.push('genericStreamUrl: only applies to sourceKind "generic"');
    }
  } else {
    if (genericStreamUrl === undefined) {
      problems.push('genericStreamUrl: sourceKind "generic" needs the stream URL (wss://)');
    } else if (!isWebSocketUrl(genericStreamUrl)) {
      problems.push(`genericStreamUrl: "${genericStreamUrl}" must be a wss:// URL`);
    }
    if (raw.genesysEnv !== undefined) problems.push('genesysEnv: only applies to sourceKind "genesys"');
  }
  const genericTokenIn = raw.genericTokenIn;
  if (genericTokenIn !== undefined) {
    if (genericTokenIn !== "query" && genericTokenIn !== "header") {
      problems.push(`genericTokenIn: must be "query" or "header", got ${JSON.stringify(genericTokenIn)}`);
    } else if (sourceKind !== "generic") {
      problems.push('genericTokenIn: only applies to sourceKind "generic"');
    }
  }

  const vpcId = r.string("vpcId", VPC_ID, "a VPC id (vpc-...)");
  const natGateways = r.integer("natGateways", 1, 3) ?? 2;
  if (raw.vpcId !== undefined && raw.natGateways !== undefined) {
    problems.push("natGateways: only applies to the VPC tokenstream creates; remove it or vpcId");
  }
  if (raw.vpcId !== undefined && (raw.account === undefined || raw.region === undefined)) {
    problems.push("vpcId: looking up an existing VPC needs account and region set explicitly");
  }

  const alarmEmail = r.string("alarmEmail", EMAIL, "an e-mail address");
  const alarmTopicArn = r.string("alarmTopicArn", SNS_TOPIC_ARN, "an SNS topic ARN");
  if (raw.alarmEmail !== undefined && raw.alarmTopicArn !== undefined) {
    problems.push(
      "alarmEmail: only applies to the alarm topic tokenstream creates; with alarmTopicArn, subscribe the address to that topic instead",
    );
  }
  if (alarmTopicArn?.endsWith(".fifo")) {
    problems.push("alarmTopicArn: CloudWatch alarms cannot publish to a FIFO topic");
  }
  const invokerPrincipals =
    r.stringArray("invokerPrincipals", PRINCIPAL_ARN, "an IAM role, user or account-root ARN") ?? [];
  for (const arn of invokerPrincipals) {
    if (arn.includes("*"))
      problems.push(`invokerPrincipals: "${arn}" must name one principal, not a pattern`);
  }

  const auditRetentionDays = r.integer("auditRetentionDays", 1, 3650) ?? 400;
  const logRetentionDays = r.integer("logRetentionDays", 1, 2922) ?? 90;
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(logRetentionDays)) {
    problems.push(`logRetentionDays: ${logRetentionDays} is not one of ${LOG_RETENTION_DAYS.join(", ")}`);
  }
  const offloadRetentionDays = r.integer("offloadRetentionDays", 1, 3650) ?? 14;
  const queueRetentionDays = r.integer("queueRetentionDays", 1, 14) ?? 4;
  if (offloadRetentionDays < queueRetentionDays) {
    problems.push(
      `offloadRetentionDays (${offloadRetentionDays}) must be at least queueRetentionDays (${queueRetentionDays}): a pointer message must never outlive its S3 object`,
    );
  }
  const queueAgeAlarmSeconds = r.integer("queueAgeAlarmSeconds", 60, 14 * 86_400) ?? 900;
  if (queueAgeAlarmSeconds >= queueRetentionDays * 86_400) {
    problems.push(
      "queueAgeAlarmSeconds: must be shorter than the queue retention, or messages expire unseen",
    );
  }
  const brokerReservedConcurrency = r.integer("brokerReservedConcurrency", 1, 1000);
  const security = parseSecuritySettings(raw, problems);

  const refreshAtFraction = r.fraction("refreshAtFraction") ?? 0.75;
  const minValidityFraction = r.fraction("minValidityFraction") ?? 0.25;
  if (refreshAtFraction + minValidityFraction > 1) {
    problems.push(
      `refreshAtFraction (${refreshAtFraction}) + minValidityFraction (${minValidityFraction}) exceed 1: tokens would be refused before the scheduler refreshes them`,
    );
  }

  if (problems.length > 0) throw new ConfigError(problems);
  return {
    stackName,
    ...(account ? { account } : {}),
    ...(region ? { region } : {}),
    profiles,
    sourceKind,
    ...(genesysEnv && sourceKind === "genesys" ? { genesysEnv } : {}),
    ...(genericStreamUrl ? { genericStreamUrl } : {}),
    ...(genericTokenIn === "query" || genericTokenIn === "header" ? { genericTokenIn } : {}),
    topics,
    redundancy,
    workerProfile,
    workerCount,
    shards,
    sinkInFlight: { min: sinkMinInFlight, max: sinkMaxInFlight },
    queueHighThroughput: queueHighThroughput !== false,
    ...(vpcId ? { vpcId } : {}),
    natGateways,
    ...(alarmEmail ? { alarmEmail } : {}),
    ...(alarmTopicArn ? { alarmTopicArn } : {}),
    invokerPrincipals,
    auditRetentionDays,
    logRetentionDays,
    offloadRetentionDays,
    queueRetentionDays,
    queueAgeAlarmSeconds,
    ...(brokerReservedConcurrency !== undefined ? { brokerReservedConcurrency } : {}),
    refreshAtFraction,
    minValidityFraction,
    ...security,
  };
}
