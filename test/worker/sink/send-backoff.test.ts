import { describe, expect, it } from "vitest";
import { isThrottle, SendBackoff } from "../../../worker/sink/send-backoff.ts";
import type { SinkLogger } from "../../../worker/sink/sink-ports.ts";

function recordingLog(): SinkLogger & { lines: string[] } {
  const lines: string[] = [];
  const at = (level: string) => (_msg: string, attrs?: Record<string, unknown>) => {
    lines.push(`${level}:${String(attrs?.code)}`);
  };
  return { lines, debug: at("debug"), info: at("info"), warn: at("warn"), error: at("error") };
}

function rig(random = () => 1) {
  const clock = { now: 1_000 };
  const log = recordingLog();
  const backoff = new SendBackoff({
    baseMs: 100,
    capMs: 800,
    floorMs: 10,
    now: () => clock.now,
    random,
    log,
  });
  return { clock, log, backoff };
}

describe("SendBackoff", () => {
  it("tells throttling codes from failures", () => {
    for (const code of [
      "ThrottlingException",
      "RequestThrottled",
      "OverLimit",
      "SlowDown",
      "TooManyRequests",
    ]) {
      expect(isThrottle(code)).toBe(true);
    }
    for (const code of ["ServiceUnavailable", "AccessDenied", "QueueDoesNotExist", "TimeoutError"]) {
      expect(isThrottle(code)).toBe(false);
    }
  });

  it("backs a throttled lane off exponentially (capped), without pausing the sink or calling it failing", () => {
    const { clock, backoff } = rig();
    expect(backoff.throttled(["a"]) - clock.now).toBe(100);
    expect(backoff.throttled(["a"]) - clock.now).toBe(200);
    expect(backoff.throttled(["a"]) - clock.now).toBe(400);
    expect(backoff.throttled(["a"]) - clock.now).toBe(800);
    expect(backoff.throttled(["a"]) - clock.now).toBe(800);
    // Another lane starts from the base; the sink as a whole is neither paused nor failing.
    expect(backoff.throttled(["b"]) - clock.now).toBe(100);
    expect(backoff.failing()).toBe(false);
    expect(backoff.pausedUntilMs()).toBeLessThanOrEqual(clock.now);
  });

  it("a batch of several lanes waits as long as its most throttled lane", () => {
    const { clock, backoff } = rig();
    backoff.throttled(["a"]);
    backoff.throttled(["a"]);
    expect(backoff.throttled(["a", "b"]) - clock.now).toBe(400);
  });

  it("a lane's success resets its throttle count; full jitter never goes under the floor", () => {
    const { clock, backoff } = rig(() => 0);
    expect(backoff.throttled(["a"]) - clock.now).toBe(10);
    const { clock: c2, backoff: b2 } = rig();
    b2.throttled(["a"]);
    b2.throttled(["a"]);
    b2.succeeded(["a"], () => 0);
    expect(b2.throttled(["a"]) - c2.now).toBe(100);
  });

  it("a failure pauses the whole sink and marks it failing until a success; logged once each way", () => {
    const { clock, log, backoff } = rig();
    backoff.failed("batch_failed", "ServiceUnavailable");
    expect(backoff.failing()).toBe(true);
    expect(backoff.pausedUntilMs()).toBe(clock.now + 100);
    clock.now += 100;
    backoff.failed("batch_failed", "ServiceUnavailable");
    expect(backoff.pausedUntilMs()).toBe(clock.now + 200);
    backoff.succeeded(["a"], () => 7);
    expect(backoff.failing()).toBe(false);
    expect(log.lines).toEqual(["warn:batch_failed", "debug:batch_failed", "info:sqs_recovered"]);
  });
});
