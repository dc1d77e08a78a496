import type { BrokerProfile } from "../../shared/contracts.ts";
import { DEFAULT_TOKEN_LANES, MAX_TOKEN_LANES } from "../../shared/token-lanes.ts";

export interface BrokerConfig {
  profiles: BrokerProfile[];
  /** Names lane n's token-cache secret `<prefix>/<profile>/lane-<n>` (required when a profile has 2+ lanes). */
  laneSecretPrefix?: string;
  auditTable: string;
  leaseTable: string;
  refreshAtFraction: number;
  minValidityFraction: number;
  auditRetentionDays: number;
  idpTimeoutMs: number;
  leaseMs: number;
  serviceName: string;
  metricsNamespace: string;
}

/** Every problem found in the environment, reported at once. */
export class BrokerConfigError extends Error {
  override readonly name = "BrokerConfigError";
  constructor(readonly problems: string[]) {
    super(`invalid broker configuration:\n- ${problems.join("\n- ")}`);
  }
}

type Env = Record<string, string | undefined>;

const PROFILE_NAME = /^[A-Za-z0-9._-]{1,64}$/;
const SECRET_NAME_PREFIX = /^[A-Za-z0-9/_+=.@-]{1,256}$/;

/** Reads and validates the broker's environment (see DESIGN.md section 5). */
export function loadBrokerConfig(env: Env): BrokerConfig {
  const problems: string[] = [];
  const profiles = parseProfiles(env.PROFILES, problems);
  const laneSecretPrefix = env.TOKEN_SECRET_NAME_PREFIX?.trim() || undefined;
  if (laneSecretPrefix !== undefined && !SECRET_NAME_PREFIX.test(laneSecretPrefix)) {
    problems.push(
      "TOKEN_SECRET_NAME_PREFIX must be a Secrets Manager name prefix (A-Z a-z 0-9 / _ + = . @ -)",
    );
  }
  const multiLane = profiles.filter((p) => (p.lanes ?? DEFAULT_TOKEN_LANES) > 1).map((p) => p.name);
  if (multiLane.length > 0 && laneSecretPrefix === undefined) {
    problems.push(
      `TOKEN_SECRET_NAME_PREFIX is required: profiles ${multiLane.join(", ")} have lanes past 0, whose token secrets it names`,
    );
  }
  const auditTable = requiredString(env, "AUDIT_TABLE", problems);
  const leaseTable = requiredString(env, "LEASE_TABLE", problems);
  const refreshAtFraction = fraction(env, "REFRESH_AT_FRACTION", 0.75, problems);
  const minValidityFraction = fraction(env, "MIN_VALIDITY_FRACTION", 0.25, problems);
  if (refreshAtFraction + minValidityFraction > 1 + 1e-9) {
    problems.push(
      `REFRESH_AT_FRACTION (${refreshAtFraction}) + MIN_VALIDITY_FRACTION (${minValidityFraction}) must be <= 1, ` +
        "or tokens would become unservable before they are refreshed",
    );
  }
  const auditRetentionDays = positiveInteger(env, "AUDIT_RETENTION_DAYS", 400, problems);
  const idpTimeoutMs = positiveInteger(env, "IDP_TIMEOUT_MS", 5000, problems);
  const leaseMs = positiveInteger(env, "LEASE_MS", 15000, problems);
  if (problems.length > 0) throw new BrokerConfigError(problems);
  return {
    profiles,
    ...(laneSecretPrefix !== undefined ? { laneSecretPrefix } : {}),
    auditTable,
    leaseTable,
    refreshAtFraction,
    minValidityFraction,
    auditRetentionDays,
    idpTimeoutMs,
    leaseMs,
    serviceName: env.POWERTOOLS_SERVICE_NAME || "token-broker",
    metricsNamespace: env.POWERTOOLS_METRICS_NAMESPACE || "tokenstream",
  };
}

function requiredString(env: Env, name: string, problems: string[]): string {
  const value = env[name]?.trim();
  if (!value) problems.push(`${name} is required`);
  return value ?? "";
}

function fraction(env: Env, name: string, fallback: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0 || value >= 1) {
    problems.push(`${name} must be a number strictly between 0 and 1 (got ${JSON.stringify(raw)})`);
    return fallback;
  }
  return value;
}

function positiveInteger(env: Env, name: string, fallback: number, problems: string[]): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) {
    problems.push(`${name} must be a positive integer (got ${JSON.stringify(raw)})`);
    return fallback;
  }
  return value;
}

/** `PROFILES`: JSON array of BrokerProfile with unique names. */
export function parseProfiles(raw: string | undefined, problems: string[]): BrokerProfile[] {
  if (!raw?.trim()) {
    problems.push(
      "PROFILES is required (JSON array of {name, loginUrl, credentialsSecretArn, tokenSecretArn, allowedPrincipals, lanes})",
    );
    return [];
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    problems.push("PROFILES is not valid JSON");
    return [];
  }
  if (!Array.isArray(parsed) || parsed.length === 0) {
    problems.push("PROFILES must be a non-empty JSON array");
    return [];
  }
  const profiles: BrokerProfile[] = [];
  const seen = new Set<string>();
  parsed.forEach((item: unknown, index) => {
    const where = `PROFILES[${index}]`;
    if (typeof item !== "object" || item === null) {
      problems.push(`${where} must be an object`);
      return;
    }
    const p = item as Record<string, unknown>;
    const before = problems.length;
    if (typeof p.name !== "string" || !PROFILE_NAME.test(p.name)) {
      problems.push(`${where}.name must be 1-64 characters of A-Z a-z 0-9 . _ -`);
    } else if (seen.has(p.name)) {
      problems.push(`${where}.name "${p.name}" is a duplicate`);
    }
    if (typeof p.loginUrl !== "string" || !isHttpUrl(p.loginUrl)) {
      problems.push(`${where}.loginUrl must be an http(s) URL`);
    }
    for (const key of ["credentialsSecretArn", "tokenSecretArn"] as const) {
      if (typeof p[key] !== "string" || (p[key] as string).length === 0) {
        problems.push(`${where}.${key} must be a non-empty string`);
      }
    }
    const allowed = p.allowedPrincipals;
    if (!Array.isArray(allowed) || !allowed.every((a) => typeof a === "string" && a.startsWith("arn:"))) {
      // Fail closed: a profile without the list would serve every caller the Function URL lets in.
      problems.push(`${where}.allowedPrincipals must be an array of principal ARNs or ARN patterns`);
    }
    const lanes = p.lanes ?? DEFAULT_TOKEN_LANES;
    if (typeof lanes !== "number" || !Number.isInteger(lanes) || lanes < 1 || lanes > MAX_TOKEN_LANES) {
      problems.push(`${where}.lanes must be an integer from 1 to ${MAX_TOKEN_LANES}`);
    }
    if (problems.length > before) return;
    seen.add(p.name as string);
    profiles.push({
      name: p.name as string,
      loginUrl: (p.loginUrl as string).replace(/\/+$/, ""),
      credentialsSecretArn: p.credentialsSecretArn as string,
      tokenSecretArn: p.tokenSecretArn as string,
      allowedPrincipals: [...(allowed as string[])],
      lanes: lanes as number,
    });
  });
  return profiles;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}
