import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const libDir = fileURLToPath(new URL("../../lib/", import.meta.url));

/** Optional members of the exported `...Props` interfaces of lib/, with the JSDoc right above each. */
function optionalProps(): Array<{ where: string; doc: string }> {
  const found: Array<{ where: string; doc: string }> = [];
  for (const file of readdirSync(libDir).filter((f) => f.endsWith(".ts"))) {
    const text = readFileSync(join(libDir, file), "utf8");
    for (const block of text.matchAll(/export interface (\w+Props)\b[^{]*\{([\s\S]*?)\n\}/g)) {
      const body = block[2]!;
      for (const member of body.matchAll(/(\/\*\*(?:(?!\*\/)[\s\S])*\*\/\s*)?readonly (\w+)\?:/g)) {
        found.push({ where: `${file} ${block[1]}.${member[2]}`, doc: member[1] ?? "" });
      }
    }
  }
  return found;
}

describe("construct props", () => {
  it("document every optional prop with its @default", () => {
    const props = optionalProps();
    expect(props.length).toBeGreaterThan(30);
    const undocumented = props.filter((p) => !/@default\s+\S/.test(p.doc)).map((p) => p.where);
    expect(undocumented).toEqual([]);
  });
});
