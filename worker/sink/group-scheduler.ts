/**
 * Which entries go into the next SendMessageBatch, keeping SQS FIFO order per message group.
 *
 * Rules (the order argument rests on them alone):
 * 1. Each group is a queue of its entries in submission order; entries are only appended (`add`), removed
 *    once settled (`remove`: delivered or dead-lettered) or replaced in place (`replace`: a pointer for an
 *    offloaded event).
 * 2. A group is in at most one batch at a time (or one detour, e.g. an S3 offload): while it is busy none of
 *    its entries is taken, so a retry can never be overtaken by a later entry of its group sent separately.
 * 3. A batch takes a prefix of each group it draws from (oldest first, stopping at the first entry that does
 *    not fit), and SQS FIFO enqueues a batch's entries in the order they are listed.
 * 4. A group's next batch may be staged while its batch is in flight (`takeStaged`): the entries right after
 *    the ones in flight, prepared (serialised, signed) but held before the request is written. When the batch
 *    in flight is finished (`release`), the staged batch is promoted (written) only if every entry of the
 *    group in flight has left (delivered or dead-lettered) and the group is not told to wait; otherwise it is
 *    cancelled unwritten and the group takes part again with its unsettled entries at the head. So a group
 *    still has at most one request on the wire, and its staged entries reach SQS only after all before them.
 * So within a group, entries are handed to SQS in submission order and an unsettled entry is always ahead of
 * everything after it. A group released with a not-before time (its batch was throttled) waits, untouched,
 * until then; only that group waits, the others keep being batched. Many groups are in flight at once, and
 * one batch draws from as many ready groups as fit (up to `maxEntries`), so a task with many quiet topics
 * still sends full batches.
 *
 * Pure: no I/O, no timers.
 */

export interface BatchLimits {
  /** Entries per batch (SQS: 10). */
  maxEntries: number;
  /** Bytes per batch (SQS: the queue's maximum message size). */
  maxBytes: number;
}

export interface EntryTraits<T> {
  group(entry: T): string;
  bytes(entry: T): number;
  /** Must travel alone (after a whole batch was refused). */
  solo(entry: T): boolean;
  /** Must leave through a detour instead of a batch (too large for SQS). */
  detour(entry: T): boolean;
}

export interface Group<T> {
  readonly key: string;
  readonly entries: T[];
  busy: boolean;
  /** Entries at the head in the batch in flight (0: none, or a detour). */
  taken: number;
  /** Entries after those in flight in a staged batch (0: none staged). */
  staged: number;
  /** First entry of the staged batch. */
  stagedHead?: T;
  /** Not taken before this time (a throttled group backing off); undefined: no wait. */
  notBeforeMs?: number;
}

export class GroupScheduler<T> {
  readonly #groups = new Map<string, Group<T>>();
  /** Groups with entries and nothing in flight, in the order they became ready (round robin). */
  readonly #ready = new Set<string>();
  /** Groups with entries and nothing in flight that wait for their not-before time. */
  readonly #waiting = new Set<string>();
  /** Groups with a batch in flight, nothing staged and entries after the ones in flight. */
  readonly #stageable = new Set<string>();
  #busyGroups = 0;

  constructor(private readonly traits: EntryTraits<T>) {}

  add(entry: T): void {
    const key = this.traits.group(entry);
    let group = this.#groups.get(key);
    if (!group) {
      group = { key, entries: [], busy: false, taken: 0, staged: 0 };
      this.#groups.set(key, group);
    }
    group.entries.push(entry);
    if (!group.busy && group.notBeforeMs === undefined) this.#ready.add(key);
    this.#updateStageable(group);
  }

  /** Removes a settled entry; false if it is not held. */
  remove(entry: T): boolean {
    const group = this.#groups.get(this.traits.group(entry));
    const i = group ? group.entries.indexOf(entry) : -1;
    if (!group || i < 0) return false;
    // Settled entries leave from the head: shift() is O(1) on a long array where splice moves it all.
    if (i === 0) group.entries.shift();
    else group.entries.splice(i, 1);
    if (!group.busy && group.entries.length === 0) this.#drop(group);
    return true;
  }

  /** Puts `replacement` where `original` was, in the same group; false if `original` is not held. */
  replace(original: T, replacement: T): boolean {
    const group = this.#groups.get(this.traits.group(original));
    const i = group ? group.entries.indexOf(original) : -1;
    if (!group || i < 0) return false;
    group.entries[i] = replacement;
    return true;
  }

  group(key: string): Group<T> | undefined {
    return this.#groups.get(key);
  }

  groups(): IterableIterator<Group<T>> {
    return this.#groups.values();
  }

  /** Groups with a batch or detour in flight. */
  busyGroups(): number {
    return this.#busyGroups;
  }

  /** Some group could contribute to a batch (or a detour) now. */
  hasReady(): boolean {
    return this.#ready.size > 0;
  }

  /** Earliest not-before time of a waiting group (undefined: none waits). */
  nextWakeMs(): number | undefined {
    let next: number | undefined;
    for (const key of this.#waiting) {
      const at = this.#groups.get(key)?.notBeforeMs;
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    return next;
  }

  /**
   * The next batch (its groups marked busy), from groups ready at `nowMs`. A ready group whose head must take
   * a detour is marked busy and handed to `onDetour` instead; call `release` for it once the detour is over.
   */
  takeBatch(
    limits: BatchLimits,
    onDetour: (group: Group<T>, head: T) => void,
    nowMs = Number.POSITIVE_INFINITY,
  ): T[] {
    this.#wake(nowMs);
    const batch: T[] = [];
    let bytes = 0;
    const t = this.traits;
    for (const key of this.#ready) {
      if (batch.length >= limits.maxEntries) break;
      const group = this.#groups.get(key)!;
      const head = group.entries[0];
      if (head === undefined) {
        this.#ready.delete(key);
        continue;
      }
      if (t.detour(head)) {
        this.#markBusy(group);
        onDetour(group, head);
        continue;
      }
      if (t.solo(head) && batch.length > 0) continue;
      const before = batch.length;
      bytes = this.#appendPrefix(group, 0, batch, bytes, limits);
      const taken = batch.length - before;
      if (taken > 0) {
        this.#markBusy(group);
        group.taken = taken;
        this.#updateStageable(group);
      }
      if (batch.length > 0 && t.solo(batch[batch.length - 1]!)) break;
    }
    return batch;
  }

  /**
   * The next batch of one group whose batch is in flight: its entries right after those in flight, staged to
   * be written once that batch is finished (see `release`). Empty when no group has such entries.
   */
  takeStaged(limits: BatchLimits): T[] {
    for (const key of this.#stageable) {
      this.#stageable.delete(key);
      const group = this.#groups.get(key)!;
      const batch: T[] = [];
      this.#appendPrefix(group, group.taken, batch, 0, limits);
      if (batch.length === 0) continue;
      group.staged = batch.length;
      group.stagedHead = batch[0];
      return batch;
    }
    return [];
  }

  /**
   * The groups of a finished batch (or detour) take part again, their unsettled entries still at the head;
   * those listed in `wait` only from the given time on. A group's staged batch is promoted (now in flight)
   * when all the group's entries in the finished batch have left, it need not wait and `mayPromote()` agrees;
   * otherwise it is cancelled. Returns the groups of both kinds, so their staged requests are written or
   * dropped.
   */
  release(
    entries: readonly T[],
    wait?: { groups: ReadonlySet<string>; untilMs: number },
    mayPromote: () => boolean = () => false,
  ): { promoted: string[]; cancelled: string[] } {
    const promoted: string[] = [];
    const cancelled: string[] = [];
    for (const key of new Set(entries.map((e) => this.traits.group(e)))) {
      const group = this.#groups.get(key);
      if (!group) continue;
      const mustWait = wait?.groups.has(key) ?? false;
      if (group.staged > 0) {
        // The staged entries follow those in flight: their first is the head once all of those have left.
        const inFlightLeft = group.entries[0] === group.stagedHead;
        if (inFlightLeft && !mustWait && mayPromote()) {
          group.taken = group.staged;
          group.staged = 0;
          group.stagedHead = undefined;
          this.#updateStageable(group);
          promoted.push(key);
          continue;
        }
        cancelled.push(key);
      }
      this.settle(group, mustWait ? wait!.untilMs : undefined);
    }
    return { promoted, cancelled };
  }

  settle(group: Group<T>, notBeforeMs?: number): void {
    group.taken = 0;
    group.staged = 0;
    group.stagedHead = undefined;
    this.#stageable.delete(group.key);
    if (group.busy) {
      group.busy = false;
      this.#busyGroups--;
    }
    if (group.entries.length === 0) {
      this.#drop(group);
      return;
    }
    if (notBeforeMs !== undefined) {
      group.notBeforeMs = notBeforeMs;
      this.#ready.delete(group.key);
      this.#waiting.add(group.key);
    } else if (group.notBeforeMs === undefined) {
      this.#ready.add(group.key);
    }
  }

  /** Removes and returns the entries of groups with nothing in flight (to persist them). */
  takeIdle(): T[] {
    const out: T[] = [];
    for (const group of [...this.#groups.values()]) {
      if (group.busy) continue;
      out.push(...group.entries);
      this.#drop(group);
    }
    return out;
  }

  /** Removes and returns every entry. */
  takeAll(): T[] {
    const all = [...this.#groups.values()].flatMap((g) => g.entries);
    this.#groups.clear();
    this.#ready.clear();
    this.#waiting.clear();
    this.#stageable.clear();
    this.#busyGroups = 0;
    return all;
  }

  #markBusy(group: Group<T>): void {
    this.#ready.delete(group.key);
    if (!group.busy) {
      group.busy = true;
      this.#busyGroups++;
    }
  }

  /**
   * Appends to `batch` the group's entries from index `from` on that fit beside its `bytes` (rule 3: a
   * prefix, stopping at the first entry that does not fit, takes a detour or must go alone); returns the
   * batch's bytes.
   */
  #appendPrefix(group: Group<T>, from: number, batch: T[], bytes: number, limits: BatchLimits): number {
    const t = this.traits;
    for (let i = from; i < group.entries.length; i++) {
      const e = group.entries[i]!;
      if (t.detour(e) || batch.length >= limits.maxEntries || bytes + t.bytes(e) > limits.maxBytes) break;
      if (t.solo(e) && batch.length > 0) break;
      batch.push(e);
      bytes += t.bytes(e);
      if (t.solo(e)) break;
    }
    return bytes;
  }

  #updateStageable(group: Group<T>): void {
    if (group.taken > 0 && group.staged === 0 && group.entries.length > group.taken) {
      this.#stageable.add(group.key);
    }
  }

  #drop(group: Group<T>): void {
    this.#stageable.delete(group.key);
    this.#groups.delete(group.key);
    this.#ready.delete(group.key);
    this.#waiting.delete(group.key);
  }

  /** Waiting groups whose time has come become ready (behind those already ready). */
  #wake(nowMs: number): void {
    for (const key of this.#waiting) {
      const group = this.#groups.get(key);
      if (!group || group.notBeforeMs === undefined || group.notBeforeMs <= nowMs) {
        this.#waiting.delete(key);
        if (group) {
          group.notBeforeMs = undefined;
          if (!group.busy && group.entries.length > 0) this.#ready.add(key);
        }
      }
    }
  }
}
