/**
 * Keeps `redundancy` sessions live (DESIGN.md section 4). Each slot holds at most one active session and
 * one candidate being built; a candidate that goes live replaces the active one (make-before-break), and
 * the replaced one keeps delivering for `drainMs` (subscription propagation and channel lag) before it is
 * closed. Failures go through the pure policy table and full-jitter backoff; planned rotations are
 * staggered. Every envelope -> EventDeduper -> message -> EventSink.submit; a session the deduper finds
 * silent (missing what its peers deliver) is replaced and its coverage withdrawn back to its last event;
 * coverage gaps -> gap messages.
 */
import type { NotificationEnvelope } from "../../shared/contracts.ts";
import { FullJitterBackoff } from "../core/backoff.ts";
import type { PolicyDecision, SessionFailure } from "../core/close-policy.ts";
import { EventDeduper, type ReleasedArrival } from "../core/dedupe.ts";
import { eventMessage } from "../core/message.ts";
import { RotationStagger } from "../core/rotation-plan.ts";
import type { MalformedCode } from "../source/frame.ts";
import { MAX_TOPICS_PER_CHANNEL } from "../source/genesys-limits.ts";
import type { Session } from "../source/session.ts";
import type { WorkerToken } from "../token/token-source.ts";
import { CoverageRecorder } from "./coverage-recorder.ts";
import type { FailureDetail } from "./failure-detail.ts";
import { FailureHandling } from "./failure-handling.ts";
import { Slot } from "./slot.ts";
import { SlotFailures } from "./slot-failures.ts";
import { type BuildRequest, SlotScheduler } from "./slot-scheduler.ts";
import { emptyStats, type WorkerStats } from "./stats.ts";
import type {
  SupervisorDeps,
  SupervisorLog,
  SupervisorMetrics,
  SupervisorOptions,
} from "./supervisor-types.ts";

export type { SupervisorDeps, SupervisorLog, SupervisorMetrics, SupervisorOptions };

const noopMetrics: SupervisorMetrics = { count() {}, gauge() {} };

export class Supervisor {
  readonly #slots: Slot[];
  readonly #deduper: EventDeduper;
  #dedupeTimer: NodeJS.Timeout | undefined;
  readonly #coverage: CoverageRecorder;
  readonly #stagger: RotationStagger;
  readonly #stats = emptyStats();
  readonly #metrics: SupervisorMetrics;
  readonly #now: () => number;
  readonly #random: () => number;
  readonly #failures: FailureHandling;
  readonly #schedule: SlotScheduler;
  #running = false;
  #stopping = false;

  constructor(
    opts: SupervisorOptions,
    private readonly deps: SupervisorDeps,
  ) {
    if (!(opts.redundancy >= 1)) throw new RangeError("redundancy must be >= 1");
    this.#now = deps.now ?? Date.now;
    this.#random = deps.random ?? Math.random;
    this.#metrics = deps.metrics ?? noopMetrics;
    this.#deduper = new EventDeduper({
      lagBoundMs: opts.lagBoundMs,
      propagationMs: opts.propagationMs,
      missThreshold: opts.silentMissThreshold,
      instanceId: opts.instanceId ?? globalThis.crypto.randomUUID().slice(0, 13),
    });
    this.#coverage = new CoverageRecorder(opts.topics, {
      sink: deps.sink,
      log: deps.log,
      metrics: this.#metrics,
      stats: this.#stats,
      now: this.#now,
    });
    this.#stagger = new RotationStagger({}, this.#now);
    this.#slots = Array.from(
      { length: Math.floor(opts.redundancy) },
      (_, i) =>
        new Slot(
          i,
          new FullJitterBackoff(opts.backoff, this.#random, this.#now),
          new SlotFailures(opts.failures ?? {}, this.#random, this.#now),
        ),
    );
    this.#failures = new FailureHandling({
      log: deps.log,
      metrics: this.#metrics,
      stats: this.#stats,
      channelsPerSession:
        opts.channelsPerSession ?? Math.max(1, Math.ceil(new Set(opts.topics).size / MAX_TOPICS_PER_CHANNEL)),
    });
    this.#schedule = new SlotScheduler(
      {
        redundancy: this.#slots.length,
        refreshFraction: opts.refreshFraction ?? 0.75,
        rotationJitterMs: opts.rotationJitterMs ?? 0,
        minSessionLifeMs: opts.minSessionLifeMs ?? 1_000,
        drainMs: opts.drainMs ?? this.#deduper.propagationMs + 2 * this.#deduper.lagBoundMs,
        maxTurnWaitMs: opts.maxTurnWaitMs ?? 10_000,
      },
      {
        stagger: this.#stagger,
        log: deps.log,
        now: this.#now,
        random: this.#random,
        stopping: () => this.#stopping,
        build: (slot, req) => void this.#build(slot, req),
      },
    );
  }

  start(): void {
    if (this.#running || this.#stopping) return;
    this.#running = true;
    const tickMs = Math.max(5, Math.floor(this.#deduper.lagBoundMs / 4));
    this.#dedupeTimer = setInterval(() => this.#dedupeTick(), tickMs);
    this.#dedupeTimer.unref?.();
    for (const slot of this.#slots) void this.#build(slot, { reason: "start" });
  }

  /** Stops rotating and closes every session. Sessions closed here are not a coverage gap. */
  stop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    this.#coverage.close();
    clearInterval(this.#dedupeTimer);
    // What the deduper still holds back is delivered (marked) rather than lost with the process.
    for (const a of this.#deduper.close(this.#now())) this.#submitReleased(a);
    for (const slot of this.#slots) {
      clearTimeout(slot.retryTimer);
      clearTimeout(slot.rotationTimer);
      slot.retryTimer = slot.rotationTimer = undefined;
      slot.candidate?.close();
      slot.active?.close();
      for (const [old, timer] of slot.draining) {
        clearTimeout(timer);
        old.close();
      }
      slot.draining.clear();
    }
  }

  stats(): WorkerStats {
    return {
      ...this.#stats,
      liveSessions: this.#coverage.liveCount(),
      bufferDepth: this.deps.sink.depth(),
      sinkHealthy: this.deps.sink.healthy(),
    };
  }

  liveSessions(): number {
    return this.#coverage.liveCount();
  }

  async #build(slot: Slot, req: BuildRequest): Promise<void> {
    if (this.#stopping || slot.stopped || slot.building || slot.candidate) return;
    slot.building = true;
    this.#stagger.tryStart(slot.label, true);
    let token: WorkerToken;
    try {
      token = await this.#token(req, slot.index);
    } catch (err) {
      slot.building = false;
      this.#stagger.finish(slot.label);
      if (this.#stopping) return;
      const delayMs = this.#failures.tokenError(slot, err);
      if (delayMs !== undefined) this.#schedule.retryLater(slot, delayMs, { ...req, refreshFp: undefined });
      return;
    }
    slot.building = false;
    if (this.#stopping || slot.stopped) {
      this.#stagger.finish(slot.label);
      return;
    }
    const session = this.deps.sessions.create(token, slot.label);
    slot.candidate = session;
    this.#stats.sessionsStarted++;
    this.#wire(slot, session);
    this.deps.log.info("session starting", {
      slot: slot.label,
      session: session.id,
      reason: req.reason,
      tokenFingerprint: token.fingerprint,
    });
    session.start();
  }

  /** The slot's own token lane: redundant sessions hold distinct tokens. */
  async #token(req: BuildRequest, lane: number): Promise<WorkerToken> {
    const src = this.deps.tokenSource;
    if (req.refreshFp !== undefined) {
      this.#countRefresh();
      return src.refresh(req.refreshFp, lane);
    }
    const token = await src.current(lane);
    if (req.replaceTokenFp !== undefined && token.fingerprint === req.replaceTokenFp) {
      this.#countRefresh();
      return src.refresh(req.replaceTokenFp, lane);
    }
    return token;
  }

  #countRefresh(): void {
    this.#stats.tokenRefreshes++;
    this.#metrics.count("TokenRefreshes");
  }

  #wire(slot: Slot, s: Session): void {
    s.on("live", () => this.#onLive(slot, s));
    s.on("event", (env, at) => this.#onEvent(s, env, at));
    s.on("malformed", (code, size) => this.#onMalformed(s, code, size));
    s.on("refused", (topics, sinceMs) => this.#onRefused(slot, s, topics, sinceMs));
    s.on("regained", (topics, sinceMs) => this.#coverage.regained(s.id, topics, sinceMs));
    s.on("failure", (f) => this.#onFailure(slot, s, f));
    s.on("closed", () => this.#onClosed(slot, s));
  }

  #onLive(slot: Slot, s: Session): void {
    if (s !== slot.candidate || this.#stopping) return;
    const nowMs = this.#now();
    this.#coverage.sessionLive(s.id, nowMs);
    this.#deduper.sessionLive(s.id, nowMs);
    const old = slot.active;
    slot.active = s;
    slot.activeSinceMs = this.#now();
    slot.candidate = undefined;
    this.#stagger.finish(slot.label);
    slot.backoff.connected();
    slot.failures.live();
    this.#gaugeLive();
    if (old) {
      this.#stats.rotations++;
      this.#metrics.count("Rotations");
      // Its coverage is claimed up to now: confirm its subscriptions still hold (a permission withdrawn
      // mid-run drops a subscription without notice; found now, the gap is backdated to the last check).
      old.confirmSubscriptions?.();
      this.#schedule.drain(slot, old);
    }
    this.deps.log.info("session live", { slot: slot.label, session: s.id, replaced: old?.id });
    this.#schedule.scheduleRotation(slot, s);
  }

  #dedupeTick(): void {
    if (this.#stopping) return;
    const { released, silent } = this.#deduper.tick(this.#now());
    for (const a of released) this.#submitReleased(a);
    for (const id of silent) this.#onSilent(id);
  }

  #submitReleased(a: ReleasedArrival): void {
    this.#metrics.count("PossibleDuplicates");
    this.#stats.eventsOut++;
    this.deps.sink.submit(
      eventMessage(a.envelope, a.key, a.receivedAtMs, { contentKey: a.contentKey, possibleDuplicate: true }),
    );
  }

  /** A session missed events its peers delivered: its coverage ends at its last event; replace it. */
  #onSilent(id: string): void {
    const slot = this.#slots.find((sl) => sl.active?.id === id);
    const lastEventAtMs = this.#deduper.lastEventAtMs(id);
    this.#metrics.count("SilentSessions");
    this.deps.log.warn("session silent: it missed events its peers delivered", {
      session: id,
      slot: slot?.label,
      lastEventAt: lastEventAtMs === undefined ? undefined : new Date(lastEventAtMs).toISOString(),
    });
    if (lastEventAtMs !== undefined) this.#coverage.silentSince(id, lastEventAtMs);
    if (!slot || this.#stopping || slot.stopped || slot.busy()) return;
    void this.#build(slot, { reason: "silent_session" });
  }

  #onEvent(s: Session, envelope: NotificationEnvelope, receivedAtMs: number): void {
    this.#stats.eventsIn++;
    this.#metrics.count("EventsIn");
    const decision = this.#deduper.accept(s.id, envelope, receivedAtMs);
    if (!decision.emit) {
      this.#stats.duplicatesDropped++;
      this.#metrics.count("DuplicatesDropped");
      return;
    }
    this.deps.sink.submit(eventMessage(envelope, decision.key, receivedAtMs, decision));
    // The EventsOut metric is the sink's (acknowledged by the queue); this counts hand-offs.
    this.#stats.eventsOut++;
  }

  /**
   * Some topics were refused (permission) while the rest were subscribed: the session goes on with those.
   * Each rotation subscribes the full list again, so a permission given back is picked up then.
   */
  #onRefused(slot: Slot, s: Session, topics: string[], sinceMs?: number): void {
    this.#metrics.count("TopicsRefused", topics.length);
    this.#coverage.refused(s.id, topics, sinceMs);
    // ALARM: events of these topics are not being received at all. Stable log code for metric filters.
    this.deps.log.error("topics refused by the upstream; the others keep flowing", {
      code: "topics_refused",
      alarm: true,
      slot: slot.label,
      session: s.id,
      topics: topics.slice(0, 50),
      refusedCount: topics.length,
    });
  }

  #onMalformed(s: Session, code: MalformedCode, sizeBytes: number): void {
    this.#stats.malformedFrames++;
    this.#metrics.count("MalformedFrames");
    this.deps.log.warn("malformed frame dropped", { session: s.id, code, sizeBytes });
  }

  #onFailure(slot: Slot, s: Session, f: SessionFailure): void {
    this.#stats.sessionFailures++;
    const role = s === slot.candidate ? "candidate" : s === slot.active ? "active" : "retired";
    const counted = role !== "retired" && !slot.stopped && !this.#stopping;
    const { d, detail } = this.#failures.decide(slot, s, role, f, counted);
    if (f.kind === "rest-error" && f.probe) {
      // Heartbeats may have gone on without events: its coverage ends at its last event.
      this.#coverage.silentSince(s.id, this.#deduper.lastEventAtMs(s.id) ?? s.lastFrameAtMs);
    } else if (f.kind !== "socket-closing") {
      // It ended unasked (socket gone, channel dead, watchdog): it delivered up to its last frame, not up to
      // the moment the worker learned of it (an evicted channel's events stop before its 404 arrives).
      this.#coverage.silentSince(s.id, s.lastFrameAtMs);
    }
    if (this.#stopping || slot.stopped || role === "retired") return;
    if (role === "candidate") {
      slot.candidate = undefined;
      this.#stagger.finish(slot.label);
      slot.backoff.failed();
      this.#afterFailure(slot, s, d, "candidate_failed", detail);
      // After socket_closing a session keeps running: an abandoned candidate must not linger on its channel.
      s.close();
      return;
    }
    // The active session.
    if (f.kind === "channel-dead") {
      const delayMs = this.#failures.channelDeath(slot, s, this.#slots);
      if (delayMs !== undefined) {
        // Repeated deaths: back off (unless a replacement is already being built).
        if (!slot.building && !slot.candidate) {
          this.#schedule.retryLater(slot, delayMs, { reason: "channel_evicted" });
        }
        return;
      }
    }
    if (d.action === "rotate-now") {
      if (!slot.busy()) this.#schedule.replaceActive(slot, s, d, f.kind === "socket-closing");
      return;
    }
    slot.backoff.failed();
    if (d.action === "stop-session") {
      this.#failures.stop(slot, d.reason, detail);
      return;
    }
    if (slot.busy()) return; // its replacement is already under way
    this.#afterFailure(slot, s, d, d.reason, detail);
  }

  #afterFailure(slot: Slot, s: Session, d: PolicyDecision, reason: string, detail: FailureDetail): void {
    if (d.action === "stop-session") this.#failures.stop(slot, d.reason, detail);
    else this.#schedule.rebuildAfter(slot, s, d, reason);
  }

  #onClosed(slot: Slot, s: Session): void {
    const nowMs = this.#now();
    const evidence = s.topicEvidenceMs?.bind(s);
    const { silent } = this.#coverage.sessionClosed(s.id, nowMs, evidence);
    const orderly = this.#schedule.closed(slot, s) && !silent;
    for (const a of this.#deduper.sessionClosed(s.id, nowMs, orderly)) this.#submitReleased(a);
    if (slot.candidate === s) slot.candidate = undefined;
    if (slot.active === s) {
      slot.active = undefined;
      clearTimeout(slot.rotationTimer);
      slot.rotationTimer = undefined;
    }
    this.#gaugeLive();
    // Safety net: a slot must never end up with nothing live and nothing planned.
    if (!this.#stopping && !slot.stopped && !slot.active && !slot.busy()) {
      this.#schedule.retryLater(slot, slot.backoff.nextDelayMs(), { reason: "session_closed" });
    }
  }

  #gaugeLive(): void {
    this.#metrics.gauge("LiveSessions", this.#coverage.liveCount());
  }
}
