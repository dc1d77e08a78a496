/**
 * Adopts the durable backlog of tasks that are gone (DESIGN.md section 7). An owner is gone when its
 * coverage-ledger record says it stopped or its heartbeat is stale (without a record: when all its segments
 * are older than the stale limit). One task wins the owner's adoption claim (a lease in the coverage table,
 * renewed per segment; a claimant that dies lets the lease run out and another takes over). Segment by
 * segment, oldest first: download, insert in front of this task's spool (so the orphan's events are sent
 * before anything newer, in their order), store it under this task, then delete the orphan's copy. Memory
 * holds one segment at a time.
 */
import { errorCode } from "../sink/send-errors.ts";
import type { SinkLogger } from "../sink/sink-ports.ts";
import type { Spool } from "../sink/spool.ts";
import type { CounterName } from "../telemetry.ts";
import type { BacklogStore, StoredSegment } from "./backlog-store.ts";

export interface AdoptionClaims {
  claimAdoption(owner: string, claimant: string, nowMs: number, leaseMs: number): Promise<boolean>;
  finishAdoption(owner: string, claimant: string): Promise<void>;
}

/** What the coverage ledger knows about an owner: gone, alive, or alive-but-not-seen-since-we-started. */
export type OwnerState = "gone" | "alive" | "undecided";

export interface BacklogAdopterOptions {
  store: BacklogStore;
  claims: AdoptionClaims;
  ownerState: (owner: string, segments: StoredSegment[]) => OwnerState;
  self: string;
  spool: () => Spool;
  /** The spool changed at its head: the sink reads it next. */
  spoolChanged: () => void;
  /** Stores this task's spool segments now (the adopted ones among them). */
  flushMirror: () => Promise<void>;
  /** The spool segment is stored under this task. */
  isStored: (segment: number) => boolean;
  leaseMs: number;
  log: SinkLogger;
  metrics: { count(name: CounterName, n?: number): void };
  now?: () => number;
}

export interface ScanResult {
  adoptedSegments: number;
  /** Owners with a backlog whose fate is not known yet (worth waiting for before sending anything). */
  undecided: number;
}

/** An adopted segment is neither stored under this task nor delivered yet: the orphan's copy must stay. */
export class AdoptedSegmentNotStored extends Error {
  override name = "AdoptedSegmentNotStored";
  constructor(segment: string) {
    super(`adopted segment ${segment} not stored yet`);
  }
}

export class BacklogAdopter {
  readonly #now: () => number;
  #running: Promise<ScanResult> | undefined;

  constructor(private readonly o: BacklogAdopterOptions) {
    this.#now = o.now ?? Date.now;
  }

  /** One pass over every owner in the store (one at a time). */
  scan(): Promise<ScanResult> {
    this.#running ??= this.#scan().finally(() => {
      this.#running = undefined;
    });
    return this.#running;
  }

  async #scan(): Promise<ScanResult> {
    const result: ScanResult = { adoptedSegments: 0, undecided: 0 };
    for (const owner of await this.o.store.owners()) {
      if (owner === this.o.self) continue;
      const segments = await this.o.store.list(owner);
      if (segments.length === 0) continue;
      const state = this.o.ownerState(owner, segments);
      if (state === "undecided") result.undecided++;
      if (state !== "gone") continue;
      if (!(await this.o.claims.claimAdoption(owner, this.o.self, this.#now(), this.o.leaseMs))) continue;
      result.adoptedSegments += await this.#adopt(owner, segments);
    }
    return result;
  }

  async #adopt(owner: string, segments: StoredSegment[]): Promise<number> {
    this.o.log.warn("adopting the backlog of a task that is gone", {
      code: "backlog_adopt",
      owner,
      segments: segments.length,
    });
    const seqs = this.o.spool().headSeqs(segments.length);
    let adopted = 0;
    for (const [i, seg] of segments.entries()) {
      try {
        const body = await this.o.store.get(owner, seg.name);
        this.o.spool().insertSegment(seqs[i]!, body);
        this.o.spoolChanged();
        await this.o.flushMirror();
        // A running sink may deliver the segment before its upload lands (the upload is then dropped):
        // delivered is as good as stored. Counting only stored re-adopted it at every scan, for ever.
        const delivered = this.o.spool().takeDelivered(seqs[i]!);
        if (!delivered && !this.o.isStored(seqs[i]!)) throw new AdoptedSegmentNotStored(seg.name);
        await this.o.store.delete(owner, seg.name);
        adopted++;
        let lines = 0;
        for (const b of body) if (b === 10) lines++;
        this.o.metrics.count("BacklogAdopted", lines);
      } catch (err) {
        this.o.log.error("backlog adoption interrupted; the claim lapses and the rest is adopted later", {
          code: "backlog_adopt_failed",
          owner,
          error: errorCode(err),
        });
        return adopted;
      }
      if (!(await this.o.claims.claimAdoption(owner, this.o.self, this.#now(), this.o.leaseMs))) {
        this.o.log.warn("lost the adoption claim; another task continues", {
          code: "backlog_adopt_lost",
          owner,
        });
        return adopted;
      }
    }
    await this.o.claims.finishAdoption(owner, this.o.self);
    this.o.log.info("adopted backlog queued", { code: "backlog_adopted", owner, segments: adopted });
    return adopted;
  }
}
