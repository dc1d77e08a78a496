import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { ConfigError, parseConfig } from "../../lib/config.ts";

const profile = (name: string) => ({
  name,
  genesysEnv: "mypurecloud.com",
  credentialsSecretName: `tokenstream/${name}`,
});
const profiles = [profile("org-a"), profile("org-b"), profile("org-c")];
/** Every config needs an alarm destination (lib/config-security.ts); these tests are about shards. */
const alarmEmail = "ops@example.com";

function topicRange(prefix: string, n: number): string[] {
  return Array.from({ length: n }, (_, i) => `v2.users.${prefix}-${i}.presence`);
}

/** A temp directory with the given topic files. */
function topicDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "tokenstream-shards-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  return dir;
}

function problemsOf(raw: unknown, baseDir?: string): readonly string[] {
  try {
    parseConfig(raw, baseDir ? { baseDir } : {});
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return (error as ConfigError).problems;
  }
  throw new Error("expected a ConfigError");
}

describe("shards", () => {
  it("accepts three shards of 4,000 topics from files, one OAuth client each", () => {
    const dir = topicDir({
      "a.txt": `# agents A\n${topicRange("a", 4000).join("\n")}\n`,
      "b.txt": topicRange("b", 4000).join("\n"),
      "c.json": JSON.stringify(topicRange("c", 4000)),
    });
    const config = parseConfig(
      {
        profiles,
        alarmEmail,
        redundancy: 1,
        shards: [
          { name: "agents-a", profile: "org-a", topicsFile: "a.txt", cpu: 1024, memoryMiB: 2048 },
          { name: "agents-b", profile: "org-b", topicsFile: "b.txt" },
          { name: "agents-c", profile: "org-c", topicsFile: "c.json", workerCount: 1 },
        ],
      },
      { baseDir: dir },
    );
    expect(config.shards.map((s) => [s.name, s.profile, s.topicCount, s.cpu, s.memoryMiB])).toEqual([
      ["agents-a", "org-a", 4000, 1024, 2048],
      ["agents-b", "org-b", 4000, 512, 1024],
      ["agents-c", "org-c", 4000, 512, 1024],
    ]);
    expect(config.shards[0]!.topics).toMatchObject({ kind: "file", path: join(dir, "a.txt") });
    expect(config.topics).toHaveLength(12_000);
    expect(config.workerCount).toBe(3);
  });

  it("checks the channel budget per OAuth client, summed over the shards that share it", () => {
    const shard = (name: string, p: string, topics: string[]) => ({
      name,
      profile: p,
      topics,
      redundancy: 2,
    });
    // 2 generations x 1 task x 2 x 2 sessions x 2 channels = 16 each: fine alone, 32 together.
    const a = shard("a", "org-a", topicRange("a", 1500));
    const b = shard("b", "org-a", topicRange("b", 1500));
    const problems = problemsOf({ profiles, alarmEmail, shards: [a, b] });
    expect(problems).toEqual([
      expect.stringMatching(
        /^shards of profile "org-a" need up to 32 channels .*\(a: .* = 16; b: .* = 16\), over the 20/,
      ),
    ]);
    expect(
      parseConfig({ profiles, alarmEmail, shards: [a, { ...b, profile: "org-b" }] }).shards,
    ).toHaveLength(2);
  });

  it("refuses a topic in two shards, and names both", () => {
    const problems = problemsOf({
      profiles,
      alarmEmail,
      shards: [
        { name: "a", profile: "org-a", topics: ["t.1", "t.2"] },
        { name: "b", profile: "org-b", topics: ["t.3", "t.2"] },
      ],
    });
    expect(problems).toEqual(['shards: topic "t.2" is in more than one shard (a, b)']);
  });

  it("reports bad topic files line by line, and unreadable ones", () => {
    const dir = topicDir({ "bad.txt": "t.ok\nt with space\n\nt.ok\nt,comma # trailing comment\n" });
    const problems = problemsOf(
      {
        profiles,
        alarmEmail,
        shards: [
          { name: "a", profile: "org-a", topicsFile: "bad.txt" },
          { name: "b", profile: "org-b", topicsFile: "missing.txt" },
        ],
      },
      dir,
    );
    expect(problems).toEqual([
      'shards[0].topicsFile: bad.txt:2: "t with space" contains whitespace, a comma or a control character',
      'shards[0].topicsFile: bad.txt:4: "t.ok" is listed again (first at bad.txt:1)',
      'shards[0].topicsFile: bad.txt:5: "t,comma" contains whitespace, a comma or a control character',
      `shards[1].topicsFile: ${join(dir, "missing.txt")} cannot be read: ENOENT`,
    ]);
  });

  it("needs maxTopics with an S3 topic set, and refuses two shards reading one object", () => {
    const s3 = { profile: "org-a", topicsS3Uri: "s3://my-topics/agents.txt" };
    expect(problemsOf({ profiles, alarmEmail, shards: [{ name: "a", ...s3 }] })).toEqual([
      expect.stringMatching(/^shards\[0\]\.maxTopics: required with topicsS3Uri/),
    ]);
    const config = parseConfig({
      profiles,
      alarmEmail,
      shards: [{ name: "a", ...s3, maxTopics: 2000, redundancy: 2 }],
    });
    expect(config.shards[0]!.topics).toEqual({
      kind: "s3",
      bucket: "my-topics",
      key: "agents.txt",
      maxTopics: 2000,
    });
    expect(
      problemsOf({
        profiles,
        alarmEmail,
        shards: [
          { name: "a", ...s3, maxTopics: 10 },
          { name: "b", ...s3, profile: "org-b", maxTopics: 10 },
          { name: "c", profile: "org-c", topicsS3Uri: "https://x/y", maxTopics: 10 },
        ],
      }),
    ).toEqual([
      'shards[2].topicsS3Uri: must be s3://<bucket>/<key>, got "https://x/y"',
      "shards: b and a read the same topic set s3://my-topics/agents.txt",
    ]);
  });

  it("refuses the single-shard keys next to shards, unknown shards keys, bad names and sizes", () => {
    const problems = problemsOf({
      profiles,
      alarmEmail,
      topics: ["t.1"],
      workerCount: 2,
      shards: [
        { name: "A", profile: "nope", topics: ["t.2"], cpu: 512, memoryMiB: 512, colour: "red" },
        { name: "b", profile: "org-b", topics: ["t.3"] },
        { name: "b", profile: "org-c", topics: ["t.4"] },
        { name: "c", profile: "org-c", topics: ["t.5"], topicsFile: "x.txt" },
      ],
    });
    expect(problems).toEqual([
      "topics: with shards, set it on each shard instead",
      "workerCount: with shards, set it on each shard instead",
      "shards[0].colour: is not a known shard setting (typo?)",
      'shards[0].name: required, lowercase letters, digits and -, up to 24, got "A"',
      'shards[0].profile: must name one of the profiles (org-a, org-b, org-c), got "nope"',
      "shards[0].cpu/memoryMiB: memory 512 MiB does not go with cpu 512 (from 1024 to 4096 MiB in steps of 1024)",
      "shards[3].: set exactly one of topics, topicsFile or topicsS3Uri",
      'shards: name "b" is used more than once',
    ]);
  });

  it("configures the sink's in-flight bounds and the queue's high-throughput mode", () => {
    const base = { profiles, alarmEmail, topics: ["t.1"] };
    expect(parseConfig(base)).toMatchObject({ sinkInFlight: { min: 2, max: 64 }, queueHighThroughput: true });
    expect(
      parseConfig({ ...base, sinkMinInFlight: 4, sinkMaxInFlight: 128, queueHighThroughput: false }),
    ).toMatchObject({
      sinkInFlight: { min: 4, max: 128 },
      queueHighThroughput: false,
    });
    expect(
      problemsOf({ ...base, sinkMinInFlight: 8, sinkMaxInFlight: 4, queueHighThroughput: "yes" }),
    ).toEqual([
      "sinkMaxInFlight (4) must be at least sinkMinInFlight (8)",
      'queueHighThroughput: must be true or false, got "yes"',
    ]);
    expect(problemsOf({ ...base, workerCpu: 1024, workerMemoryMiB: 1024 })).toEqual([
      "workerCpu/workerMemoryMiB: memory 1024 MiB does not go with cpu 1024 (from 2048 to 8192 MiB in steps of 1024)",
    ]);
  });

  it("keeps the single-shard form as one shard named default", () => {
    const config = parseConfig({
      profiles,
      alarmEmail,
      topics: ["t.1"],
      workerProfile: "org-b",
      workerCount: 2,
      redundancy: 2,
    });
    expect(config.shards).toEqual([
      {
        name: "default",
        profile: "org-b",
        topics: { kind: "inline", topics: ["t.1"] },
        topicCount: 1,
        workerCount: 2,
        redundancy: 2,
        cpu: 512,
        memoryMiB: 1024,
      },
    ]);
  });
});

describe("the README's three-shard example", () => {
  it("is a valid configuration for 12,000 topics", () => {
    const readme = readFileSync(new URL("../../README.md", import.meta.url), "utf8");
    const section = readme.slice(readme.indexOf("Three shards of"));
    const json = /```json\n([\s\S]*?)```/.exec(section)?.[1];
    expect(json).toBeDefined();
    const files: Record<string, string> = {};
    const config = parseConfig(JSON.parse(json!), {
      baseDir: "/repo",
      readFile: (path) => {
        files[path] ??= topicRange(path, 4000).join("\n");
        return files[path]!;
      },
    });
    expect(config.shards.map((s) => s.topicCount).reduce((a, b) => a + b, 0)).toBe(12_000);
    expect(Object.keys(files)).toEqual(["/repo/topics/agents-a.txt", "/repo/topics/agents-b.txt"]);
  });
});
