/**
 * CorrelationId models for generated events. Genesys does not document CorrelationId as unique per event:
 * one request can raise several events (on different topics, or on one topic with different bodies) under
 * one id, and generic streams carry none.
 * - `unique` (default): a fresh id per event.
 * - `shared`: one id for `groupSize` consecutive generated events (the generator interleaves topics, so a
 *   group spans topics, and the same topic once the group is larger than the topic count).
 * - `absent`: no CorrelationId at all.
 * - `mixed`: each group is one of the three, at random.
 */
import { correlationPrefix, type Random } from "./random.ts";

export type CorrelationModelName = "unique" | "shared" | "absent" | "mixed";

export const CORRELATION_MODELS: readonly CorrelationModelName[] = ["unique", "shared", "absent", "mixed"];

export class CorrelationModel {
  private current: string | null | undefined;
  private left = 0;

  constructor(
    private model: CorrelationModelName,
    private readonly groupSize: number,
    private readonly random: Random,
  ) {}

  get name(): CorrelationModelName {
    return this.model;
  }

  set(model: CorrelationModelName): void {
    this.model = model;
    this.left = 0;
  }

  /** undefined = let the ledger derive a unique id; null = none; a string = this (shared) id. */
  next(): string | null | undefined {
    if (this.left === 0) this.startGroup();
    this.left--;
    return this.current;
  }

  private startGroup(): void {
    const kind =
      this.model === "mixed" ? (["unique", "shared", "absent"] as const)[this.random.int(3)]! : this.model;
    switch (kind) {
      case "unique":
        this.current = undefined;
        this.left = 1;
        return;
      case "absent":
        this.current = null;
        this.left = this.model === "mixed" ? 1 + this.random.int(this.groupSize) : 1;
        return;
      case "shared":
        this.current = `${correlationPrefix(this.random)}${this.random.hex(12)}`;
        this.left = this.groupSize;
        return;
    }
  }
}
