/**
 * The `profiles` of the deployment configuration: one OAuth client each, served by the broker in token lanes
 * (shared/token-lanes.ts) so that redundant worker sessions hold distinct tokens.
 */

import { MAX_TOKEN_LANES } from "../shared/token-lanes.ts";
import { isHttpsUrl, isRecord, Reader } from "./config-reader.ts";
import { parseAllowedPrincipals } from "./config-security.ts";
import type { ResolvedShard } from "./config-shards.ts";

/** One OAuth client the broker mints tokens for. */
export interface ProfileConfig {
  /** Profile name, used in `GET /token?profile=` and as the worker's `TOKEN_PROFILE`. */
  name: string;
  /** Genesys Cloud region domain (e.g. `mypurecloud.com`); the login URL becomes `https://login.<env>`. */
  genesysEnv?: string;
  /** Explicit identity-provider base URL (https). Exactly one of `genesysEnv` / `loginUrl`. */
  loginUrl?: string;
  /** Full ARN of the operator-created `{"clientId","clientSecret"}` secret. */
  credentialsSecretArn?: string;
  /** Name of the operator-created secret (same account and region). Exactly one of ARN / name. */
  credentialsSecretName?: string;
  /** ARN of the customer-managed KMS key that encrypts the credentials secret, if not the AWS managed key. */
  credentialsKmsKeyArn?: string;
  /** Principals (ARNs or patterns) allowed this profile's token; the worker's role always gets its own profile. */
  allowedPrincipals?: string[];
  /**
   * Token lanes (one token-cache secret each; worker slot i uses lane i). Default: the highest redundancy of
   * the shards using this profile, or 2 for a profile no shard uses.
   */
  lanes?: number;
}

/** Resolved profile: login URL derived, exactly one secret reference. */
export interface ResolvedProfile {
  name: string;
  loginUrl: string;
  genesysEnv?: string;
  credentialsSecret: { arn: string } | { name: string };
  credentialsKmsKeyArn?: string;
  allowedPrincipals: string[];
  /** Token lanes of this profile: at least the redundancy of every shard that uses it. */
  lanes: number;
}

/** A profile as read, before its lane count is settled against the shards that use it. */
export type ParsedProfile = Omit<ResolvedProfile, "lanes"> & { configuredLanes?: number };

/**
 * Budget for the broker's `PROFILES` environment value: Lambda allows 4 KiB for all variables together, and
 * the others (table names, lane-secret prefix, fractions, Powertools settings) take under 700 bytes (test/infra/stack-variants.test.ts measures it).
 */
export const MAX_PROFILES_ENV_BYTES = 3_200;

/** Longest token-cache secret ARN CloudFormation generates (partition, region, account, name, suffix). */
const TOKEN_SECRET_ARN_ESTIMATE = "x".repeat(140);
/** Longest worker task role ARN CloudFormation generates (a role name is at most 64 characters). */
const WORKER_ROLE_ARN_ESTIMATE = "x".repeat(110);

/**
 * Size of the broker's `PROFILES` JSON for these profiles, with a worst-case token-cache secret ARN each (only
 * lane 0's: the broker names the other lanes' secrets from one prefix, so lanes cost a few bytes, not an ARN).
 */
function brokerProfilesEnvBytes(profiles: readonly ResolvedProfile[]): number {
  const entries = profiles.map((p) => ({
    name: p.name,
    loginUrl: p.loginUrl,
    credentialsSecretArn: "arn" in p.credentialsSecret ? p.credentialsSecret.arn : p.credentialsSecret.name,
    tokenSecretArn: TOKEN_SECRET_ARN_ESTIMATE,
    // The worker's task role is added to its own profile by the stack.
    allowedPrincipals: [...p.allowedPrincipals, WORKER_ROLE_ARN_ESTIMATE],
    lanes: p.lanes,
  }));
  return Buffer.byteLength(JSON.stringify(entries), "utf8");
}

/** Every key of one `profiles[]` entry. */
export const PROFILE_CONFIG_KEYS: ReadonlySet<string> = new Set([
  "name",
  "genesysEnv",
  "loginUrl",
  "credentialsSecretArn",
  "credentialsSecretName",
  "credentialsKmsKeyArn",
  "allowedPrincipals",
  "lanes",
]);

const PROFILE_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const DOMAIN = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$/;
const SECRET_ARN =
  /^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:\d{12}:secret:[A-Za-z0-9/_+=.@-]+-[A-Za-z0-9]{6}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const KMS_KEY_ARN = /^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key\/[A-Za-z0-9-]+$/;

function parseProfile(problems: string[], raw: unknown, index: number): ParsedProfile | undefined {
  const where = `profiles[${index}].`;
  if (!isRecord(raw)) {
    problems.push(`profiles[${index}]: must be an object`);
    return undefined;
  }
  const r = new Reader(problems, raw, where);
  r.unknownKeys(PROFILE_CONFIG_KEYS);
  const name = r.string("name", PROFILE_NAME, "a profile name (letters, digits, _ and -, up to 64)");
  if (raw.name === undefined) problems.push(`${where}name: is required`);
  const genesysEnv = r.string("genesysEnv", DOMAIN, "a domain such as mypurecloud.com");
  const loginUrl = r.string("loginUrl");
  if (loginUrl !== undefined && !isHttpsUrl(loginUrl)) {
    problems.push(`${where}loginUrl: "${loginUrl}" must be an https:// URL`);
  }
  if (raw.genesysEnv !== undefined && raw.loginUrl !== undefined) {
    problems.push(`${where}: set either genesysEnv or loginUrl, not both`);
  } else if (raw.genesysEnv === undefined && raw.loginUrl === undefined) {
    problems.push(`${where}: one of genesysEnv or loginUrl is required`);
  }
  const secretArn = r.string("credentialsSecretArn", SECRET_ARN, "a complete Secrets Manager secret ARN");
  const secretName = r.string("credentialsSecretName", SECRET_NAME, "a Secrets Manager secret name");
  if (raw.credentialsSecretArn !== undefined && raw.credentialsSecretName !== undefined) {
    problems.push(`${where}: set either credentialsSecretArn or credentialsSecretName, not both`);
  } else if (raw.credentialsSecretArn === undefined && raw.credentialsSecretName === undefined) {
    problems.push(`${where}: one of credentialsSecretArn or credentialsSecretName is required`);
  }
  const kmsKeyArn = r.string("credentialsKmsKeyArn", KMS_KEY_ARN, "a KMS key ARN");
  const allowedPrincipals = parseAllowedPrincipals(raw.allowedPrincipals, where, problems);
  const lanes = r.integer("lanes", 1, MAX_TOKEN_LANES);
  const resolvedLogin = loginUrl ?? (genesysEnv ? `https://login.${genesysEnv}` : undefined);
  const secret = secretArn ? { arn: secretArn } : secretName ? { name: secretName } : undefined;
  if (!name || !resolvedLogin || !secret) return undefined;
  return {
    name,
    loginUrl: resolvedLogin.replace(/\/+$/, ""),
    ...(genesysEnv ? { genesysEnv } : {}),
    credentialsSecret: secret,
    ...(kmsKeyArn ? { credentialsKmsKeyArn: kmsKeyArn } : {}),
    allowedPrincipals,
    ...(lanes !== undefined ? { configuredLanes: lanes } : {}),
  };
}

/** `profiles`: a non-empty array of unique profiles (every problem reported). */
export function parseProfiles(problems: string[], raw: unknown): ParsedProfile[] {
  const profiles: ParsedProfile[] = [];
  if (raw === undefined) {
    problems.push("profiles: at least one profile is required");
  } else if (!Array.isArray(raw) || raw.length === 0) {
    problems.push("profiles: must be a non-empty array");
  } else {
    raw.forEach((p, i) => {
      const parsed = parseProfile(problems, p, i);
      if (parsed) profiles.push(parsed);
    });
    const seen = new Set<string>();
    for (const p of raw) {
      if (isRecord(p) && typeof p.name === "string") {
        if (seen.has(p.name)) problems.push(`profiles: name "${p.name}" is used more than once`);
        seen.add(p.name);
      }
    }
  }
  return profiles;
}

/**
 * Each profile's lane count: as configured, else the highest redundancy of the shards using it (worker slot i asks
 * for lane i), else 2. A configured count below a shard's redundancy would refuse that shard's last slots.
 */
export function resolveProfileLanes(
  problems: string[],
  parsed: readonly ParsedProfile[],
  shards: readonly ResolvedShard[],
  defaultLanes: number,
): ResolvedProfile[] {
  const profiles = parsed.map(({ configuredLanes, ...p }, index): ResolvedProfile => {
    const users = shards.filter((s) => s.profile === p.name);
    const needed = Math.max(0, ...users.map((s) => s.redundancy));
    if (configuredLanes !== undefined && configuredLanes < needed) {
      const shard = users.find((s) => s.redundancy === needed)!;
      problems.push(
        `profiles[${index}].lanes: ${configuredLanes} is fewer than the redundancy ${needed} of shard "${shard.name}" that uses this profile (worker slot i takes token lane i); set at least ${needed} or leave it out`,
      );
    }
    return { ...p, lanes: configuredLanes ?? (needed > 0 ? needed : defaultLanes) };
  });
  const profilesBytes = brokerProfilesEnvBytes(profiles);
  if (profilesBytes > MAX_PROFILES_ENV_BYTES) {
    problems.push(
      `profiles: ${profiles.length} profiles need about ${profilesBytes} bytes in the broker's PROFILES variable, over the ${MAX_PROFILES_ENV_BYTES} left of Lambda's 4 KiB environment; split them over several stacks`,
    );
  }
  return profiles;
}
