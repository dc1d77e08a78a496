import { describe, expect, it } from "vitest";
import { ConfigError, loadWorkerConfig } from "../../../worker/config.ts";

const base = {
  SOURCE_KIND: "genesys",
  GENESYS_ENV: "mypurecloud.ie",
  TOPICS: "a, b,a,,c",
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

describe("loadWorkerConfig", () => {
  it("derives api and login URLs from GENESYS_ENV and applies defaults", () => {
    const c = loadWorkerConfig(base);
    expect(c.apiUrl).toBe("https://api.mypurecloud.ie");
    expect(c.loginUrl).toBe("https://login.mypurecloud.ie");
    expect(c.topics).toEqual(["a", "b", "c"]);
    expect(c.redundancy).toBe(2);
    expect(c.healthPort).toBe(8080);
    expect(c.shutdownTimeoutMs).toBe(100_000);
    expect(c.tokenSource).toEqual({ kind: "broker", brokerUrl: base.BROKER_URL, profile: "main" });
  });

  it("explicit URLs win over GENESYS_ENV", () => {
    const c = loadWorkerConfig({
      ...base,
      GENESYS_API_URL: "http://127.0.0.1:9/",
      GENESYS_LOGIN_URL: "http://127.0.0.1:9",
    });
    expect(c.apiUrl).toBe("http://127.0.0.1:9");
    expect(c.loginUrl).toBe("http://127.0.0.1:9");
  });

  it("reports every problem at once", () => {
    const p = problems({ SOURCE_KIND: "kafka", REDUNDANCY: "0", TOKEN_SOURCE: "broker", HEALTH_PORT: "x" });
    expect(p).toEqual(
      expect.arrayContaining([
        "SOURCE_KIND must be genesys or generic",
        "REDUNDANCY must be an integer in [1, 10]",
        expect.stringContaining("TOPICS"),
        expect.stringContaining("BROKER_URL"),
        expect.stringContaining("TOKEN_PROFILE"),
        expect.stringContaining("QUEUE_URL"),
        expect.stringContaining("AWS_REGION"),
        expect.stringContaining("HEALTH_PORT"),
      ]),
    );
    expect(p.length).toBeGreaterThanOrEqual(8);
  });

  it("generic source needs a ws URL; direct tokens need id, secret and login URL", () => {
    const p = problems({
      ...base,
      GENESYS_ENV: "",
      SOURCE_KIND: "generic",
      GENERIC_STREAM_URL: "http://not-ws",
      TOKEN_SOURCE: "direct",
    });
    expect(p).toEqual(
      expect.arrayContaining([
        "GENERIC_STREAM_URL must be a wss: or ws: URL",
        expect.stringContaining("GENESYS_CLIENT_ID"),
        expect.stringContaining("GENESYS_CLIENT_SECRET"),
        expect.stringContaining("GENESYS_LOGIN_URL"),
      ]),
    );
  });

  it("never echoes secret values in its errors", () => {
    const secret = "s3cr3t-value-that-must-not-leak";
    try {
      loadWorkerConfig({
        ...base,
        TOKEN_SOURCE: "direct",
        GENESYS_CLIENT_ID: secret,
        GENESYS_CLIENT_SECRET: secret,
        QUEUE_URL: secret,
      });
      expect.unreachable();
    } catch (err) {
      expect(String((err as Error).message)).not.toContain(secret);
    }
  });

  it("accepts redundancy 1 and a direct token source", () => {
    const c = loadWorkerConfig({
      ...base,
      REDUNDANCY: "1",
      TOKEN_SOURCE: "direct",
      GENESYS_CLIENT_ID: "id",
      GENESYS_CLIENT_SECRET: "sec",
    });
    expect(c.redundancy).toBe(1);
    expect(c.tokenSource).toEqual({ kind: "direct", clientId: "id", clientSecret: "sec" });
  });

  it("reports a problem for every invalid DESIGN section 5 variable, all in one error", () => {
    const p = problems({
      SOURCE_KIND: "genesys",
      GENESYS_ENV: "not a domain",
      GENESYS_API_URL: "ftp://api.example.com",
      GENESYS_LOGIN_URL: "login.example.com",
      TOPICS: " , ",
      REDUNDANCY: "two",
      TOKEN_SOURCE: "broker",
      BROKER_URL: "ws://broker",
      TOKEN_PROFILE: "",
      QUEUE_URL: "sqs://queue",
      AWS_REGION: "eu-west-1",
      AWS_ENDPOINT_URL: "localhost:4566",
      HEALTH_PORT: "70000",
      SPOOL_DIR: "relative/spool",
    });
    expect(p).toEqual(
      expect.arrayContaining([
        "GENESYS_ENV must be a domain such as mypurecloud.com",
        "GENESYS_API_URL must be a https: or http: URL",
        "GENESYS_LOGIN_URL must be a https: or http: URL",
        "TOPICS must list at least one topic (comma separated)",
        "REDUNDANCY must be an integer in [1, 10]",
        "BROKER_URL must be a https: or http: URL",
        "TOKEN_PROFILE is required for TOKEN_SOURCE=broker",
        "QUEUE_URL must be a https: or http: URL",
        "AWS_ENDPOINT_URL must be a https: or http: URL",
        "HEALTH_PORT must be an integer in [0, 65535]",
        "SPOOL_DIR must be an absolute path",
      ]),
    );
    expect(loadErrorMessage({ ...base, REDUNDANCY: "0", SPOOL_DIR: "x" })).toMatch(
      /^invalid worker configuration:\n {2}- .+\n {2}- .+$/,
    );
  });

  it("TOKEN_SOURCE and the direct source's variables are checked too", () => {
    expect(problems({ ...base, TOKEN_SOURCE: "vault" })).toContain("TOKEN_SOURCE must be broker or direct");
    expect(problems({ ...base, OFFLOAD_BUCKET: "Not_A_Bucket" })).toEqual([
      "OFFLOAD_BUCKET must be an S3 bucket name (3-63 lowercase letters, digits, dots, hyphens)",
    ]);
    expect(loadWorkerConfig({ ...base, OFFLOAD_BUCKET: "tokenstream-offload" }).offloadBucket).toBe(
      "tokenstream-offload",
    );
  });

  it("DEAD_LETTER_QUEUE_URL is an optional standard queue URL", () => {
    expect(loadWorkerConfig(base).deadLetterQueueUrl).toBeUndefined();
    const url = "https://sqs.eu-west-1.amazonaws.com/123456789012/dead";
    expect(loadWorkerConfig({ ...base, DEAD_LETTER_QUEUE_URL: url }).deadLetterQueueUrl).toBe(url);
    expect(problems({ ...base, DEAD_LETTER_QUEUE_URL: "not a url" })).toEqual([
      "DEAD_LETTER_QUEUE_URL must be a https: or http: URL",
    ]);
    expect(problems({ ...base, DEAD_LETTER_QUEUE_URL: `${url}.fifo` })).toEqual([
      "DEAD_LETTER_QUEUE_URL must be a standard queue (records have no message group)",
    ]);
  });

  it("refuses a topic count and redundancy that cannot fit Genesys' 20 channels per OAuth client", () => {
    const topics = (n: number) => Array.from({ length: n }, (_, i) => `v2.users.u${i}.presence`).join(",");
    // 5,000 topics = 5 channels per session; redundancy 2 => up to 20 while rotating: allowed.
    expect(loadWorkerConfig({ ...base, TOPICS: topics(5_000) }).topics).toHaveLength(5_000);
    const p = problems({ ...base, TOPICS: topics(5_001) });
    expect(p).toHaveLength(1);
    expect(p[0]).toMatch(
      /TOPICS \(5001\) need 6 channel\(s\) per session; REDUNDANCY 2 needs up to 24 channels/,
    );
    expect(problems({ ...base, REDUNDANCY: "10" })).toEqual([]);
    expect(problems({ ...base, REDUNDANCY: "10", TOPICS: topics(1_001) })).toHaveLength(1);
    // The generic stream has no channels.
    expect(
      problems({
        ...base,
        SOURCE_KIND: "generic",
        GENERIC_STREAM_URL: "wss://stream.example.com/s",
        TOPICS: topics(5_001),
      }),
    ).toEqual([]);
  });
});

describe("failure bounds", () => {
  it("default to 5 consecutive 400s, 5 broker refusals and a 1-minute eviction window", () => {
    expect(loadWorkerConfig(base).failures).toEqual({
      maxConsecutiveBadRequests: 5,
      maxConsecutiveTokenRefusals: 5,
      evictionWindowMs: 60_000,
      evictionBackoff: { baseMs: 1_000, capMs: 60_000 },
    });
  });

  it("are read from the environment and validated", () => {
    const c = loadWorkerConfig({
      ...base,
      MAX_CONSECUTIVE_BAD_REQUESTS: "3",
      MAX_CONSECUTIVE_TOKEN_REFUSALS: "8",
      CHANNEL_EVICTION_WINDOW_MS: "120000",
      CHANNEL_EVICTION_BACKOFF_BASE_MS: "1000",
      CHANNEL_EVICTION_BACKOFF_CAP_MS: "60000",
    });
    expect(c.failures).toEqual({
      maxConsecutiveBadRequests: 3,
      maxConsecutiveTokenRefusals: 8,
      evictionWindowMs: 120_000,
      evictionBackoff: { baseMs: 1_000, capMs: 60_000 },
    });
    expect(
      problems({ ...base, MAX_CONSECUTIVE_BAD_REQUESTS: "0", MAX_CONSECUTIVE_TOKEN_REFUSALS: "x" }),
    ).toEqual([
      "MAX_CONSECUTIVE_BAD_REQUESTS must be an integer in [1, 1000]",
      "MAX_CONSECUTIVE_TOKEN_REFUSALS must be an integer in [1, 1000]",
    ]);
    expect(
      problems({
        ...base,
        CHANNEL_EVICTION_BACKOFF_BASE_MS: "5000",
        CHANNEL_EVICTION_BACKOFF_CAP_MS: "1000",
      }),
    ).toEqual(["CHANNEL_EVICTION_BACKOFF_CAP_MS must be at least CHANNEL_EVICTION_BACKOFF_BASE_MS"]);
  });
});

function loadErrorMessage(env: Record<string, string>): string {
  try {
    loadWorkerConfig(env);
  } catch (err) {
    return (err as Error).message;
  }
  return "";
}
