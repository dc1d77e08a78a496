/**
 * Append-only local spool: JSON lines in segment files `spool-<seq>.jsonl` under one directory.
 *
 * Lines are appended to the newest (tail) segment with a synchronous write (the OS has the bytes as soon as
 * `append` returns: a process crash loses nothing; no fsync per line, so a power loss may). The reader
 * consumes segments oldest first. A line handed out by `read` stays in its segment file until it is
 * `settle`d (delivered or dead-lettered), so a crash between read and delivery re-sends it on the next
 * start instead of losing it. A segment is deleted once it is fully read and all its lines are settled.
 *
 * `persistHead` (clean shutdown) writes the caller's undelivered lines plus the unread rest of any partly
 * read segment into a new segment ordered before all others, so the next start resends nothing already
 * delivered and keeps the order.
 *
 * A line that cannot be a complete record (a torn last line after a crash) is moved to `quarantine.jsonl`,
 * never silently discarded.
 *
 * For the durable backlog (worker/backlog) the spool lists its segments, reports each one it deletes, rolls
 * the tail segment after `maxSegmentLines`, and takes whole segments adopted from another task in front of
 * its own (`headSeqs` + `insertSegment`), so they are read first and keep their order.
 */
import {
  closeSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { countLines, readRange, SEGMENT_RE, segmentName } from "./spool-files.ts";
import { type ReadableSegment, SegmentReader, type SpooledLine } from "./spool-reader.ts";

export { segmentName, segmentSeq } from "./spool-files.ts";
export type { SpooledLine } from "./spool-reader.ts";

const FIRST_SEQ = 1_000_000_000_000;
export const QUARANTINE_FILE = "quarantine.jsonl";

interface Segment extends ReadableSegment {
  /** Earliest receive time of a line in it that exists nowhere else (Infinity: durable elsewhere too). */
  oldestMs: number;
  /** Taken whole from elsewhere (insertSegment): its deletion once delivered is remembered. */
  inserted?: boolean;
}

/** What the durable backlog needs to know about a segment file. */
export interface SegmentInfo {
  seq: number;
  name: string;
  path: string;
  /** No longer appended to. */
  sealed: boolean;
  oldestMs: number;
}

export interface SpoolOptions {
  /** Roll the tail segment after this many lines (default: unbounded). */
  maxSegmentLines?: number;
  /** Roll the tail segment once it holds this many bytes (default: unbounded). */
  maxSegmentBytes?: number;
  /** Called with the file name of every segment deleted (delivered, or rewritten by persistHead). */
  onRemoved?: (name: string) => void;
  now?: () => number;
}

export class Spool {
  readonly dir: string;
  /** Oldest first. */
  readonly #segments: Segment[] = [];
  #writer: { seq: number; fd: number } | undefined;
  readonly #reader: SegmentReader;
  #unread = 0;
  /** Lowest sequence number handed out by headSeqs: new head segments go below it. */
  #floor = Number.POSITIVE_INFINITY;
  /** Inserted segments deleted because every line was settled, until `takeDelivered` asks. */
  readonly #insertedDelivered = new Set<number>();
  /** Highest sequence number used so far: new tail segments go above it. */
  #highSeq = 0;
  readonly #o: SpoolOptions;
  readonly #now: () => number;

  constructor(dir: string, options: SpoolOptions = {}) {
    this.dir = dir;
    this.#o = options;
    this.#now = options.now ?? Date.now;
    mkdirSync(dir, { recursive: true });
    this.#reader = new SegmentReader(join(dir, QUARANTINE_FILE));
    for (const name of readdirSync(dir).sort()) {
      if (name.startsWith("spool-") && name.endsWith(".jsonl.tmp")) {
        // An unfinished persistHead: the segments it copied from are still in place.
        unlinkSync(join(dir, name));
        continue;
      }
      const m = SEGMENT_RE.exec(name);
      if (!m) continue;
      const path = join(dir, name);
      const { size, lines } = countLines(path);
      if (size === 0) {
        unlinkSync(path);
        continue;
      }
      this.#segments.push({
        seq: Number(m[1]),
        path,
        readOffset: 0,
        size,
        unreadLines: lines,
        outstanding: 0,
        oldestMs: statSync(path).mtimeMs,
      });
      this.#unread += lines;
    }
    this.#highSeq = this.#segments.at(-1)?.seq ?? 0;
  }

  /** Segment files, oldest first. */
  segments(): SegmentInfo[] {
    return this.#segments.map((s) => ({
      seq: s.seq,
      name: segmentName(s.seq),
      path: s.path,
      sealed: this.#writer?.seq !== s.seq,
      oldestMs: s.oldestMs,
    }));
  }

  /** Bytes in segment files (read or not, until deleted). */
  bytes(): number {
    let total = 0;
    for (const s of this.#segments) total += s.size;
    return total;
  }

  /** `count` free sequence numbers ordered before every segment, ascending. */
  headSeqs(count: number): number[] {
    const first = Math.min(this.#firstSeq(), this.#floor);
    this.#floor = first - count;
    return Array.from({ length: count }, (_, i) => first - count + i);
  }

  /**
   * Adds a whole segment (JSON lines, each ending in a newline) under `seq`, in order among the others;
   * `oldestMs` as for append (Infinity when the lines are durable elsewhere). Written to a temporary file
   * and renamed, so a crash leaves either the whole segment or none.
   */
  insertSegment(seq: number, data: Buffer, oldestMs = Number.POSITIVE_INFINITY): void {
    if (this.#segments.some((s) => s.seq === seq)) throw new Error(`spool segment ${seq} exists`);
    const body =
      data.length > 0 && data[data.length - 1] !== 10 ? Buffer.concat([data, Buffer.from("\n")]) : data;
    if (body.length === 0) {
      this.#insertedDelivered.add(seq); // nothing in it to deliver
      return;
    }
    const path = this.#pathOf(seq);
    const fd = openSync(`${path}.tmp`, "w");
    try {
      let written = 0;
      while (written < body.length) written += writeSync(fd, body, written);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(`${path}.tmp`, path);
    let lines = 0;
    for (const b of body) if (b === 10) lines++;
    const seg: Segment = {
      seq,
      path,
      readOffset: 0,
      size: body.length,
      unreadLines: lines,
      outstanding: 0,
      oldestMs,
      inserted: true,
    };
    const at = this.#segments.findIndex((s) => s.seq > seq);
    this.#segments.splice(at < 0 ? this.#segments.length : at, 0, seg);
    this.#unread += lines;
  }

  /**
   * True (once) when the segment inserted under `seq` is gone because every line of it was delivered or
   * dead-lettered: it needs no other copy any more. False while it is in the spool, and when it was only
   * rewritten into a new head segment (persistHead).
   */
  takeDelivered(seq: number): boolean {
    return this.#insertedDelivered.delete(seq);
  }

  /** Lines written and not yet read. */
  unread(): number {
    return this.#unread;
  }

  /** Lines moved to quarantine since this process started. */
  quarantined(): number {
    return this.#reader.quarantined;
  }

  /** Appends one record (must not contain a newline). Throws on I/O failure: the caller keeps the record. */
  append(line: string, receivedAtMs = this.#now()): void {
    if (line.includes("\n")) throw new Error("spool line must not contain a newline");
    const tail = this.#writer ? this.#segments[this.#segments.length - 1] : undefined;
    if (
      tail &&
      (tail.unreadLines >= (this.#o.maxSegmentLines ?? Number.POSITIVE_INFINITY) ||
        tail.size >= (this.#o.maxSegmentBytes ?? Number.POSITIVE_INFINITY))
    ) {
      this.sealTail();
    }
    if (!this.#writer) {
      // Never a number used before in this process: a new segment must not take the name of a deleted one
      // whose stored copy may still be on its way out.
      const last = this.#segments.length > 0 ? this.#segments[this.#segments.length - 1]!.seq + 1 : FIRST_SEQ;
      const seq = Math.max(last, this.#highSeq + 1);
      this.#highSeq = seq;
      const path = this.#pathOf(seq);
      const fd = openSync(path, "a");
      this.#writer = { seq, fd };
      this.#segments.push({
        seq,
        path,
        readOffset: 0,
        size: 0,
        unreadLines: 0,
        outstanding: 0,
        oldestMs: receivedAtMs,
      });
    }
    const data = Buffer.from(`${line}\n`, "utf8");
    let written = 0;
    while (written < data.length) written += writeSync(this.#writer.fd, data, written);
    const seg = this.#segments[this.#segments.length - 1]!;
    seg.size += data.length;
    seg.unreadLines++;
    this.#unread++;
  }

  /** Up to `max` lines, oldest first. Each must later be `settle`d with its segment. */
  read(max: number): SpooledLine[] {
    const out: SpooledLine[] = [];
    for (const seg of this.#segments) {
      if (out.length >= max) break;
      if (seg.unreadLines === 0 && seg.readOffset >= seg.size) continue;
      this.#unread -= this.#reader.read(seg, max - out.length, out);
      if (seg.readOffset < seg.size) break;
    }
    this.#collect();
    return out;
  }

  /** A line from `segment` was delivered or dead-lettered. */
  settle(segment: number): void {
    const seg = this.#segments.find((s) => s.seq === segment);
    if (seg && seg.outstanding > 0) seg.outstanding--;
    this.#collect();
  }

  /** Ends the current tail segment: the next append starts a new one (used when the reader has caught up). */
  sealTail(): void {
    if (!this.#writer) return;
    closeSync(this.#writer.fd);
    this.#writer = undefined;
    this.#collect();
  }

  /**
   * Clean shutdown: `undelivered` (in order, including lines earlier handed out by read) is written to a new
   * first segment followed by the unread rest of every partly read segment; the partly read segments are
   * then deleted. Segments never touched by the reader stay as they are, after the new one.
   */
  persistHead(undelivered: readonly string[], oldestMs = this.#now()): void {
    this.sealTail();
    this.#reader.close();
    const touched = this.#segments.filter((s) => s.readOffset > 0 || s.outstanding > 0);
    if (undelivered.length === 0 && touched.length === 0) return;
    const firstSeq = Math.min(this.#firstSeq(), this.#floor) - 1;
    this.#floor = firstSeq;
    const finalPath = this.#pathOf(firstSeq);
    const tmpPath = `${finalPath}.tmp`;
    const fd = openSync(tmpPath, "w");
    let lines = 0;
    let size = 0;
    const write = (data: Buffer): void => {
      let written = 0;
      while (written < data.length) written += writeSync(fd, data, written);
      size += data.length;
    };
    try {
      if (undelivered.length > 0) {
        write(Buffer.from(`${undelivered.join("\n")}\n`, "utf8"));
        lines += undelivered.length;
      }
      for (const seg of touched) {
        if (seg.readOffset >= seg.size) continue;
        const tail = readRange(seg.path, seg.readOffset, seg.size);
        write(tail);
        lines += seg.unreadLines;
      }
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(tmpPath, finalPath);
    let oldest = oldestMs;
    for (const seg of touched) {
      unlinkSync(seg.path);
      this.#o.onRemoved?.(segmentName(seg.seq));
      this.#unread -= seg.unreadLines;
      oldest = Math.min(oldest, seg.oldestMs);
    }
    const kept = this.#segments.filter((s) => !touched.includes(s));
    this.#segments.length = 0;
    if (size > 0) {
      this.#segments.push({
        seq: firstSeq,
        path: finalPath,
        readOffset: 0,
        size,
        unreadLines: lines,
        outstanding: 0,
        oldestMs: oldest,
      });
      this.#unread += lines;
    } else {
      unlinkSync(finalPath);
    }
    this.#segments.push(...kept);
  }

  close(): void {
    this.sealTail();
    this.#reader.close();
  }

  /** Deletes segments that are fully read, fully settled and not being written. */
  #collect(): void {
    for (let i = 0; i < this.#segments.length; ) {
      const seg = this.#segments[i]!;
      const writing = this.#writer?.seq === seg.seq;
      if (!writing && seg.readOffset >= seg.size && seg.outstanding === 0) {
        this.#reader.release(seg.seq);
        try {
          unlinkSync(seg.path);
        } catch {
          // Already gone: nothing to keep.
        }
        this.#segments.splice(i, 1);
        if (seg.inserted) this.#insertedDelivered.add(seg.seq);
        this.#o.onRemoved?.(segmentName(seg.seq));
      } else {
        i++;
      }
    }
  }

  #firstSeq(): number {
    return this.#segments.length > 0 ? this.#segments[0]!.seq : FIRST_SEQ;
  }

  #pathOf(seq: number): string {
    return join(this.dir, segmentName(seq));
  }
}
