import { randomBytes, randomInt } from "node:crypto";

/** Deterministic PRNG (mulberry32) for the simulator's own choices; unseeded = random seed. */
export class Random {
  private state: number;

  constructor(seed?: number) {
    this.state = (seed ?? randomInt(0, 2 ** 31)) >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  hex(chars: number): string {
    let out = "";
    while (out.length < chars) out += this.int(16).toString(16);
    return out;
  }

  pick<T>(items: readonly T[]): T | undefined {
    return items.length === 0 ? undefined : items[this.int(items.length)];
  }
}

/** Opaque bearer token: always cryptographically random, never derived from the seed. */
export function newAccessToken(): string {
  return randomBytes(32).toString("base64url");
}

/** First 24 characters of a v4-shaped uuid; the ledger appends 12 hex digits of the event index. */
export function correlationPrefix(random: Random): string {
  return `${random.hex(8)}-${random.hex(4)}-4${random.hex(3)}-${"89ab"[random.int(4)]}${random.hex(3)}-`;
}
