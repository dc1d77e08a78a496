import type { BrokerProfile } from "../../../shared/contracts.ts";
import type { Caller } from "./audit-record.ts";
import { BrokerError } from "./errors.ts";

/**
 * Per-profile authorization: which verified IAM callers may obtain a profile's token.
 *
 * The Function URL's IAM check only says "this caller may call the broker"; this says "for this profile".
 * Patterns are ARNs in which `*` matches any run of characters (as in IAM's ArnLike). The caller ARN a
 * Function URL reports for a role is its session, `arn:<partition>:sts::<account>:assumed-role/<name>/<session>`,
 * so an IAM role ARN (or role pattern) also matches every session of that role. Role paths do not appear in
 * session ARNs, so only the role name (the last path segment) is compared for sessions.
 */
export class ProfileAuthorizer {
  readonly #matchers = new Map<string, RegExp[]>();

  constructor(profiles: readonly BrokerProfile[]) {
    for (const profile of profiles) {
      if (profile.allowedPrincipals) {
        this.#matchers.set(profile.name, profile.allowedPrincipals.flatMap(patternMatchers));
      }
    }
  }

  /** Throws `forbidden` unless `caller` is allowed this profile. Profiles without a list allow every caller. */
  check(profile: BrokerProfile, caller: Caller): void {
    const matchers = this.#matchers.get(profile.name);
    if (!matchers) return;
    const arn = caller.callerArn ?? "";
    if (!matchers.some((m) => m.test(arn))) {
      throw new BrokerError("forbidden", `caller is not allowed to obtain profile ${profile.name}'s token`);
    }
  }
}

/** `arn:<partition>:iam::<account>:role/<path/><name>` (name may carry `*`). */
const ROLE_ARN = /^arn:([a-z-]+):iam::([0-9*]+):role\/(?:.*\/)?([^/]+)$/;

/** The regular expressions one configured pattern stands for (a role pattern also covers its sessions). */
export function patternMatchers(pattern: string): RegExp[] {
  const matchers = [globToRegExp(pattern)];
  const role = ROLE_ARN.exec(pattern);
  if (role) {
    const [, partition, account, name] = role;
    matchers.push(globToRegExp(`arn:${partition}:sts::${account}:assumed-role/${name}/*`));
  }
  return matchers;
}

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern
    .split("*")
    .map((part) => part.replace(/[.+?^${}()|[\]\\]/g, "\\$&"))
    .join(".*");
  return new RegExp(`^${escaped}$`);
}
