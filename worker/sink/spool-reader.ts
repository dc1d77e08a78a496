/**
 * Reads the spool's segments line by line through one read-ahead buffer (one segment is read at a time,
 * oldest first): every byte is read from disk once, however few lines are asked for at a time. A torn last
 * line (only a crash mid-write leaves one) goes to the quarantine file, never silently discarded.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { READ_CHUNK } from "./spool-files.ts";

const EMPTY = Buffer.alloc(0);

export interface SpooledLine {
  line: string;
  segment: number;
}

/** The reading state of a segment, advanced in place by `read`. */
export interface ReadableSegment {
  seq: number;
  path: string;
  /** Bytes consumed by the reader. */
  readOffset: number;
  /** Bytes written (known size). */
  size: number;
  unreadLines: number;
  /** Lines handed out by read() and not yet settled. */
  outstanding: number;
}

/** The segment being read: its file, and bytes read from it past `readOffset` not yet handed out. */
interface OpenSegment {
  seq: number;
  fd: number;
  pending: Buffer;
}

export class SegmentReader {
  #open: OpenSegment | undefined;
  #quarantined = 0;

  constructor(private readonly quarantinePath: string) {}

  /** Lines moved to quarantine since this reader was made. */
  get quarantined(): number {
    return this.#quarantined;
  }

  /**
   * Hands out up to `max` lines of `seg` into `out`, reading the file in READ_CHUNK pieces only as far as
   * needed; bytes read ahead but not handed out stay buffered for the next call. Returns how many of the
   * segment's unread lines it consumed (handed out, empty, or quarantined).
   */
  read(seg: ReadableSegment, max: number, out: SpooledLine[]): number {
    const open = this.#openFor(seg);
    let consumed = 0;
    let handed = 0;
    while (handed < max && seg.readOffset < seg.size) {
      const pending = open.pending;
      const nl = pending.indexOf(10);
      if (nl >= 0) {
        const line = pending.toString("utf8", 0, nl);
        open.pending = pending.subarray(nl + 1);
        seg.readOffset += nl + 1;
        seg.unreadLines--;
        consumed++;
        if (line.length === 0) continue;
        seg.outstanding++;
        out.push({ line, segment: seg.seq });
        handed++;
        continue;
      }
      const from = seg.readOffset + pending.length;
      if (from >= seg.size) {
        // A torn last line without its newline: it can only come from a crash mid-write.
        this.#quarantine(pending);
        open.pending = EMPTY;
        seg.readOffset = seg.size;
        if (seg.unreadLines > 0) {
          seg.unreadLines--;
          consumed++;
        }
        break;
      }
      // A line longer than what is buffered: read at least as much again, so a long line costs O(length).
      const chunk = Buffer.allocUnsafe(Math.min(Math.max(READ_CHUNK, pending.length), seg.size - from));
      const n = readSync(open.fd, chunk, 0, chunk.length, from);
      if (n <= 0) break;
      open.pending =
        pending.length > 0 ? Buffer.concat([pending, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    }
    return consumed;
  }

  /** The segment `seq` is being deleted: close it if it is the one open. */
  release(seq: number): void {
    if (this.#open?.seq === seq) this.close();
  }

  close(): void {
    if (!this.#open) return;
    closeSync(this.#open.fd);
    this.#open = undefined;
  }

  #openFor(seg: ReadableSegment): OpenSegment {
    if (this.#open?.seq === seg.seq) return this.#open;
    this.close();
    this.#open = { seq: seg.seq, fd: openSync(seg.path, "r"), pending: EMPTY };
    return this.#open;
  }

  #quarantine(data: Buffer): void {
    const fd = openSync(this.quarantinePath, "a");
    try {
      writeSync(fd, Buffer.concat([data, Buffer.from("\n")]));
    } finally {
      closeSync(fd);
    }
    this.#quarantined++;
  }
}
