/**
 * Catches tokens leaking into logs or audit items. Each integration file captures everything the
 * process writes to stdout/stderr (Powertools Logger and EMF metrics write there), records every
 * access token the identity provider returned (through a recording fetch), and its last test scans
 * the captured lines and the audit items for any of those tokens.
 */
export class LeakGuard {
  readonly tokens = new Set<string>();
  readonly lines: string[] = [];
  private restore: (() => void) | undefined;

  /** Starts capturing process output (kept in memory, not echoed, so test output stays clean). */
  capture(): void {
    if (this.restore) return;
    const out = process.stdout.write.bind(process.stdout);
    const err = process.stderr.write.bind(process.stderr);
    const grab =
      () =>
      (chunk: string | Uint8Array, ...rest: unknown[]): boolean => {
        this.lines.push(typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
        const callback = rest.find((r) => typeof r === "function") as (() => void) | undefined;
        callback?.();
        return true;
      };
    process.stdout.write = grab() as typeof process.stdout.write;
    process.stderr.write = grab() as typeof process.stderr.write;
    this.restore = () => {
      process.stdout.write = out;
      process.stderr.write = err;
    };
  }

  stop(): void {
    this.restore?.();
    this.restore = undefined;
  }

  /** A fetch that remembers every access_token in OAuth responses before handing them on. */
  readonly fetch: typeof fetch = async (input, init) => {
    const response = await globalThis.fetch(input, init);
    if (String(input).endsWith("/oauth/token")) {
      const text = await response.clone().text();
      try {
        const token = (JSON.parse(text) as { access_token?: unknown }).access_token;
        if (typeof token === "string" && token) this.tokens.add(token);
      } catch {
        // not a token response
      }
    }
    return response;
  };

  note(token: string): void {
    this.tokens.add(token);
  }

  /** Every (token, where) pair found; empty means no leak. */
  findLeaks(extraTexts: { where: string; text: string }[] = []): string[] {
    const texts = [...this.lines.map((text, i) => ({ where: `output line ${i}`, text })), ...extraTexts];
    const leaks: string[] = [];
    for (const token of this.tokens) {
      for (const { where, text } of texts) {
        if (text.includes(token)) leaks.push(`${where} contains an issued token`);
      }
    }
    return leaks;
  }
}
