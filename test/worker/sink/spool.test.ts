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

  it("removes an unfinished persistHead temp file and empty segments at start", () => {
    const d = dir();
    writeFileSync(join(d, "spool-0000999999999999.jsonl.tmp"), "partial\n");
    writeFileSync(join(d, "spool-0001000000000000.jsonl"), "");
    writeFileSync(join(d, "spool-0001000000000001.jsonl"), "kept\n");
    const s = new Spool(d);
    expect(readdirSync(d).sort()).toEqual(["spool-0001000000000001.jsonl"]);
    expect(s.read(5).map((l) => l.line)).toEqual(["kept"]);
  });

  it("refuses a line containing a newline", () => {
    expect(() => new Spool(dir()).append("a\nb")).toThrow();
  });
});
