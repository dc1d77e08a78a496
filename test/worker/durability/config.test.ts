import { describe, expect, it } from "vitest";
import { ConfigError, loadWorkerConfig } from "../../../worker/config.ts";

const base = {
  SOURCE_KIND: "genesys",
  GENESYS_ENV: "mypurecloud.ie",
  TOPICS: "a,b",
  BROKER_URL: "https://abc.lambda-url.eu-west-1.on.aws",
  TOKEN_PROFILE: "main",
  QUEUE_URL: "https://sqs.eu-west-1.amazonaws.com/123/q.fifo",
  AWS_REGION: "eu-west-1",
};

function problems(env: Record<string, string>): string[] {
  try {
    loadWorkerConfig(env);
  } catch (err) {
    if (err instanceof ConfigError) return err.problems;
    throw err;
  }
  return [];
}

describe("durability configuration", () => {
  it("is off without a bucket and a table; on with both, with defaults", () => {
    expect(loadWorkerConfig(base).durability).toBeUndefined();
    const c = loadWorkerConfig({ ...base, BACKLOG_BUCKET: "my-backlog", COVERAGE_TABLE: "coverage" });
    expect(c.durability).toEqual({
      backlogBucket: "my-backlog",
      coverageTable: "coverage",
      scope: "tokenstream",
      taskId: undefined,
      heartbeatMs: 5_000,
      staleAfterMs: 20_000,
      flushIntervalMs: 1_000,
      maxBacklogBytes: 4 * 1024 ** 3,
      s3Endpoint: undefined,
      dynamodbEndpoint: undefined,
    });
    expect(c.startupGraceMs).toBe(240_000);
  });

  it("reports every problem at once: one without the other, bad names, a stale limit under two heartbeats", () => {
    expect(problems({ ...base, BACKLOG_BUCKET: "my-backlog" })).toEqual([
      expect.stringContaining("BACKLOG_BUCKET and COVERAGE_TABLE go together"),
    ]);
    const p = problems({
      ...base,
      BACKLOG_BUCKET: "Not_A_Bucket",
      COVERAGE_TABLE: "t",
      COVERAGE_SCOPE: "bad scope",
      TASK_ID: "a/b",
      COVERAGE_HEARTBEAT_MS: "1000",
      COVERAGE_STALE_MS: "1500",
    });
    expect(p).toHaveLength(4);
    expect(p.join("\n")).toMatch(/BACKLOG_BUCKET must be an S3 bucket name/);
    expect(p.join("\n")).toMatch(/COVERAGE_SCOPE/);
    expect(p.join("\n")).toMatch(/TASK_ID/);
    expect(p.join("\n")).toMatch(/COVERAGE_STALE_MS must be at least twice/);
  });

  it("takes service endpoints for emulators, else the general one", () => {
    const c = loadWorkerConfig({
      ...base,
      BACKLOG_BUCKET: "my-backlog",
      COVERAGE_TABLE: "coverage",
      AWS_ENDPOINT_URL: "http://127.0.0.1:1",
      AWS_ENDPOINT_URL_DYNAMODB: "http://127.0.0.1:2",
    });
    expect(c.durability?.s3Endpoint).toBe("http://127.0.0.1:1");
    expect(c.durability?.dynamodbEndpoint).toBe("http://127.0.0.1:2");
  });
});
