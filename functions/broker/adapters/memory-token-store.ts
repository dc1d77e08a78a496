import { randomUUID } from "node:crypto";
import type { CachedToken } from "../../../shared/contracts.ts";
import { TokenVersionConflictError } from "../core/errors.ts";
import type { StoredToken, TokenCacheStore } from "../core/ports.ts";
import type { TokenLane } from "../core/token-lane.ts";

/**
 * Token cache in process memory, for the local server and tests: same contract as the Secrets Manager
 * store (versions keyed by ClientRequestToken, idempotent for the same token, conflict for another).
 */
export class MemoryTokenStore implements TokenCacheStore {
  private readonly current = new Map<string, StoredToken>();
  private readonly byRequestToken = new Map<string, CachedToken>();

  async getCurrent(lane: TokenLane): Promise<StoredToken | undefined> {
    return this.current.get(lane.secretId);
  }

  async putNew(lane: TokenLane, token: CachedToken, clientRequestToken: string): Promise<StoredToken> {
    const key = `${lane.secretId}\n${clientRequestToken}`;
    const existing = this.byRequestToken.get(key);
    if (existing && existing.accessToken !== token.accessToken) {
      throw new TokenVersionConflictError("refresh slot already has a different version");
    }
    this.byRequestToken.set(key, token);
    const stored: StoredToken = { token, version: clientRequestToken || randomUUID() };
    this.current.set(lane.secretId, stored);
    return stored;
  }
}
