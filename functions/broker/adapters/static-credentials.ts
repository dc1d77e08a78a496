import type { BrokerProfile } from "../../../shared/contracts.ts";
import { BrokerError } from "../core/errors.ts";
import type { ClientCredentials, CredentialsSource } from "../core/ports.ts";

/** Credentials given in code (local server, tests): profile name -> client id/secret. */
export class StaticCredentials implements CredentialsSource {
  constructor(private readonly byProfile: Readonly<Record<string, ClientCredentials>>) {}

  async get(profile: BrokerProfile): Promise<ClientCredentials> {
    const credentials = this.byProfile[profile.name];
    if (!credentials) throw new BrokerError("internal", "no client credentials configured for profile");
    return credentials;
  }
}

export function parseClientCredentials(text: string | undefined): ClientCredentials | undefined {
  if (!text) return undefined;
  try {
    const value = JSON.parse(text) as Record<string, unknown>;
    const { clientId, clientSecret } = value ?? {};
    if (typeof clientId === "string" && clientId && typeof clientSecret === "string" && clientSecret) {
      return { clientId, clientSecret };
    }
  } catch {
    // not JSON: fall through
  }
  return undefined;
}
