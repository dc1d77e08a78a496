import { describe, expect, it } from "vitest";
import { parseTopicList } from "../../shared/topic-list.ts";

describe("parseTopicList", () => {
  it("reads one topic per line, ignoring blank lines, comments and a BOM", () => {
    const text = "\uFEFF# queues\nv2.routing.queues.q1.conversations\n\n  v2.users.u1.presence  # agent\r\n";
    expect(parseTopicList(text, "t.txt")).toEqual({
      topics: ["v2.routing.queues.q1.conversations", "v2.users.u1.presence"],
      problems: [],
    });
  });

  it("reads a JSON array of strings", () => {
    expect(parseTopicList('["a.b", "c.d"]', "t.json")).toEqual({ topics: ["a.b", "c.d"], problems: [] });
  });

  it("reports every bad entry with where it is", () => {
    expect(parseTopicList('["a", 3, "a", "b c", ""]', "s3://b/k").problems).toEqual([
      "s3://b/k[1]: must be a string",
      's3://b/k[2]: "a" is listed again (first at s3://b/k[0])',
      's3://b/k[3]: "b c" contains whitespace, a comma or a control character',
      's3://b/k[4]: "" is empty',
    ]);
    expect(parseTopicList("[oops", "f").problems[0]).toMatch(/^f: not valid JSON/);
    expect(parseTopicList('{"a":1}', "f").problems).toEqual([]);
    expect(parseTopicList("# nothing\n\n", "f").problems).toEqual(["f: lists no topic"]);
    expect(parseTopicList("x".repeat(600), "f").problems).toEqual([
      `f:1: "${"x".repeat(80)}" is longer than 512 characters`,
    ]);
  });
});
