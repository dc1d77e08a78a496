/** Issued access tokens: lifetime, expiry timers, revocation. Tokens are opaque random strings. */
import { fingerprint } from "../shared/fingerprint.ts";
import { newAccessToken } from "./random.ts";

export interface TokenRecord {
  readonly fingerprint: string;
  readonly clientId: string;
  readonly issuedAt: number;
  readonly expiresAt: number;
}

/** "revokedSilently": the token stops working for REST, but what it created is not closed. */
export type TokenDeathReason = "expired" | "revoked" | "revokedSilently";

/** setTimeout cannot wait longer than this. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface LiveToken extends TokenRecord {
  timer: NodeJS.Timeout | undefined;
}

export class TokenStore {
  private byToken = new Map<string, LiveToken>();
  private byFingerprint = new Map<string, string>();

  constructor(private readonly onDeath: (token: TokenRecord, reason: TokenDeathReason) => void) {}

  issue(clientId: string, lifetimeSec: number): { accessToken: string; record: TokenRecord } {
    const accessToken = newAccessToken();
    const issuedAt = Date.now();
    const record: LiveToken = {
      fingerprint: fingerprint(accessToken),
      clientId,
      issuedAt,
      expiresAt: issuedAt + lifetimeSec * 1000,
      timer: undefined,
    };
    this.byToken.set(accessToken, record);
    this.byFingerprint.set(record.fingerprint, accessToken);
    this.arm(accessToken, record);
    return { accessToken, record };
  }

  /** The live record for a bearer token, or undefined when unknown, expired or revoked. */
  validate(accessToken: string): TokenRecord | undefined {
    const record = this.byToken.get(accessToken);
    if (!record) return undefined;
    if (Date.now() >= record.expiresAt) {
      this.kill(accessToken, "expired");
      return undefined;
    }
    return record;
  }

  /** Accepts the token itself or its fingerprint. */
  revoke(tokenOrFingerprint: string, reason: "revoked" | "revokedSilently" = "revoked"): boolean {
    const accessToken = this.byToken.has(tokenOrFingerprint)
      ? tokenOrFingerprint
      : this.byFingerprint.get(tokenOrFingerprint);
    if (accessToken === undefined) return false;
    this.kill(accessToken, reason);
    return true;
  }

  /** Fingerprints of live tokens (for the chaos schedule to pick one). */
  liveFingerprints(): string[] {
    return [...this.byFingerprint.keys()];
  }

  expireAll(): number {
    const all = [...this.byToken.keys()];
    for (const accessToken of all) this.kill(accessToken, "expired");
    return all.length;
  }

  get liveCount(): number {
    return this.byToken.size;
  }

  close(): void {
    for (const record of this.byToken.values()) clearTimeout(record.timer);
    this.byToken.clear();
    this.byFingerprint.clear();
  }

  private arm(accessToken: string, record: LiveToken): void {
    const wait = record.expiresAt - Date.now();
    record.timer = setTimeout(
      () => {
        if (Date.now() >= record.expiresAt) this.kill(accessToken, "expired");
        else this.arm(accessToken, record);
      },
      Math.max(0, Math.min(wait, MAX_TIMER_MS)),
    );
  }

  private kill(accessToken: string, reason: TokenDeathReason): void {
    const record = this.byToken.get(accessToken);
    if (!record) return;
    clearTimeout(record.timer);
    this.byToken.delete(accessToken);
    this.byFingerprint.delete(record.fingerprint);
    this.onDeath(record, reason);
  }
}
