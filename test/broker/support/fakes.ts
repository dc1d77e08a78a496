import type { LeaseAttempt, LeaseFailureMark } from "../../../functions/broker/core/lease.ts";
import type {
  AuditSink,
  BrokerLog,
  ClientCredentials,
  Clock,
  IdentityProvider,
  LeaseStore,
  LogAttributes,
  MintedToken,
} from "../../../functions/broker/core/ports.ts";
import type { AuditRecord } from "../../../shared/contracts.ts";

/** Time only moves when a test (or a sleeping caller) moves it. */
export class FakeClock implements Clock {
  readonly sleeps: number[] = [];
  constructor(public t = Date.parse("2026-01-01T00:00:00.000Z")) {}
  now(): number {
    return this.t;
  }
  async sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    this.t += ms;
    await Promise.resolve();
  }
  advance(ms: number): void {
    this.t += ms;
  }
}

export class MemoryLeaseStore implements LeaseStore {
  readonly items = new Map<string, { owner: string; leaseUntil: number; failure?: LeaseFailureMark }>();
  acquisitions = 0;

  async tryAcquire(
    profile: string,
    owner: string,
    nowMs: number,
    leaseUntilMs: number,
  ): Promise<LeaseAttempt> {
    const held = this.items.get(profile);
    if (held && !(held.leaseUntil < nowMs)) {
      return { acquired: false, heldUntilMs: held.leaseUntil, failure: held.failure };
    }
    this.items.set(profile, { owner, leaseUntil: leaseUntilMs });
    this.acquisitions++;
    return { acquired: true };
  }

  async release(profile: string, owner: string, failure?: LeaseFailureMark): Promise<void> {
    if (this.items.get(profile)?.owner !== owner) return;
    if (failure) this.items.set(profile, { owner, leaseUntil: failure.untilMs, failure });
    else this.items.delete(profile);
  }
}

export class MemoryAuditSink implements AuditSink {
  readonly records: AuditRecord[] = [];
  private readonly keys = new Set<string>();
  failNext = 0;

  async write(record: AuditRecord): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      throw Object.assign(new Error("audit store down"), { name: "ProvisionedThroughputExceededException" });
    }
    const key = `${record.pk}\n${record.sk}`;
    if (this.keys.has(key)) return;
    this.keys.add(key);
    this.records.push(record);
  }

  actions(): string[] {
    return this.records.map((r) => `${r.action}:${r.outcome}`);
  }
}

type Scripted = MintedToken | Error | (() => Promise<MintedToken>);

/** Identity provider that mints `token-1`, `token-2`, ... or plays a script of results. */
export class FakeIdp implements IdentityProvider {
  calls = 0;
  readonly script: Scripted[] = [];
  lifetimeSeconds = 3600;
  readonly seenCredentials: ClientCredentials[] = [];

  /** Every access token handed to the broker (for leak scans). */
  readonly issued: string[] = [];

  async mint(_loginUrl: string, credentials: ClientCredentials): Promise<MintedToken> {
    this.calls++;
    this.seenCredentials.push(credentials);
    const next = this.script.shift();
    if (next instanceof Error) throw next;
    const minted =
      typeof next === "function"
        ? await next()
        : (next ?? {
            accessToken: `token-${this.calls}-secretvalue`,
            expiresInSeconds: this.lifetimeSeconds,
          });
    this.issued.push(minted.accessToken);
    return minted;
  }
}

/** Keeps every log line as JSON text so tests can assert on it (and scan it for tokens). */
export class RecordingLog implements BrokerLog {
  readonly lines: string[] = [];
  private push(level: string, message: string, attributes?: LogAttributes) {
    this.lines.push(JSON.stringify({ level, message, ...attributes }));
  }
  debug(message: string, attributes?: LogAttributes) {
    this.push("DEBUG", message, attributes);
  }
  info(message: string, attributes?: LogAttributes) {
    this.push("INFO", message, attributes);
  }
  warn(message: string, attributes?: LogAttributes) {
    this.push("WARN", message, attributes);
  }
  error(message: string, attributes?: LogAttributes) {
    this.push("ERROR", message, attributes);
  }
}
