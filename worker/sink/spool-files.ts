/** File-level helpers of the spool: segment names, line counting, byte ranges. */
import { closeSync, openSync, readSync, statSync } from "node:fs";

export const SEGMENT_RE = /^spool-(\d{16})\.jsonl$/;
export const READ_CHUNK = 64 * 1024;

export function segmentName(seq: number): string {
  return `spool-${String(seq).padStart(16, "0")}.jsonl`;
}

/** The sequence number in a segment file name, or undefined if it is not one. */
export function segmentSeq(name: string): number | undefined {
  const m = SEGMENT_RE.exec(name);
  return m ? Number(m[1]) : undefined;
}

export function countLines(path: string): { size: number; lines: number } {
  const size = statSync(path).size;
  const fd = openSync(path, "r");
  let lines = 0;
  let last = 10;
  try {
    const buf = Buffer.allocUnsafe(READ_CHUNK);
    let offset = 0;
    while (offset < size) {
      const n = readSync(fd, buf, 0, Math.min(READ_CHUNK, size - offset), offset);
      if (n <= 0) break;
      for (let i = 0; i < n; i++) if (buf[i] === 10) lines++;
      last = buf[n - 1]!;
      offset += n;
    }
  } finally {
    closeSync(fd);
  }
  // A torn last line counts as one unread record (it is quarantined when reached).
  return { size, lines: last === 10 ? lines : lines + 1 };
}

export function readRange(path: string, start: number, end: number): Buffer {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.alloc(end - start);
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, start + got);
      if (n <= 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  } finally {
    closeSync(fd);
  }
}
