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
 * So within a group, entries are handed to SQS in submission order and an unsettled entry is always ahead of
 * everything after it. A group released with a not-before time (its batch was throttled) waits, untouched,
 * until then; only that group waits, the others keep being batched. Many groups are in flight at once, and one batch draws from as many ready groups as
 * fit (up to `maxEntries`), so a task with many quiet topics still sends full batches.
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
  /** Not taken before this time (a throttled group backing off); undefined: no wait. */
  notBeforeMs?: number;
}

export class GroupScheduler<T> {
  readonly #groups = new Map<string, Group<T>>();
  /** Groups with entries and nothing in flight, in the order they became ready (round robin). */
  readonly #ready = new Set<string>();
  /** Groups with entries and nothing in flight that wait for their not-before time. */
  readonly #waiting = new Set<string>();
  #busyGroups = 0;

  constructor(private readonly traits: EntryTraits<T>) {}

  add(entry: T): void {
    const key = this.traits.group(entry);
    let group = this.#groups.get(key);
    if (!group) {
      group = { key, entries: [], busy: false };
      this.#groups.set(key, group);
    }
    group.entries.push(entry);
    if (!group.busy && group.notBeforeMs === undefined) this.#ready.add(key);
  }

  /** Removes a settled entry; false if it is not held. */
  remove(entry: T): boolean {
    const group = this.#groups.get(this.traits.group(entry));
    const i = group ? group.entries.indexOf(entry) : -1;
    if (!group || i < 0) return false;
    group.entries.splice(i, 1);
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
      let taken = 0;
      for (const e of group.entries) {
        if (t.detour(e) || batch.length >= limits.maxEntries || bytes + t.bytes(e) > limits.maxBytes) break;
        if (t.solo(e) && batch.length > 0) break;
        batch.push(e);
        bytes += t.bytes(e);
        taken++;
        if (t.solo(e)) break;
      }
      if (taken > 0) this.#markBusy(group);
      if (batch.length > 0 && t.solo(batch[batch.length - 1]!)) break;
    }
    return batch;
  }

  /**
   * The groups of a finished batch (or detour) take part again, their unsettled entries still at the head;
   * those listed in `wait` only from the given time on.
   */
  release(entries: readonly T[], wait?: { groups: ReadonlySet<string>; untilMs: number }): void {
    for (const key of new Set(entries.map((e) => this.traits.group(e)))) {
      const group = this.#groups.get(key);
      if (group) this.settle(group, wait?.groups.has(key) ? wait.untilMs : undefined);
    }
  }

  settle(group: Group<T>, notBeforeMs?: number): void {
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

  #drop(group: Group<T>): void {
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
