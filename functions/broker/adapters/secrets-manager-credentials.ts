import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { BrokerProfile } from "../../../shared/contracts.ts";
import { BrokerError } from "../core/errors.ts";
import type { ClientCredentials, Clock, CredentialsSource } from "../core/ports.ts";
import { parseClientCredentials } from "./static-credentials.ts";

/** Reads `{"clientId","clientSecret"}` from the operator-created secret; kept in memory for a few minutes. */
export class SecretsManagerCredentials implements CredentialsSource {
  private readonly cache = new Map<string, { credentials: ClientCredentials; readAtMs: number }>();

  constructor(
    private readonly client: SecretsManagerClient,
    private readonly clock: Clock,
    private readonly maxAgeMs = 5 * 60_000,
  ) {}

  async get(profile: BrokerProfile): Promise<ClientCredentials> {
    const cached = this.cache.get(profile.name);
    if (cached && this.clock.now() - cached.readAtMs < this.maxAgeMs) return cached.credentials;
    let text: string | undefined;
    try {
      const response = await this.client.send(
        new GetSecretValueCommand({ SecretId: profile.credentialsSecretArn }),
      );
      text = response.SecretString;
    } catch (error) {
      // Throttling or an outage: like the token store, "try again later" (503), not a broker bug (500).
      const name = error instanceof Error ? error.name : "unknown";
      throw new BrokerError("token_unavailable", `client credentials secret unreadable (${name})`);
    }
    const credentials = parseClientCredentials(text);
    if (!credentials) {
      throw new BrokerError("internal", 'client credentials secret is not {"clientId","clientSecret"}');
    }
    this.cache.set(profile.name, { credentials, readAtMs: this.clock.now() });
    return credentials;
  }
}
