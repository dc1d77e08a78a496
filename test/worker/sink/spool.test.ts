import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { QUARANTINE_FILE, Spool } from "../../../worker/sink/spool.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dir(): string {
  const d = mkdtempSync(join(tmpdir(), "spool-test-"));
  dirs.push(d);
  return d;
}
const segments = (d: string): string[] => readdirSync(d).filter((f) => f.startsWith("spool-"));

describe("Spool", () => {
  it("reads lines back in append order, across sealed segments", () => {
    const d = dir();
    const s = new Spool(d);
    s.append("a");
    s.append("b");
    s.sealTail();
    s.append("c");
    expect(segments(d)).toHaveLength(2);
    expect(s.unread()).toBe(3);
    const got = s.read(10);
    expect(got.map((l) => l.line)).toEqual(["a", "b", "c"]);
    expect(s.unread()).toBe(0);
  });

  it("keeps a segment until every line read from it is settled, and deletes it then", () => {
    const d = dir();
    const s = new Spool(d);
    for (const l of ["1", "2", "3"]) s.append(l);
    s.sealTail();
    const got = s.read(2);
    expect(got.map((l) => l.line)).toEqual(["1", "2"]);
    s.settle(got[0]!.segment);
    s.settle(got[1]!.segment);
    expect(segments(d)).toHaveLength(1);
    const rest = s.read(5);
    expect(rest.map((l) => l.line)).toEqual(["3"]);
    expect(segments(d)).toHaveLength(1);
    s.settle(rest[0]!.segment);
    expect(segments(d)).toHaveLength(0);
  });

  it("a new Spool on the same directory (crash restart) sees unsettled lines again", () => {
    const d = dir();
    const s = new Spool(d);
    s.append("x");
    s.append("y");
    s.read(1); // handed out, never settled: the process "crashes"
    const again = new Spool(d);
    expect(again.unread()).toBe(2);
    expect(again.read(5).map((l) => l.line)).toEqual(["x", "y"]);
  });

  it("persistHead writes undelivered lines first, then the unread rest; delivered lines are not resent", () => {
    const d = dir();
    const s = new Spool(d);
    for (const l of ["1", "2", "3", "4"]) s.append(l);
    s.sealTail();
    s.append("5");
    const got = s.read(2); // "1" delivered, "2" still in memory
    s.settle(got[0]!.segment);
    s.persistHead(["m", "2"]);
    s.close();
    const next = new Spool(d);
    expect(next.read(100).map((l) => l.line)).toEqual(["m", "2", "3", "4", "5"]);
  });

  it("quarantines a torn last line instead of losing or mis-reading it", () => {
    const d = dir();
    writeFileSync(join(d, "spool-0001000000000000.jsonl"), 'one\ntwo\n{"torn');
    const s = new Spool(d);
    expect(s.unread()).toBe(3);
    expect(s.read(10).map((l) => l.line)).toEqual(["one", "two"]);
    expect(s.unread()).toBe(0);
    expect(s.quarantined()).toBe(1);
    expect(readFileSync(join(d, QUARANTINE_FILE), "utf8")).toBe('{"torn\n');
  });

  it("reads lines longer than its read chunk and multi-byte text intact", () => {
    const d = dir();
    const s = new Spool(d);
    const long = `é${"z".repeat(3 * 1024 * 1024)}é`;
    s.append("before");
    s.append(long);
    s.append("after");
    expect(s.read(10).map((l) => l.line)).toEqual(["before", long, "after"]);
  });

  it("hands out the same lines in the same order however few are asked for at a time", () => {
    const d = dir();
    const s = new Spool(d);
    let seed = 7;
    const rand = (n: number): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    // Lines of very different lengths, some longer than the read-ahead chunk, appended between reads.
    const lines = Array.from(
      { length: 600 },
      (_, i) => `${i}:${"y".repeat(i % 97 === 0 ? 70_000 + i : rand(300))}`,
    );
    const got: string[] = [];
    let next = 0;
    while (got.length < lines.length) {
      for (let k = rand(25); k > 0 && next < lines.length; k--) s.append(lines[next++]!);
      if (next % 5 === 0) s.sealTail();
      for (const { line, segment } of s.read(1 + rand(7))) {
        got.push(line);
        s.settle(segment);
      }
      if (next === lines.length && s.unread() === 0) break;
    }
    expect(got).toEqual(lines);
    expect(s.unread()).toBe(0);
    s.sealTail();
    expect(segments(d)).toHaveLength(0);
  });

  it("a line appended to the segment being read is read after what was read ahead", () => {
    const d = dir();
    const s = new Spool(d);
    for (let i = 0; i < 100; i++) s.append(`a${i}`);
    expect(s.read(1).map((l) => l.line)).toEqual(["a0"]); // the rest is now read ahead
    s.append("late");
    const rest = s.read(1_000).map((l) => l.line);
    expect(rest).toEqual([...Array.from({ length: 99 }, (_, i) => `a${i + 1}`), "late"]);
  });

  it("persistHead after a partial read keeps exactly the lines not handed out", () => {
    const d = dir();
    const s = new Spool(d);
    for (let i = 0; i < 50; i++) s.append(`l${i}`);
    const got = s.read(3); // l0..l2 handed out, the rest read ahead but not handed out
    for (const g of got) s.settle(g.segment);
    s.persistHead(["undelivered"]);
    s.close();
    const next = new Spool(d);
    expect(next.read(100).map((l) => l.line)).toEqual([
      "undelivered",
      ...Array.from({ length: 47 }, (_, i) => `l${i + 3}`),
    ]);
  });

  it("removes an unfinished persistHead temp file and empty segments at start", () => {
    const d = dir();
    writeFileSync(join(d, "spool-0000999999999999.jsonl.tmp"), "partial\n");
    writeFileSync(join(d, "spool-0001000000000000.jsonl"), "");
    writeFileSync(join(d, "spool-0001000000000001.jsonl"), "kept\n");
    const s = new Spool(d);
    expect(readdirSync(d).sort()).toEqual(["spool-0001000000000001.jsonl"]);
    expect(s.read(5).map((l) => l.line)).toEqual(["kept"]);
  });

  it("remembers an inserted segment deleted because it was delivered, not one rewritten by persistHead", () => {
    const s = new Spool(dir());
    const [delivered, rewritten, empty] = s.headSeqs(3);
    s.insertSegment(delivered!, Buffer.from("a\nb\n"));
    s.insertSegment(rewritten!, Buffer.from("c\nd\n"));
    s.insertSegment(empty!, Buffer.alloc(0));
    const got = s.read(3); // across the segment boundary
    expect(got.map((l) => l.line)).toEqual(["a", "b", "c"]);
    expect(s.takeDelivered(delivered!)).toBe(false); // read, not settled yet
    for (const l of got.slice(0, 2)) s.settle(l.segment);
    s.persistHead(["c"]); // "c" not delivered: the partly read segment is rewritten in front
    expect(s.takeDelivered(delivered!)).toBe(true);
    expect(s.takeDelivered(delivered!)).toBe(false); // answered once
    expect(s.takeDelivered(rewritten!)).toBe(false);
    expect(s.takeDelivered(empty!)).toBe(true); // nothing in it to deliver
    expect(s.read(5).map((l) => l.line)).toEqual(["c", "d"]);
  });

  it("refuses a line containing a newline", () => {
    expect(() => new Spool(dir()).append("a\nb")).toThrow();
  });
});
