import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { formatStatusLine, type LiveStatus, startStatusReporter } from "../../../tools/local/status-line.ts";

const status: LiveStatus = {
  elapsedMs: 75_400,
  sessionsLive: 2,
  eventsIn: 2000,
  eventsOut: 1000,
  duplicatesDropped: 1000,
  rotations: 3,
  idpCalls: 4,
  gaps: 0,
  gapMs: 0,
};

describe("formatStatusLine", () => {
  it("shows every live figure on one line", () => {
    expect(formatStatusLine(status)).toBe(
      "01:15 | sessions 2 | in 2000 | out 1000 | dup dropped 1000 | rotations 3 | IdP calls 4 | gaps 0 (0 ms)",
    );
    expect(formatStatusLine({ ...status, consumed: 990 })).toMatch(/ \| consumed 990$/);
    expect(formatStatusLine(status)).not.toContain("\n");
  });
});

describe("startStatusReporter", () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  function capture(isTTY: boolean) {
    const chunks: string[] = [];
    let current = { ...status };
    const reporter = startStatusReporter({
      read: () => current,
      output: { isTTY, write: (chunk) => chunks.push(chunk) },
      ttyIntervalMs: 100,
      logIntervalMs: 1000,
    });
    return {
      chunks,
      reporter,
      set: (next: Partial<LiveStatus>) => {
        current = { ...current, ...next };
      },
    };
  }

  it("on a TTY redraws the same line in place, then ends it with a newline", () => {
    const { chunks, reporter, set } = capture(true);
    vi.advanceTimersByTime(100);
    set({ eventsOut: 1500 });
    vi.advanceTimersByTime(100);
    expect(chunks).toHaveLength(2);
    for (const chunk of chunks) {
      expect(chunk.startsWith("\r\u001b[2K")).toBe(true);
      expect(chunk).not.toContain("\n");
    }
    expect(chunks[1]).toContain("out 1500");
    reporter.log("rotation of session 1");
    expect(chunks.slice(2, 5)).toEqual([
      "\r\u001b[2K",
      "rotation of session 1\n",
      expect.stringContaining("out 1500"),
    ]);
    expect(chunks[4]?.startsWith("\r\u001b[2K")).toBe(true);
    reporter.stop();
    expect(chunks.at(-1)).toBe("\n");
    const count = chunks.length;
    vi.advanceTimersByTime(1000);
    expect(chunks).toHaveLength(count);
  });

  it("without a TTY writes a plain log line per interval, no escape codes", () => {
    const { chunks, reporter } = capture(false);
    vi.advanceTimersByTime(100);
    expect(chunks).toEqual([]);
    vi.advanceTimersByTime(2000);
    expect(chunks).toHaveLength(2);
    reporter.log("hello");
    reporter.stop();
    expect(chunks).toHaveLength(4);
    for (const chunk of chunks) {
      expect(chunk).not.toContain("\u001b");
      expect(chunk.endsWith("\n")).toBe(true);
    }
    expect(chunks[0]).toMatch(/^\[status\] 01:15 \| sessions 2/);
  });
});
