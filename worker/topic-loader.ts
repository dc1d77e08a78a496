/**
 * Loads the worker's topics at start when they do not come inline in TOPICS: from a topic list file
 * (TOPICS_FILE) or an S3 object (TOPICS_S3_URI; a shard's topic set, see lib/config-shards.ts). The list is
 * validated like the deployment config validates it (shared/topic-list.ts), against TOPICS_MAX and this
 * task's channel budget; any problem is a ConfigError (exit 2), so a bad list never starts a worker.
 */
import { readFile } from "node:fs/promises";
import { GetObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { parseTopicList } from "../shared/topic-list.ts";
import { ConfigError, channelBudgetProblems, type WorkerConfig } from "./config.ts";
import { errorCode } from "./sink/send-errors.ts";

/** Largest topic list read (10,000 topics of 512 characters is about 5 MB). */
export const MAX_TOPIC_LIST_BYTES = 8 * 1024 * 1024;

export interface TopicLoaderDeps {
  /** Needed only for TOPICS_S3_URI. */
  s3?: S3Client;
  readTextFile?: (path: string) => Promise<string>;
}

/** The config with `topics` filled from its source (unchanged when TOPICS had them). */
export async function loadTopics(config: WorkerConfig, deps: TopicLoaderDeps = {}): Promise<WorkerConfig> {
  const source = config.topicsSource ?? { kind: "env" };
  if (source.kind === "env") return config;
  let text: string;
  let where: string;
  if (source.kind === "file") {
    where = source.path;
    try {
      text = await (deps.readTextFile ?? ((p) => readFile(p, "utf8")))(source.path);
    } catch (err) {
      throw new ConfigError([`TOPICS_FILE ${source.path} cannot be read: ${errorCode(err)}`]);
    }
  } else {
    where = `s3://${source.bucket}/${source.key}`;
    if (!deps.s3) throw new ConfigError([`TOPICS_S3_URI ${where}: no S3 client`]);
    try {
      const object = await deps.s3.send(new GetObjectCommand({ Bucket: source.bucket, Key: source.key }));
      if ((object.ContentLength ?? 0) > MAX_TOPIC_LIST_BYTES) {
        throw new ConfigError([`TOPICS_S3_URI ${where} is larger than ${MAX_TOPIC_LIST_BYTES} bytes`]);
      }
      text = (await object.Body?.transformToString("utf-8")) ?? "";
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError([`TOPICS_S3_URI ${where} cannot be read: ${errorCode(err)}`]);
    }
  }
  const { topics, problems } = parseTopicList(text, where);
  if (config.topicsMax !== undefined && topics.length > config.topicsMax) {
    problems.push(`${where}: ${topics.length} topics, over TOPICS_MAX (${config.topicsMax})`);
  }
  if (config.sourceKind === "genesys")
    problems.push(...channelBudgetProblems(topics.length, config.redundancy));
  if (problems.length > 0) throw new ConfigError(problems.slice(0, 50));
  return { ...config, topics };
}
