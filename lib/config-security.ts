/**
 * The security-related deployment settings (docs/security.md): where alarms go (or the explicit opt-out),
 * the audit table's break-glass role, the backlog alarm thresholds, and each profile's allowed principals.
 * Problems are appended to the caller's list so lib/config.ts still reports everything at once.
 */

export interface SecuritySettings {
  /** Explicit, documented opt-out of alarm notifications (alarms still exist, on the dashboard). */
  alarmsWithoutDestination: boolean;
  /** A role exempt from the audit table's deny statements. */
  auditBreakGlassRoleArn?: string;
  /** Worker send backlog (buffered + spooled messages) that alarms. */
  backlogAlarmDepth: number;
  /** Time from accepting an event to SQS confirming it that alarms (seconds). */
  backlogAlarmAgeSeconds: number;
  /** Copy every audit-table change to an S3 bucket with Object Lock (compliance mode) for auditRetentionDays. */
  auditArchive: boolean;
}

export const SECURITY_CONFIG_KEYS = [
  "alarmsWithoutDestination",
  "auditBreakGlassRoleArn",
  "backlogAlarmDepth",
  "backlogAlarmAgeSeconds",
  "auditArchive",
] as const;

/** A principal ARN or pattern: IAM role/user/root or an STS assumed-role session; `*` allowed after the type. */
const PRINCIPAL_PATTERN =
  /^arn:aws[a-z-]*:(iam::\d{12}:(role|user)\/[A-Za-z0-9/_+=,.@*-]+|iam::\d{12}:root|sts::\d{12}:assumed-role\/[A-Za-z0-9_+=,.@*-]+\/[A-Za-z0-9_+=,.@*-]+)$/;
const ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[A-Za-z0-9/_+=,.@-]+$/;

export function parseSecuritySettings(raw: Record<string, unknown>, problems: string[]): SecuritySettings {
  const optOut = raw.alarmsWithoutDestination;
  if (optOut !== undefined && typeof optOut !== "boolean") {
    problems.push(`alarmsWithoutDestination: must be true or false, got ${JSON.stringify(optOut)}`);
  }
  const hasDestination = raw.alarmEmail !== undefined || raw.alarmTopicArn !== undefined;
  if (optOut === true && hasDestination) {
    problems.push(
      "alarmsWithoutDestination: remove it, alarmEmail or alarmTopicArn already names a destination",
    );
  } else if (optOut !== true && !hasDestination) {
    problems.push(
      "alarms: set alarmEmail or alarmTopicArn so alarms reach someone (or alarmsWithoutDestination: true to deploy alarms that notify nobody)",
    );
  }

  const breakGlass = raw.auditBreakGlassRoleArn;
  if (breakGlass !== undefined && (typeof breakGlass !== "string" || !ROLE_ARN.test(breakGlass))) {
    problems.push(
      `auditBreakGlassRoleArn: ${JSON.stringify(breakGlass)} is not an IAM role ARN (arn:aws:iam::<account>:role/<name>, no wildcard)`,
    );
  }

  const archive = raw.auditArchive;
  if (archive !== undefined && typeof archive !== "boolean") {
    problems.push(`auditArchive: must be true or false, got ${JSON.stringify(archive)}`);
  }

  return {
    alarmsWithoutDestination: optOut === true,
    auditArchive: archive === true,
    ...(typeof breakGlass === "string" && ROLE_ARN.test(breakGlass)
      ? { auditBreakGlassRoleArn: breakGlass }
      : {}),
    backlogAlarmDepth: integer(raw, "backlogAlarmDepth", 1, 10_000_000, 10_000, problems),
    backlogAlarmAgeSeconds: integer(raw, "backlogAlarmAgeSeconds", 10, 86_400, 300, problems),
  };
}

/** `profiles[i].allowedPrincipals`: who may obtain that profile's token (the worker gets its own profile anyway). */
export function parseAllowedPrincipals(value: unknown, where: string, problems: string[]): string[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) {
    problems.push(`${where}allowedPrincipals: must be an array of principal ARNs or ARN patterns`);
    return [];
  }
  const out: string[] = [];
  value.forEach((item, i) => {
    if (typeof item !== "string" || !PRINCIPAL_PATTERN.test(item)) {
      problems.push(
        `${where}allowedPrincipals[${i}]: ${JSON.stringify(item)} is not an IAM role, user, root or assumed-role ARN (pattern)`,
      );
    } else {
      out.push(item);
    }
  });
  return out;
}

function integer(
  raw: Record<string, unknown>,
  key: string,
  min: number,
  max: number,
  fallback: number,
  problems: string[],
): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (typeof value !== "number" || !Number.isInteger(value) || value < min || value > max) {
    problems.push(`${key}: must be an integer from ${min} to ${max}, got ${JSON.stringify(value)}`);
    return fallback;
  }
  return value;
}
