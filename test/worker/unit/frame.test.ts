import { describe, expect, it } from "vitest";
import { classifyFrame } from "../../../worker/source/frame.ts";

const j = (v: unknown) => Buffer.from(JSON.stringify(v));

describe("classifyFrame", () => {
  it("recognises heartbeat and pong as control frames", () => {
    expect(
      classifyFrame(
        j({ topicName: "channel.metadata", eventBody: { message: "WebSocket Heartbeat" } }),
        false,
      ),
    ).toEqual({ kind: "heartbeat" });
    expect(
      classifyFrame(j({ topicName: "channel.metadata", eventBody: { message: "pong" } }), false),
    ).toEqual({ kind: "pong" });
  });

  it("recognises socket_closing and the 404 frame", () => {
    expect(classifyFrame(j({ topicName: "v2.system.socket_closing", eventBody: {} }), false).kind).toBe(
      "socket-closing",
    );
    expect(classifyFrame(j({ result: "404", message: "channel gone" }), false).kind).toBe("channel-dead");
    expect(classifyFrame(j({ result: 404 }), false).kind).toBe("channel-dead");
  });

  it("passes events through with their envelope", () => {
    const env = {
      topicName: "v2.users.x.presence",
      version: "2",
      eventBody: { a: 1 },
      metadata: { CorrelationId: "c" },
    };
    expect(classifyFrame(j(env), false)).toEqual({ kind: "event", envelope: env });
  });

  it.each([
    ["binary", Buffer.from([1, 2, 3]), true, "binary_frame"],
    ["non-JSON", Buffer.from("{nope"), false, "not_json"],
    ["array", j([1, 2]), false, "not_an_object"],
    ["null", j(null), false, "not_an_object"],
    ["no topicName", j({ eventBody: {} }), false, "missing_topic_name"],
    ["empty topicName", j({ topicName: "", eventBody: {} }), false, "missing_topic_name"],
    ["other result", j({ result: "200" }), false, "missing_topic_name"],
  ] as const)("codes a %s frame as malformed", (_name, data, binary, code) => {
    const f = classifyFrame(data, binary);
    expect(f).toMatchObject({ kind: "malformed", code });
  });

  it("rejects a frame above the size limit without parsing it", () => {
    const big = j({ topicName: "t", eventBody: "x".repeat(200) });
    expect(classifyFrame(big, false, 100)).toMatchObject({
      kind: "malformed",
      code: "frame_too_large",
      sizeBytes: big.length,
    });
  });
});
