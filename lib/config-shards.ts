/**
 * Shards of the deployment configuration: each shard is one broker profile (one OAuth client) with its own
 * topic set, run as its own ECS service with its own task count, redundancy, CPU and memory. All shards share
 * the broker, the queue and the VPC. Validation here is per shard and across shards (names, topic sets, the
 * channel budget of each OAuth client); lib/config.ts calls it.
 */
import { readFileSync } from "node:fs";
import { isAbsolute, resolve } from "node:path";
import { parseTopicList } from "../shared/topic-list.ts";

/** Where a shard's topics come from. */
export type TopicSource =
  | { kind: "inline"; topics: string[] }
  /** A file in the repository (absolute path), uploaded as an S3 asset at deploy time. */
  | { kind: "file"; path: string; topics: string[] }
  /** An S3 object the operator maintains; read by the worker at start, at most `maxTopics` topics. */
  | { kind: "s3"; bucket: string; key: string; maxTopics: number };

export interface ResolvedShard {
  name: string;
  profile: string;
  topics: TopicSource;
  /** Topics known at synth, or the declared upper bound of an S3 topic set. */
  topicCount: number;
  workerCount: number;
  redundancy: number;
  cpu: number;
  memoryMiB: number;
}

/** Genesys Cloud keeps at most this many notification channels per OAuth client; the 21st evicts one. */
export const MAX_CHANNELS_PER_CLIENT = 20;
/** Genesys Cloud accepts at most this many topics on one notification channel. */
export const MAX_TOPICS_PER_CHANNEL = 1000;
/** Most topics one shard may carry: a task subscribes them all, 1,000 per channel, within one client's budget. */
export const MAX_SHARD_TOPICS = 10_000;

export const SHARD_CONFIG_KEYS: ReadonlySet<string> = new Set([
  "name",
  "profile",
  "topics",
  "topicsFile",
  "topicsS3Uri",
  "maxTopics",
  "workerCount",
  "redundancy",
  "cpu",
  "memoryMiB",
]);

const SHARD_NAME = /^[a-z][a-z0-9-]{0,23}$/;
const S3_URI = /^s3:\/\/([a-z0-9][a-z0-9.-]{1,61}[a-z0-9])\/(.+)$/;

/** Fargate task sizes: CPU units and the memory (MiB) each allows. */
const FARGATE_MEMORY: ReadonlyMap<number, readonly number[]> = new Map([
  [256, [512, 1024, 2048]],
  [512, range(1024, 4096, 1024)],
  [1024, range(2048, 8192, 1024)],
  [2048, range(4096, 16_384, 1024)],
  [4096, range(8192, 30_720, 1024)],
  [8192, range(16_384, 61_440, 4096)],
  [16_384, range(32_768, 122_880, 8192)],
]);

function range(from: number, to: number, step: number): number[] {
  const out: number[] = [];
  for (let v = from; v <= to; v += step) out.push(v);
  return out;
}

/** Why `cpu`/`memoryMiB` is not a Fargate task size, or undefined. */
export function fargateSizeProblem(cpu: number, memoryMiB: number): string | undefined {
  const memories = FARGATE_MEMORY.get(cpu);
  if (!memories) return `cpu ${cpu} is not a Fargate size (${[...FARGATE_MEMORY.keys()].join(", ")})`;
  if (!memories.includes(memoryMiB)) {
    return `memory ${memoryMiB} MiB does not go with cpu ${cpu} (from ${memories[0]} to ${memories.at(-1)} MiB in steps of ${memories[1]! - memories[0]!})`;
  }
  return undefined;
}

/** Channels a shard's tasks may hold at the worst moment (see {@link channelBudgetProblems}). */
export function peakChannels(
  shard: Pick<ResolvedShard, "workerCount" | "redundancy" | "topicCount">,
): number {
  const perSession = Math.max(1, Math.ceil(shard.topicCount / MAX_TOPICS_PER_CHANNEL));
  return 2 * shard.workerCount * 2 * shard.redundancy * perSession;
}

/**
 * The channel budget, per OAuth client: worst case, a deployment runs old and new tasks side by side
 * (maxHealthyPercent 200) and every session of each is replaced make-before-break at once (socket_closing
 * reaches all), so a shard holds 2 x workerCount x 2 x redundancy x (channels per session). The shards of one
 * profile share its 20 channels.
 */
export function channelBudgetProblems(shards: readonly ResolvedShard[]): string[] {
  const byProfile = new Map<string, ResolvedShard[]>();
  for (const s of shards) byProfile.set(s.profile, [...(byProfile.get(s.profile) ?? []), s]);
  const problems: string[] = [];
  for (const [profile, own] of byProfile) {
    const total = own.reduce((n, s) => n + peakChannels(s), 0);
    if (total <= MAX_CHANNELS_PER_CLIENT) continue;
    const parts = own.map(
      (s) =>
        `${s.name}: 2 x ${s.workerCount} task(s) x 2 x ${s.redundancy} sessions x ${Math.max(1, Math.ceil(s.topicCount / MAX_TOPICS_PER_CHANNEL))} channel(s) = ${peakChannels(s)}`,
    );
    problems.push(
      `shards of profile "${profile}" need up to ${total} channels during a deployment (${parts.join("; ")}), over the ${MAX_CHANNELS_PER_CLIENT} Genesys Cloud keeps per OAuth client (the 21st evicts one); give a shard its own profile, or lower workerCount, redundancy or its topics`,
    );
  }
  return problems;
}

export interface ShardDefaults {
  redundancy: number;
  cpu: number;
  memoryMiB: number;
  profileNames: readonly string[];
  /** Directory topic files are relative to. */
  baseDir: string;
  readFile?: (path: string) => string;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function integerIn(
  problems: string[],
  where: string,
  value: unknown,
  min: number,
  max: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${where}: must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return undefined;
  }
  return value;
}

function parseTopicSource(
  problems: string[],
  raw: Record<string, unknown>,
  where: string,
  defaults: ShardDefaults,
): TopicSource | undefined {
  const given = ["topics", "topicsFile", "topicsS3Uri"].filter((k) => raw[k] !== undefined);
  if (given.length !== 1) {
    problems.push(`${where}: set exactly one of topics, topicsFile or topicsS3Uri`);
    return undefined;
  }
  if (raw.maxTopics !== undefined && raw.topicsS3Uri === undefined) {
    problems.push(`${where}maxTopics: only applies to topicsS3Uri (other topic sets are counted at synth)`);
  }
  if (raw.topics !== undefined) {
    if (!Array.isArray(raw.topics) || raw.topics.length === 0) {
      problems.push(`${where}topics: must be a non-empty array of strings`);
      return undefined;
    }
    const text = JSON.stringify(raw.topics);
    const { topics, problems: found } = parseTopicList(text, `${where}topics`);
    problems.push(...found);
    return found.length === 0 ? { kind: "inline", topics } : undefined;
  }
  if (raw.topicsFile !== undefined) {
    if (typeof raw.topicsFile !== "string" || raw.topicsFile.trim() === "") {
      problems.push(`${where}topicsFile: must be a path to a topic list`);
      return undefined;
    }
    const path = isAbsolute(raw.topicsFile) ? raw.topicsFile : resolve(defaults.baseDir, raw.topicsFile);
    let text: string;
    try {
      text = (defaults.readFile ?? ((p: string) => readFileSync(p, "utf8")))(path);
    } catch (error) {
      problems.push(
        `${where}topicsFile: ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? "error"}`,
      );
      return undefined;
    }
    const { topics, problems: found } = parseTopicList(text, raw.topicsFile);
    problems.push(...found.map((p) => `${where}topicsFile: ${p}`));
    return found.length === 0 ? { kind: "file", path, topics } : undefined;
  }
  const uri = raw.topicsS3Uri;
  const match = typeof uri === "string" ? S3_URI.exec(uri) : null;
  if (!match) {
    problems.push(`${where}topicsS3Uri: must be s3://<bucket>/<key>, got ${JSON.stringify(uri)}`);
    return undefined;
  }
  const maxTopics = integerIn(problems, `${where}maxTopics`, raw.maxTopics, 1, MAX_SHARD_TOPICS);
  if (raw.maxTopics === undefined) {
    problems.push(
      `${where}maxTopics: required with topicsS3Uri (the channel budget is checked at synth; the worker refuses a larger set)`,
    );
  }
  return maxTopics === undefined ? undefined : { kind: "s3", bucket: match[1]!, key: match[2]!, maxTopics };
}

function parseShard(
  problems: string[],
  raw: unknown,
  index: number,
  defaults: ShardDefaults,
): ResolvedShard | undefined {
  const where = `shards[${index}].`;
  if (!isRecord(raw)) {
    problems.push(`shards[${index}]: must be an object`);
    return undefined;
  }
  for (const key of Object.keys(raw)) {
    if (!SHARD_CONFIG_KEYS.has(key)) problems.push(`${where}${key}: is not a known shard setting (typo?)`);
  }
  const name = raw.name;
  const nameOk = typeof name === "string" && SHARD_NAME.test(name);
  if (!nameOk) {
    problems.push(
      `${where}name: required, lowercase letters, digits and -, up to 24, got ${JSON.stringify(name)}`,
    );
  }
  const profile = raw.profile;
  const profileOk = typeof profile === "string" && defaults.profileNames.includes(profile);
  if (!profileOk) {
    problems.push(
      `${where}profile: must name one of the profiles (${defaults.profileNames.join(", ")}), got ${JSON.stringify(profile)}`,
    );
  }
  const topics = parseTopicSource(problems, raw, where, defaults);
  const workerCount = integerIn(problems, `${where}workerCount`, raw.workerCount, 1, 10) ?? 1;
  const redundancy = integerIn(problems, `${where}redundancy`, raw.redundancy, 1, 4) ?? defaults.redundancy;
  const cpu = integerIn(problems, `${where}cpu`, raw.cpu, 256, 16_384) ?? defaults.cpu;
  const memoryMiB =
    integerIn(problems, `${where}memoryMiB`, raw.memoryMiB, 512, 122_880) ?? defaults.memoryMiB;
  const sizeProblem = fargateSizeProblem(cpu, memoryMiB);
  if (sizeProblem) problems.push(`${where}cpu/memoryMiB: ${sizeProblem}`);
  if (!nameOk || !profileOk || !topics) return undefined;
  const topicCount = topics.kind === "s3" ? topics.maxTopics : topics.topics.length;
  if (topicCount > MAX_SHARD_TOPICS) {
    problems.push(
      `${where}: ${topicCount} topics, over the ${MAX_SHARD_TOPICS} one shard may carry; split it`,
    );
  }
  return {
    name: name as string,
    profile: profile as string,
    topics,
    topicCount,
    workerCount,
    redundancy,
    cpu,
    memoryMiB,
  };
}

/** Parses `shards`, then checks across them: unique names, no topic in two shards, each client's budget. */
export function parseShards(
  problems: string[],
  raw: unknown,
  defaults: ShardDefaults,
  sourceKind: "genesys" | "generic",
): ResolvedShard[] {
  if (!Array.isArray(raw) || raw.length === 0) {
    problems.push("shards: must be a non-empty array");
    return [];
  }
  const shards = raw.flatMap((s, i) => parseShard(problems, s, i, defaults) ?? []);
  const names = new Set<string>();
  for (const s of shards) {
    if (names.has(s.name)) problems.push(`shards: name "${s.name}" is used more than once`);
    names.add(s.name);
  }
  const owner = new Map<string, string>();
  const crossDuplicates = new Map<string, Set<string>>();
  for (const s of shards) {
    if (s.topics.kind === "s3") continue;
    for (const topic of s.topics.topics) {
      const first = owner.get(topic);
      if (first === undefined) owner.set(topic, s.name);
      else if (first !== s.name) crossDuplicates.set(topic, new Set([first, s.name]));
    }
  }
  for (const [topic, where] of [...crossDuplicates].slice(0, 20)) {
    problems.push(`shards: topic "${topic}" is in more than one shard (${[...where].join(", ")})`);
  }
  if (crossDuplicates.size > 20)
    problems.push(`shards: ${crossDuplicates.size - 20} more topics are in several shards`);
  const s3Sources = new Map<string, string>();
  for (const s of shards) {
    if (s.topics.kind !== "s3") continue;
    const uri = `s3://${s.topics.bucket}/${s.topics.key}`;
    const first = s3Sources.get(uri);
    if (first) problems.push(`shards: ${s.name} and ${first} read the same topic set ${uri}`);
    s3Sources.set(uri, s.name);
  }
  if (sourceKind === "genesys") problems.push(...channelBudgetProblems(shards));
  return shards;
}
