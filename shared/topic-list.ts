/**
 * A topic set as an operator writes it in a file (a file in the repository bundled as an S3 asset, or an S3
 * object): either a JSON array of strings, or one topic per line with blank lines and `#` comments ignored.
 * Used by the CDK config (at synth, for files in the repository) and by the worker (at start, whatever the
 * source), so both refuse the same mistakes. Pure.
 */

export const MAX_TOPIC_LENGTH = 512;

export interface TopicListResult {
  topics: string[];
  /** Every problem found; the list is unusable when there is any. */
  problems: string[];
}

/** Why `topic` cannot be subscribed, or undefined when it can. */
export function topicProblem(topic: string): string | undefined {
  if (topic.length === 0) return "is empty";
  if (topic.length > MAX_TOPIC_LENGTH) return `is longer than ${MAX_TOPIC_LENGTH} characters`;
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this refuses
  if (/[\s,\u0000-\u001f\u007f]/.test(topic)) return "contains whitespace, a comma or a control character";
  return undefined;
}

/** Parses and validates a topic list; `where` prefixes each problem (a file name or an S3 URI). */
export function parseTopicList(text: string, where: string): TopicListResult {
  const problems: string[] = [];
  const candidates: { topic: string; at: string }[] = [];
  const trimmed = text.replace(/^\uFEFF/, "").trim();
  if (trimmed.startsWith("[")) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (error) {
      return { topics: [], problems: [`${where}: not valid JSON: ${(error as Error).message}`] };
    }
    if (!Array.isArray(parsed))
      return { topics: [], problems: [`${where}: must be a JSON array of strings`] };
    parsed.forEach((item, i) => {
      if (typeof item !== "string") problems.push(`${where}[${i}]: must be a string`);
      else candidates.push({ topic: item, at: `${where}[${i}]` });
    });
  } else {
    trimmed.split(/\r?\n/).forEach((line, i) => {
      const topic = line.replace(/#.*$/, "").trim();
      if (topic !== "") candidates.push({ topic, at: `${where}:${i + 1}` });
    });
  }
  const seen = new Map<string, string>();
  const topics: string[] = [];
  for (const { topic, at } of candidates) {
    const problem = topicProblem(topic);
    if (problem) {
      problems.push(`${at}: "${topic.slice(0, 80)}" ${problem}`);
      continue;
    }
    const first = seen.get(topic);
    if (first !== undefined) {
      problems.push(`${at}: "${topic}" is listed again (first at ${first})`);
      continue;
    }
    seen.set(topic, at);
    topics.push(topic);
  }
  if (topics.length === 0 && problems.length === 0) problems.push(`${where}: lists no topic`);
  return { topics, problems };
}
