/** Pure rules for a subscription request: body shape, permissions (403 / ignoreErrors) and the topic cap. */

export type SubscriptionPlan =
  /** `rejected`: denied topics left out under ignoreErrors=true. */
  | { ok: true; topics: string[]; rejected: string[] }
  | { ok: false; status: 400 | 403; code: string; message: string };

export interface SubscriptionRules {
  deniedTopics: ReadonlySet<string>;
  ignoreErrors: boolean;
  maxTopics: number;
}

/** Parses `[{"id":"topic"}, ...]`; returns the topic ids or an error message. */
export function parseTopicList(body: unknown): string[] | string {
  if (!Array.isArray(body)) return "body must be a JSON array of {id}";
  const topics: string[] = [];
  for (const item of body) {
    const id = (item as { id?: unknown } | null)?.id;
    if (typeof id !== "string" || id.trim() === "") return "every item needs a non-empty string id";
    topics.push(id);
  }
  return topics;
}

/** `replace` = PUT, `add` = POST. Nothing changes unless the plan is ok. */
export function planSubscription(
  mode: "replace" | "add",
  current: ReadonlySet<string>,
  body: unknown,
  rules: SubscriptionRules,
): SubscriptionPlan {
  const requested = parseTopicList(body);
  if (typeof requested === "string")
    return { ok: false, status: 400, code: "bad.request", message: requested };
  const denied = requested.filter((topic) => rules.deniedTopics.has(topic));
  if (denied.length > 0 && !rules.ignoreErrors) {
    return {
      ok: false,
      status: 403,
      code: "missing.any.permissions",
      message: `Permission denied for topics: ${[...new Set(denied)].join(", ")}`,
    };
  }
  const allowed = requested.filter((topic) => !rules.deniedTopics.has(topic));
  const rejected = [...new Set(denied)];
  const next = new Set(mode === "add" ? [...current, ...allowed] : allowed);
  if (next.size > rules.maxTopics) {
    return {
      ok: false,
      status: 400,
      code: "notification.channel.topic.limit",
      message: `A channel may subscribe to at most ${rules.maxTopics} topics (requested ${next.size})`,
    };
  }
  return { ok: true, topics: [...next], rejected };
}
