import { describe, expect, it } from "vitest";
import {
  boundedDecision,
  decideOnFailure,
  FAILURE_POLICY_TABLE,
  type SessionFailure,
} from "../../../worker/core/close-policy.ts";

const cases: Array<[SessionFailure, string, boolean]> = [
  [{ kind: "upgrade-rejected", status: 401 }, "refresh-token-then-reconnect", false],
  [{ kind: "close", code: 4001 }, "refresh-token-then-reconnect", false],
  [{ kind: "close", code: 1008, reason: "token expired" }, "refresh-token-then-reconnect", false],
  [{ kind: "rest-error", status: 401 }, "refresh-token-then-reconnect", false],
  ...[1000, 1001, 1006, 1011, 1012, 1013].map((code): [SessionFailure, string, boolean] => [
    { kind: "close", code },
    "reconnect-with-backoff",
    false,
  ]),
  [{ kind: "network", message: "ECONNRESET" }, "reconnect-with-backoff", false],
  [{ kind: "rest-error", status: 500 }, "reconnect-with-backoff", false],
  [{ kind: "rest-error", status: 503 }, "reconnect-with-backoff", false],
  [{ kind: "upgrade-rejected", status: 502 }, "reconnect-with-backoff", false],
  [{ kind: "watchdog" }, "reconnect-with-backoff", false],
  [{ kind: "rest-error", status: 429 }, "reconnect-with-backoff", false],
  [{ kind: "upgrade-rejected", status: 429 }, "reconnect-with-backoff", false],
  [{ kind: "socket-closing" }, "rotate-now", false],
  [{ kind: "channel-dead" }, "rotate-now", false],
  [{ kind: "upgrade-rejected", status: 403 }, "stop-session", true],
  [{ kind: "rest-error", status: 403 }, "stop-session", true],
  [{ kind: "idp-permanent" }, "stop-session", true],
  [{ kind: "close", code: 4999 }, "reconnect-with-backoff", false],
  [{ kind: "close", code: 1002 }, "reconnect-with-backoff", false],
  [{ kind: "upgrade-rejected", status: 418 }, "reconnect-with-backoff", true],
  [{ kind: "rest-error", status: 400 }, "reconnect-with-backoff", true],
];

describe("decideOnFailure", () => {
  it.each(cases)("%j -> %s (alarm %s)", (failure, action, alarm) => {
    const d = decideOnFailure(failure);
    expect(d.action).toBe(action);
    expect(d.alarm).toBe(alarm);
    expect(d.reason).toMatch(/^[a-z0-9_]+$/);
  });

  it("honours Retry-After on 429 as minDelayMs", () => {
    expect(decideOnFailure({ kind: "rest-error", status: 429, retryAfterSec: 7 }).minDelayMs).toBe(7000);
    expect(decideOnFailure({ kind: "rest-error", status: 429, retryAfterSec: 0.25 }).minDelayMs).toBe(250);
    expect(decideOnFailure({ kind: "rest-error", status: 429 }).minDelayMs).toBeUndefined();
    expect(
      decideOnFailure({ kind: "rest-error", status: 429, retryAfterSec: Number.NaN }).minDelayMs,
    ).toBeUndefined();
  });

  it("never returns a table row object callers could mutate", () => {
    const d = decideOnFailure({ kind: "close", code: 4001 });
    d.reason = "changed";
    expect(FAILURE_POLICY_TABLE["close:4001"]?.reason).toBe("token_expired_close_4001");
    expect(Object.isFrozen(FAILURE_POLICY_TABLE)).toBe(true);
  });

  it("only stop-session rows alarm among the documented permanent failures", () => {
    for (const [key, rule] of Object.entries(FAILURE_POLICY_TABLE)) {
      if (rule.action === "stop-session") expect(rule.alarm, key).toBe(true);
    }
  });

  it("a 400 (bad request, e.g. the channel limit or too many topics) is retried, but only a bounded number of times", () => {
    const d = decideOnFailure({
      kind: "rest-error",
      status: 400,
      upstreamCode: "notification.channel.limit",
    });
    expect(d).toMatchObject({ action: "reconnect-with-backoff", alarm: true, streak: "bad-request" });
    expect(boundedDecision(d, 4, 5)).toBe(d);
    expect(boundedDecision(d, 5, 5)).toEqual({
      action: "stop-session",
      alarm: true,
      reason: "rest_bad_request_400_x5",
      streak: "bad-request",
    });
    // Other failures carry no streak: their count never stops them.
    const transient = decideOnFailure({ kind: "rest-error", status: 503 });
    expect(transient.streak).toBeUndefined();
    expect(boundedDecision(transient, 100, 5)).toBe(transient);
  });
});
