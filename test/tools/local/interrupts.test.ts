import { describe, expect, it } from "vitest";
import { createInterruptHandler } from "../../../tools/local/interrupts.ts";

function harness(sameKeypressMs = 1_500) {
  let clock = 0;
  const calls: string[] = [];
  const handler = createInterruptHandler({
    onStop: () => calls.push("stop"),
    onForce: () => calls.push("force"),
    now: () => clock,
    sameKeypressMs,
  });
  return {
    calls,
    signal(atMs: number) {
      clock = atMs;
      handler();
    },
  };
}

describe("Ctrl-C handling for npm start", () => {
  it("treats the copies of one keypress (terminal group + npm + tsx relays) as one graceful stop", () => {
    const { calls, signal } = harness();
    signal(0);
    signal(5);
    signal(40);
    signal(1_499);
    expect(calls).toEqual(["stop"]);
  });

  it("a separate second Ctrl-C forces the exit, once", () => {
    const { calls, signal } = harness();
    signal(0);
    signal(30);
    signal(2_000);
    signal(2_010);
    signal(9_000);
    expect(calls).toEqual(["stop", "force"]);
  });
});
