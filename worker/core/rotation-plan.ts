/**
 * When each redundant session starts its make-before-break rotation.
 *
 * The usable life of a session is [start, end) with start = max(issuedAtMs, notBeforeMs) and
 * end = min(expiresAtMs, channelExpiresAtMs). The refresh point is start + refreshFraction * life; the
 * remaining headroom (1 - refreshFraction) * life is cut into `redundancy` slots and session i rotates
 * i slots BEFORE the refresh point. Sessions that share one broker token (the normal case) therefore
 * rotate one slot apart, the last one still with a full slot of headroom before expiry, whatever the
 * token lifetime. Jitter only moves a rotation earlier and by less than half a slot, so it can never
 * make two sessions meet.
 */

export interface RotationPlanInput {
  issuedAtMs: number;
  expiresAtMs: number;
  channelExpiresAtMs?: number;
  /** Fraction of the usable life after which the rotation starts; default 0.75. */
  refreshFraction?: number;
  sessionIndex: number;
  redundancy: number;
  /** Upper bound of random jitter (moves the rotation earlier); capped at half a slot. */
  jitterMs?: number;
  /** Never plan before this (e.g. the time the session went live, for a token handed out late in its life). */
  notBeforeMs?: number;
}

export function planRotationAt(input: RotationPlanInput, random: () => number = Math.random): number {
  const fraction = input.refreshFraction ?? 0.75;
  if (!(fraction > 0 && fraction < 1))
    throw new RangeError(`refreshFraction must be in (0, 1), got ${fraction}`);
  const redundancy = Math.max(1, Math.floor(input.redundancy));
  const index = Math.min(Math.max(0, Math.floor(input.sessionIndex)), redundancy - 1);
  const start = Math.max(input.issuedAtMs, input.notBeforeMs ?? Number.NEGATIVE_INFINITY);
  const end = Math.min(input.expiresAtMs, input.channelExpiresAtMs ?? Number.POSITIVE_INFINITY);
  const life = Math.max(0, end - start);
  const slot = ((1 - fraction) * life) / redundancy;
  const refreshAt = start + fraction * life;
  const jitterBound = Math.min(Math.max(0, input.jitterMs ?? 0), slot / 2);
  const r = Math.min(Math.max(random(), 0), 1);
  // Session i rotates i slots before the refresh point; jitter stays strictly below half a slot.
  return Math.floor(refreshAt - index * slot - (jitterBound > 0 ? r * jitterBound * 0.999 : 0));
}

/**
 * Runtime stagger for the supervisor: planned rotations (token/channel refresh point) start only when no
 * other rotation is in flight and at least `minSpacingMs` after the previous one started. Urgent
 * replacements (socket_closing, dead channel, watchdog) never wait: the session is already ending.
 */
export function canRotateNow(otherRotationsInFlight: number, urgent = false): boolean {
  return urgent || otherRotationsInFlight <= 0;
}

export class RotationStagger {
  readonly #inFlight = new Set<string>();
  #lastStartMs = Number.NEGATIVE_INFINITY;

  constructor(
    private readonly opts: { minSpacingMs?: number } = {},
    private readonly now: () => number = Date.now,
  ) {}

  /** Try to start a rotation of `sessionId`; false means "not now, ask again later". */
  tryStart(sessionId: string, urgent = false): boolean {
    if (this.#inFlight.has(sessionId)) return false;
    const others = this.#inFlight.size;
    const spaced = this.now() - this.#lastStartMs >= (this.opts.minSpacingMs ?? 0);
    if (!urgent && (!canRotateNow(others) || !spaced)) return false;
    this.#inFlight.add(sessionId);
    this.#lastStartMs = this.now();
    return true;
  }

  /** The rotation of `sessionId` finished (new session live, old one closed) or was abandoned. */
  finish(sessionId: string): void {
    this.#inFlight.delete(sessionId);
  }

  inFlight(): number {
    return this.#inFlight.size;
  }

  /** Ms until a non-urgent rotation may start (0 if it may start now and none is in flight). */
  waitMs(): number {
    if (this.#inFlight.size > 0) return Number.POSITIVE_INFINITY;
    return Math.max(0, this.#lastStartMs + (this.opts.minSpacingMs ?? 0) - this.now());
  }
}
