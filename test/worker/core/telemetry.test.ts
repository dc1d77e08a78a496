import { afterEach, describe, expect, it, vi } from "vitest";
import { createWorkerTelemetry, MAX_TIMING_SAMPLES } from "../../../worker/telemetry.ts";

function captureStdout(): { lines: () => Array<Record<string, unknown>>; restore: () => void } {
  const chunks: string[] = [];
  const spy = vi.spyOn(process.stdout, "write").mockImplementation((chunk: string | Uint8Array) => {
    chunks.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
    return true;
  });
  return {
    lines: () =>
      chunks
        .join("")
        .split("\n")
        .filter((l) => l.trim().startsWith("{"))
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    restore: () => spy.mockRestore(),
  };
}

let restore: (() => void) | undefined;
afterEach(() => restore?.());

describe("WorkerTelemetry", () => {
  it("publishes summed counters, last gauges and timings as one EMF record per flush", () => {
    const out = captureStdout();
    restore = out.restore;
    const t = createWorkerTelemetry();
    t.count("EventsIn", 3);
    t.count("EventsIn");
    t.count("DuplicatesDropped", 2);
    t.gauge("LiveSessions", 1);
    t.gauge("LiveSessions", 2);
    t.timing("SinkLatencyMs", 12);
    t.timing("SinkLatencyMs", 30);
    t.flush();
    const emf = out.lines().filter((l) => "_aws" in l);
    expect(emf).toHaveLength(1);
    const rec = emf[0]!;
    expect(rec.EventsIn).toBe(4);
    expect(rec.DuplicatesDropped).toBe(2);
    expect(rec.LiveSessions).toBe(2);
    expect(rec.SinkLatencyMs).toEqual([12, 30]);
    expect(rec.SinkLatencyMsMax).toBe(30);
    expect(rec.service).toBe("tokenstream-worker");
    const aws = rec._aws as { CloudWatchMetrics: Array<{ Namespace: string }> };
    expect(aws.CloudWatchMetrics[0]!.Namespace).toBe("tokenstream");
  });

  it("resets counters after a flush, re-publishes gauges, writes nothing when nothing was recorded", () => {
    const out = captureStdout();
    restore = out.restore;
    const t = createWorkerTelemetry();
    t.flush();
    expect(out.lines().filter((l) => "_aws" in l)).toHaveLength(0);
    t.count("Rotations");
    t.gauge("BufferDepth", 7);
    t.flush();
    t.flush();
    const emf = out.lines().filter((l) => "_aws" in l);
    expect(emf).toHaveLength(2);
    expect(emf[0]!.Rotations).toBe(1);
    expect(emf[1]!.Rotations).toBeUndefined();
    expect(emf[1]!.BufferDepth).toBe(7);
  });

  it("keeps a bounded sample of timings but the true maximum", () => {
    const out = captureStdout();
    restore = out.restore;
    const t = createWorkerTelemetry({ random: () => 0.999 });
    for (let i = 0; i < 1000; i++) t.timing("SinkLatencyMs", i);
    t.flush();
    const rec = out.lines().find((l) => "_aws" in l)!;
    expect((rec.SinkLatencyMs as number[]).length).toBe(MAX_TIMING_SAMPLES);
    expect(rec.SinkLatencyMsMax).toBe(999);
  });

  it("flushes on an interval and once more on stop", async () => {
    const out = captureStdout();
    restore = out.restore;
    const t = createWorkerTelemetry();
    t.start(20);
    t.count("Gaps");
    const deadline = Date.now() + 5000;
    while (out.lines().filter((l) => "_aws" in l).length < 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 10));
    }
    t.count("GapMs", 150);
    t.stop();
    const emf = out.lines().filter((l) => "_aws" in l);
    expect(emf[0]!.Gaps).toBe(1);
    expect(emf.at(-1)!.GapMs).toBe(150);
  });
});
