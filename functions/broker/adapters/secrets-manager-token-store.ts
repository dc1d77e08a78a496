import {
  GetSecretValueCommand,
  PutSecretValueCommand,
  ResourceExistsException,
  ResourceNotFoundException,
  type SecretsManagerClient,
} from "@aws-sdk/client-secrets-manager";
import { parseCachedToken, serializeCachedToken } from "../core/cached-token.ts";
import { TokenStoreError, TokenVersionConflictError } from "../core/errors.ts";
import type { StoredToken, TokenCacheStore } from "../core/ports.ts";
import type { TokenLane } from "../core/token-lane.ts";

/**
 * Token cache in each profile lane's token secret (lane 0: the profile's secret ARN; lane n: its name): AWSCURRENT is the current token; `PutSecretValue` makes
 * a new version AWSCURRENT and leaves the previous one as AWSPREVIOUS (still valid until it expires).
 */
export class SecretsManagerTokenStore implements TokenCacheStore {
  constructor(
    private readonly client: SecretsManagerClient,
    /** Called when the current version is not a CachedToken (e.g. the placeholder a stack generated). */
    private readonly onUnreadable: (
      profile: string,
      lane: number,
      version: string | undefined,
    ) => void = () => {},
  ) {}

  async getCurrent(lane: TokenLane): Promise<StoredToken | undefined> {
    let response: { SecretString?: string; VersionId?: string };
    try {
      response = await this.client.send(
        new GetSecretValueCommand({ SecretId: lane.secretId, VersionStage: "AWSCURRENT" }),
      );
    } catch (error) {
      if (error instanceof ResourceNotFoundException) return undefined;
      throw storeError("read", error);
    }
    const token = parseCachedToken(response.SecretString);
    if (!token || !response.VersionId) {
      this.onUnreadable(lane.profile.name, lane.lane, response.VersionId);
      return undefined;
    }
    return { token, version: response.VersionId };
  }

  async putNew(
    lane: TokenLane,
    token: StoredToken["token"],
    clientRequestToken: string,
  ): Promise<StoredToken> {
    try {
      const response = await this.client.send(
        new PutSecretValueCommand({
          SecretId: lane.secretId,
          SecretString: serializeCachedToken(token),
          ClientRequestToken: clientRequestToken,
        }),
      );
      return { token, version: response.VersionId ?? clientRequestToken };
    } catch (error) {
      if (error instanceof ResourceExistsException) {
        throw new TokenVersionConflictError("refresh slot already has a different version");
      }
      throw storeError("write", error);
    }
  }
}

function storeError(operation: string, error: unknown): TokenStoreError {
  const name = error instanceof Error ? error.name : "unknown";
  return new TokenStoreError(`token store ${operation} failed (${name})`, name);
}
