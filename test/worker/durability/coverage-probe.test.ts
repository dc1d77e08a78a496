import { describe, expect, it } from "vitest";
import { CoverageProbe } from "../../../worker/coverage/coverage-probe.ts";
import { type Session, SessionEmitter, type SessionEvents } from "../../../worker/source/session.ts";
import type { WorkerToken } from "../../../worker/token/token-source.ts";

/** A session driven by hand, with a settable last-frame time. */
class HandSession implements Session {
  readonly emitter = new SessionEmitter();
  channelExpiresAtMs = undefined;
  lastFrameAtMs = 0;
  isLive = false;
  constructor(
    readonly id: string,
    readonly token: WorkerToken,
  ) {}
  on<E extends keyof SessionEvents>(event: E, listener: SessionEvents[E]): void {
    this.emitter.on(event, listener);
  }
  start(): void {}
  close(): void {}
}

const token = {
  accessToken: "t",
  fingerprint: "f",
  issuedAtMs: 0,
  expiresAtMs: 1e12,
} as unknown as WorkerToken;

describe("CoverageProbe (fake clock)", () => {
  it("covers from the first session live to the last frame of the last live session", () => {
    let now = 1_000;
    const sessions: HandSession[] = [];
    const probe = new CoverageProbe(
      {
        create: (_t, label) => {
          const s = new HandSession(label, token);
          sessions.push(s);
          return s;
        },
      },
      () => now,
    );
    let changes = 0;
    probe.onChange(() => changes++);
    const a = probe.create(token, "a") as HandSession;
    const b = probe.create(token, "b") as HandSession;
    expect(probe.coveredThroughMs()).toBeUndefined();
    a.emitter.emit("live");
    expect(probe.liveSinceMs()).toBe(1_000);
    now = 2_000;
    b.emitter.emit("live");
    a.lastFrameAtMs = 2_500;
    b.lastFrameAtMs = 2_400;
    now = 3_000;
    expect(probe.coveredThroughMs()).toBe(2_500);
    // The watchdog found a silent: it stopped covering at its last frame, b still covers.
    a.emitter.emit("failure", { kind: "watchdog" });
    expect(probe.coveredThroughMs()).toBe(2_400);
    b.lastFrameAtMs = 2_900;
    b.emitter.emit("closed");
    expect(probe.coveredThroughMs()).toBeUndefined();
    expect(probe.liveSinceMs()).toBeUndefined();
    expect(probe.lastCoveredMs()).toBe(2_900);
    expect(changes).toBe(2); // coverage began, coverage ended
    now = 4_000;
    a.emitter.emit("closed"); // already counted down: no change
    expect(changes).toBe(2);
  });
});
