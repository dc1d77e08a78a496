import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { QueuedMessage } from "../../shared/contracts.ts";
import { type LocalRunResult, runLocal } from "../../tools/local/run-local.ts";

const dataDir = mkdtempSync(join(tmpdir(), "tokenstream-e2e-"));

afterAll(() => {
  rmSync(dataDir, { recursive: true, force: true });
});

describe("npm start, programmatically: simulator -> broker -> worker (redundancy 2) -> local SQS -> consumer", () => {
  let result: LocalRunResult;

  it("delivers every published event exactly once through planned rotations, socket_closing and a drop", async () => {
    result = await runLocal({
      durationMs: 7_000,
      redundancy: 2,
      tokenLifetimeSec: 3,
      socketClosingAfterMs: 1_500,
      socketClosingEveryMs: 2_000,
      socketClosingGraceMs: 1_500,
      heartbeatIntervalMs: 500,
      dropAfterMs: 2_500,
      eventRatePerTopic: 40,
      dataDir,
      status: false,
      seed: 42,
    });
    const { summary } = result;
    expect(summary.published).toBeGreaterThan(500);
    expect(summary.delivered).toBe(summary.published);
    expect(summary.lost).toBe(0);
    expect(summary.lostUncovered).toBe(0);
    expect(summary.lostCoveredByGap).toBe(0);
    expect(summary.duplicates).toBe(0);
    expect(result.reconciliation?.unknown).toBe(0);
    // The faults really happened: 3 s tokens rotated, socket_closing sent, one abrupt drop.
    expect(summary.rotations).toBeGreaterThanOrEqual(2);
    expect(summary.idpCalls).toBeGreaterThanOrEqual(2);
    expect(summary.socketClosings).toBeGreaterThanOrEqual(1);
    expect(summary.drops).toBe(1);
    // Redundancy 2 at work: the worker saw (and dropped) second copies, and nothing reached the queue twice.
    expect(summary.duplicatesDropped).toBeGreaterThan(summary.delivered / 2);
    expect(result.drained).toBe(true);
  }, 60_000);

  it("the summary's numbers are what the consumer's JSONL file (the queue's contents) holds", () => {
    const messages = readFileSync(result.jsonlPath, "utf8")
      .split("\n")
      .filter((line) => line !== "")
      .map((line) => JSON.parse(line) as QueuedMessage);
    const events = messages.filter((message) => message.kind === "event");
    const gaps = messages.filter((message) => message.kind === "gap");
    const distinct = new Set(events.map((message) => message.event.metadata?.CorrelationId));
    expect(distinct.has(undefined)).toBe(false);
    expect(distinct.size).toBe(result.summary.delivered);
    expect(events.length - distinct.size).toBe(result.summary.duplicates);
    // ... and what the worker says it handed to SQS, counted on the worker's side.
    expect(result.workerStats.eventsOut).toBe(distinct.size);
    expect(gaps.length).toBe(result.summary.gaps);
    expect(gaps.reduce((sum, gap) => sum + gap.durationMs, 0)).toBe(result.summary.gapMs);
    // Per topic, the generator's sequence numbers arrive complete: 1..n with no hole.
    const byTopic = new Map<string, number[]>();
    for (const message of events) {
      const sequence = (message.event.eventBody as { sequence: number }).sequence;
      byTopic.set(message.event.topicName, [...(byTopic.get(message.event.topicName) ?? []), sequence]);
    }
    expect(byTopic.size).toBe(3);
    for (const sequences of byTopic.values()) {
      sequences.sort((a, b) => a - b);
      expect(sequences).toEqual(sequences.map((_, index) => index + 1));
    }
  });

  it("the broker audited every hand-out to the local identity and every mint", () => {
    expect(result.auditSummary).toMatch(/Hand-outs per principal/);
    expect(result.auditSummary).toContain("arn:aws:iam::000000000000:user/local-developer");
    expect(result.auditSummary).toMatch(
      /Mints per profile\nPROFILE\s+MINTS\s+ROTATIONS\n[- ]+\nlocal\s+[1-9]/,
    );
  });
});
