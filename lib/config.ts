/**
 * Deployment configuration of the tokenstream CDK app: the raw shape an operator writes (cdk.json context
 * `tokenstream`, or a JSON file passed with `-c config=path.json`) and its validation into a fully
 * defaulted {@link TokenstreamConfig}. Every problem is collected, then thrown together as one
 * {@link ConfigError}, so an operator fixes the whole file in one pass.
 */

import { DEFAULT_TOKEN_LANES } from "../shared/token-lanes.ts";
import { DEFAULT_WORKER_MEMORY_MIB } from "../shared/worker-runtime.ts";
import { DOMAIN, parseProfiles, type ResolvedProfile, resolveProfileLanes } from "./config-profiles.ts";
import { isRecord, Reader } from "./config-reader.ts";
import { parseSecuritySettings, SECURITY_CONFIG_KEYS, type SecuritySettings } from "./config-security.ts";
import {
  fargateSizeProblem,
  MAX_CHANNELS_PER_CLIENT,
  MAX_TOPICS_PER_CHANNEL,
  parseShards,
  type ResolvedShard,
} from "./config-shards.ts";

export {
  MAX_PROFILES_ENV_BYTES,
  PROFILE_CONFIG_KEYS,
  type ProfileConfig,
  type ResolvedProfile,
} from "./config-profiles.ts";
export {
  MAX_CHANNELS_PER_CLIENT,
  MAX_TOPICS_PER_CHANNEL,
  type ResolvedShard,
  SHARD_CONFIG_KEYS,
  type TopicSource,
} from "./config-shards.ts";

export type SourceKind = "genesys" | "generic";

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
const SNS_TOPIC_ARN = /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}(\.fifo)?$/;
const PRINCIPAL_ARN = /^arn:aws[a-z-]*:(iam|sts)::\d{12}:[A-Za-z0-9/_+=,.@:-]+$/;
const VPC_ID = /^vpc-[0-9a-f]{8}([0-9a-f]{9})?$/;
const ACCOUNT = /^\d{12}$/;
const REGION = /^[a-z]{2}(-[a-z]+)+-\d$/;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const STACK_NAME = /^[A-Za-z][A-Za-z0-9-]{0,127}$/;

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

  const parsedProfiles = parseProfiles(problems, raw.profiles);

  const sourceKindRaw = raw.sourceKind ?? "genesys";
  let sourceKind: SourceKind = "genesys";
  if (sourceKindRaw === "genesys" || sourceKindRaw === "generic") sourceKind = sourceKindRaw;
  else problems.push(`sourceKind: must be "genesys" or "generic", got ${JSON.stringify(sourceKindRaw)}`);

  const profileNames = parsedProfiles.map((p) => p.name);
  const redundancyDefault = r.integer("redundancy", 1, 4) ?? 2;
  const workerCpu = r.integer("workerCpu", 256, 16_384) ?? 512;
  const workerMemoryMiB = r.integer("workerMemoryMiB", 512, 122_880) ?? DEFAULT_WORKER_MEMORY_MIB;
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
    if (
      raw_.workerProfile !== undefined &&
      profileNames.length > 0 &&
      !profileNames.includes(workerProfile)
    ) {
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
    genesysEnv ??= parsedProfiles.find((p) => p.name === workerProfile)?.genesysEnv;
    if (!genesysEnv && raw.genesysEnv === undefined && profileNames.length > 0) {
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

  const profiles = resolveProfileLanes(problems, parsedProfiles, shards, DEFAULT_TOKEN_LANES);

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
