import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { CreateBucketCommand, PutObjectCommand, S3Client } from "@aws-sdk/client-s3";
import { beforeAll, describe, expect, inject, it } from "vitest";
import { ConfigError, loadWorkerConfig } from "../../../worker/config.ts";
import { loadTopics } from "../../../worker/topic-loader.ts";

const base = {
  SOURCE_KIND: "genesys",
  GENESYS_ENV: "mypurecloud.ie",
  BROKER_URL: "https://abc.lambda-url.eu-west-1.on.aws",
  TOKEN_PROFILE: "main",
  QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123/q.fifo",
  AWS_REGION: "eu-west-1",
  REDUNDANCY: "1",
};

const bucket = `topics-${Date.now()}`;
const s3 = new S3Client({
  region: "us-east-1",
  endpoint: inject("motoEndpoint"),
  forcePathStyle: true,
  credentials: { accessKeyId: "test", secretAccessKey: "test" },
});

async function problemsOf(promise: Promise<unknown>): Promise<readonly string[]> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).problems;
}

const topicRange = (n: number) => Array.from({ length: n }, (_, i) => `v2.users.u${i}.presence`);

describe("worker topic loading", () => {
  beforeAll(async () => {
    await s3.send(new CreateBucketCommand({ Bucket: bucket }));
    await s3.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: "shard-a.txt",
        Body: `# a\n${topicRange(3000).join("\n")}`,
      }),
    );
    await s3.send(
      new PutObjectCommand({ Bucket: bucket, Key: "bad.txt", Body: "ok.topic\nbad topic\nok.topic\n" }),
    );
  });

  it("reads a shard's topic set from S3 at start", async () => {
    const config = loadWorkerConfig({
      ...base,
      TOPICS_S3_URI: `s3://${bucket}/shard-a.txt`,
      TOPICS_MAX: "4000",
    });
    expect(config.topics).toEqual([]);
    const loaded = await loadTopics(config, { s3 });
    expect(loaded.topics).toEqual(topicRange(3000));
  });

  it("refuses a list with bad or repeated topics, over TOPICS_MAX, over the channel budget, or missing", async () => {
    const at = (key: string, extra: Record<string, string> = {}) =>
      loadTopics(loadWorkerConfig({ ...base, TOPICS_S3_URI: `s3://${bucket}/${key}`, ...extra }), { s3 });
    expect(await problemsOf(at("bad.txt"))).toEqual([
      `s3://${bucket}/bad.txt:2: "bad topic" contains whitespace, a comma or a control character`,
      `s3://${bucket}/bad.txt:3: "ok.topic" is listed again (first at s3://${bucket}/bad.txt:1)`,
    ]);
    expect(await problemsOf(at("shard-a.txt", { TOPICS_MAX: "2000" }))).toEqual([
      `s3://${bucket}/shard-a.txt: 3000 topics, over TOPICS_MAX (2000)`,
    ]);
    expect(await problemsOf(at("shard-a.txt", { REDUNDANCY: "4" }))).toEqual([
      "TOPICS (3000) need 3 channel(s) per session; REDUNDANCY 4 needs up to 24 channels while rotating, above the 20 Genesys allows per OAuth client",
    ]);
    expect(await problemsOf(at("missing.txt"))).toEqual([
      `TOPICS_S3_URI s3://${bucket}/missing.txt cannot be read: NoSuchKey`,
    ]);
  });

  it("reads a topic list file, and refuses ambiguous or malformed sources", async () => {
    const dir = mkdtempSync(join(tmpdir(), "tokenstream-topics-"));
    writeFileSync(join(dir, "t.json"), '["a.b", "c.d"]');
    const loaded = await loadTopics(loadWorkerConfig({ ...base, TOPICS_FILE: join(dir, "t.json") }));
    expect(loaded.topics).toEqual(["a.b", "c.d"]);
    expect(() => loadWorkerConfig({ ...base, TOPICS: "a", TOPICS_S3_URI: "s3://b/k" })).toThrow(
      /set only one of TOPICS, TOPICS_FILE and TOPICS_S3_URI/,
    );
    expect(() => loadWorkerConfig({ ...base, TOPICS_S3_URI: "https://b/k" })).toThrow(
      /TOPICS_S3_URI must be s3:/,
    );
    expect(() => loadWorkerConfig(base)).toThrow(/TOPICS must list at least one topic/);
    expect(() =>
      loadWorkerConfig({ ...base, TOPICS: "a", SINK_MIN_IN_FLIGHT: "8", SINK_MAX_IN_FLIGHT: "4" }),
    ).toThrow(/SINK_MAX_IN_FLIGHT must be at least SINK_MIN_IN_FLIGHT/);
  });
});
