/**
 * When a slot's next session is built, and when a session it replaced is closed: the planned rotation (token
 * or channel life, staggered with the other slots), an urgent replacement taking its turn, a rebuild after a
 * delay, and the drain of a replaced session. Owns the slot's timers; the supervisor builds.
 */
import type { PolicyDecision } from "../core/close-policy.ts";
import type { RotationStagger } from "../core/rotation-plan.ts";
import type { Session } from "../source/session.ts";
import { delayAfter } from "./failure-handling.ts";
import { planRotation } from "./rotation-reason.ts";
import type { Slot } from "./slot.ts";
import type { SupervisorLog } from "./supervisor-types.ts";

export interface BuildRequest {
  reason: string;
  /** Report this fingerprint as rejected before building (401/4001/1008). */
  refreshFp?: string;
  /** Planned token rotation: a token with this fingerprint is too old, get a newer one. */
  replaceTokenFp?: string;
}

/** SupervisorOptions' timing, defaults applied. */
export interface SlotSchedulerOptions {
  redundancy: number;
  refreshFraction: number;
  rotationJitterMs: number;
  minSessionLifeMs: number;
  drainMs: number;
  maxTurnWaitMs: number;
}

export interface SlotSchedulerDeps {
  /** Shared with the supervisor's builds: one rotation at a time across the slots. */
  stagger: RotationStagger;
  log: SupervisorLog;
  now: () => number;
  random: () => number;
  /** True once the supervisor stops: nothing is scheduled or built any more. */
  stopping: () => boolean;
  build: (slot: Slot, req: BuildRequest) => void;
}

export class SlotScheduler {
  /** Sessions closed at the end of their drain period (an orderly end, not a failure). */
  readonly #drained = new Set<Session>();

  constructor(
    private readonly opts: SlotSchedulerOptions,
    private readonly deps: SlotSchedulerDeps,
  ) {}

  /** The planned rotation of the slot's session `s`, just gone live. */
  scheduleRotation(slot: Slot, s: Session): void {
    clearTimeout(slot.rotationTimer);
    const now = this.deps.now();
    const plan = planRotation(
      {
        liveAtMs: now,
        tokenIssuedAtMs: s.token.issuedAtMs,
        tokenExpiresAtMs: s.token.expiresAtMs,
        channelExpiresAtMs: s.channelExpiresAtMs,
        sessionIndex: slot.index,
        redundancy: this.opts.redundancy,
        refreshFraction: this.opts.refreshFraction,
        jitterMs: this.opts.rotationJitterMs,
        minLifeMs: this.opts.minSessionLifeMs,
        drainMs: this.opts.drainMs,
      },
      this.deps.random,
    );
    const fire = (): void => {
      slot.rotationTimer = undefined;
      if (this.deps.stopping() || slot.stopped || slot.active !== s) return;
      if (slot.busy()) return; // a replacement is already under way
      if (!this.deps.stagger.tryStart(slot.label, false)) {
        // Another slot is rotating: ask again shortly (never both at once).
        slot.rotationTimer = setTimeout(fire, 25);
        return;
      }
      this.deps.stagger.finish(slot.label); // the build registers it again
      this.deps.build(slot, {
        reason: plan.needsNewToken ? "planned_token_rotation" : "planned_channel_rotation",
        replaceTokenFp: plan.needsNewToken ? s.token.fingerprint : undefined,
      });
    };
    slot.rotationTimer = setTimeout(fire, Math.max(0, plan.atMs - now));
  }

  /**
   * The policy says replace the active session `s` now. `takeTurn`: it still delivers (socket_closing), so
   * its replacement waits for the other slots' rotations, within `maxTurnWaitMs`.
   */
  replaceActive(slot: Slot, s: Session, d: PolicyDecision, takeTurn: boolean): void {
    if (this.deps.now() - slot.activeSinceMs >= this.opts.minSessionLifeMs) {
      if (takeTurn) {
        // The session still delivers through its grace period: take turns with the other slots
        // (maintenance announces it to every socket at once), but never wait past the bound.
        this.#rotateInTurn(slot, s, d.reason, this.deps.now() + this.opts.maxTurnWaitMs);
      } else {
        this.deps.build(slot, { reason: d.reason });
      }
      return;
    }
    // Announced its end right after going live: replacing it at once would loop at connect speed
    // against a server that does this to every session. Back off instead (make-before-break still holds).
    slot.backoff.failed();
    this.retryLater(slot, delayAfter(slot, d.retryAfterMs), { reason: d.reason });
  }

  #rotateInTurn(slot: Slot, s: Session, reason: string, waitUntilMs: number): void {
    clearTimeout(slot.rotationTimer);
    slot.rotationTimer = undefined;
    if (this.deps.stopping() || slot.stopped || slot.active !== s || slot.busy()) return;
    if (this.deps.stagger.tryStart(slot.label, false) || this.deps.now() >= waitUntilMs) {
      this.deps.stagger.finish(slot.label); // the build registers it again
      this.deps.build(slot, { reason });
      return;
    }
    slot.rotationTimer = setTimeout(() => this.#rotateInTurn(slot, s, reason, waitUntilMs), 25);
  }

  /**
   * The rebuild after a failure of `s` (not a stop): after the backoff or the upstream's Retry-After, with
   * its token reported as rejected when the policy says refresh.
   */
  rebuildAfter(slot: Slot, s: Session, d: PolicyDecision, reason: string): void {
    if (d.action === "refresh-token-then-reconnect") {
      this.retryLater(slot, delayAfter(slot, d.retryAfterMs), { reason, refreshFp: s.token.fingerprint });
      return;
    }
    this.retryLater(slot, delayAfter(slot, d.retryAfterMs), { reason });
  }

  retryLater(slot: Slot, delayMs: number, req: BuildRequest): void {
    if (this.deps.stopping() || slot.stopped) return;
    clearTimeout(slot.retryTimer);
    this.deps.log.info("session rebuild scheduled", { slot: slot.label, delayMs, reason: req.reason });
    slot.retryTimer = setTimeout(() => {
      slot.retryTimer = undefined;
      this.deps.build(slot, req);
    }, delayMs);
  }

  /** The replaced session keeps delivering (through de-dup) until the drain period ends, then closes. */
  drain(slot: Slot, old: Session): void {
    if (this.opts.drainMs <= 0) {
      this.#drained.add(old);
      old.close();
      return;
    }
    const timer = setTimeout(() => {
      slot.draining.delete(old);
      this.#drained.add(old);
      old.close();
    }, this.opts.drainMs);
    slot.draining.set(old, timer);
  }

  /** `s` closed: its drain timer is done with. True when it was closed at the end of its drain period. */
  closed(slot: Slot, s: Session): boolean {
    const drainTimer = slot.draining.get(s);
    if (drainTimer) {
      clearTimeout(drainTimer);
      slot.draining.delete(s);
    }
    return this.#drained.delete(s);
  }
}
