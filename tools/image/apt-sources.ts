/**
 * The Debian mirror this machine's apt uses (pure: the text of its sources files in, a URL out), so the
 * stand-in base image is bootstrapped from the same mirror the CI network allows.
 */

/** First `deb` URI serving `suite` from a Debian archive (not the security archive). */
export function debianMirror(sourcesFiles: string[], suite: string): string | undefined {
  for (const text of sourcesFiles) {
    for (const { uris, suites } of entries(text)) {
      if (!suites.includes(suite)) continue;
      const uri = uris.find((u) => /^https?:\/\//.test(u) && !/security/.test(u));
      if (uri) return uri.replace(/\/+$/, "");
    }
  }
  return undefined;
}

interface Entry {
  uris: string[];
  suites: string[];
}

/** Both formats: one-line `deb [opts] uri suite comps` and deb822 stanzas (Types/URIs/Suites). */
function entries(text: string): Entry[] {
  const out: Entry[] = [];
  const lines = text.split(/\r?\n/);
  for (const raw of lines) {
    const line = raw.replace(/#.*/, "").trim();
    const m = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line);
    if (m) out.push({ uris: [m[1]!], suites: [m[2]!] });
  }
  for (const stanza of text.split(/\n\s*\n/)) {
    const field = (name: string): string[] => {
      const m = new RegExp(`^${name}:\\s*(.*)$`, "im").exec(stanza.replace(/^#.*$/gm, ""));
      return m ? m[1]!.trim().split(/\s+/) : [];
    };
    if (!field("Types").includes("deb")) continue;
    if (/^Enabled:\s*no\b/im.test(stanza)) continue;
    out.push({ uris: field("URIs"), suites: field("Suites") });
  }
  return out;
}
