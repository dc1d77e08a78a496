import { describe, expect, it } from "vitest";
import type { AuditRecord } from "../../../shared/contracts.ts";
import { toAuditRecord } from "../../../tools/audit/audit-item.ts";
import { createRecordWriter, csvCell, RECORD_FIELDS } from "../../../tools/audit/format.ts";
import { renderSummary, summarise } from "../../../tools/audit/summary.ts";
import { auditRecord } from "./records.ts";

const WORKER = "arn:aws:sts::111122223333:assumed-role/worker/task-1";
const OTHER = "arn:aws:sts::111122223333:assumed-role/analyst/alice";

function render(format: "table" | "jsonl" | "csv", records: AuditRecord[]): string {
  let out = "";
  const writer = createRecordWriter(format, (chunk) => {
    out += chunk;
  });
  for (const record of records) writer.write(record);
  writer.end();
  return out;
}

const later = auditRecord("2026-11-23T10:00:00.000Z", "handout", {
  callerArn: WORKER,
  fingerprint: "0123456789ab",
});
const earlier = auditRecord("2026-11-23T09:00:00.000Z", "mint", {
  fingerprint: "ba9876543210",
  expiresAtEpoch: 1,
});

describe("record output", () => {
  it("table: sorted by time, one row per record, a count line", () => {
    const lines = render("table", [later, earlier]).trimEnd().split("\n");
    expect(lines[0]).toMatch(/^TIME\s+ACTION\s+OUTCOME\s+PROFILE\s+LANE\s+PRINCIPAL/);
    expect(lines[2]).toContain("2026-11-23T09:00:00.000Z  mint");
    expect(lines[3]).toContain(WORKER);
    expect(lines[4]).toBe("2 record(s)");
  });

  it("table: says so when nothing matches", () => {
    expect(render("table", [])).toBe("No audit records match.\n");
  });

  it("table: control characters in stored values cannot reach the terminal", () => {
    const hostile = auditRecord("2026-11-23T09:00:00.000Z", "refusal", { sourceIp: "\u001b[2J1.2.3.4\n" });
    const out = render("table", [hostile]);
    expect(out).not.toContain("\u001b");
    expect(out).toContain("?[2J1.2.3.4?");
  });

  it("jsonl: one parseable object per record, every field, nothing else", () => {
    const lines = render("jsonl", [later, earlier]).trimEnd().split("\n");
    expect(lines.map((line) => JSON.parse(line))).toEqual([later, earlier]);
  });

  it("csv: header always, RFC 4180 quoting, formula injection neutralised", () => {
    expect(render("csv", [])).toBe(`${RECORD_FIELDS.join(",")}\n`);
    const tricky = auditRecord("2026-11-23T09:00:00.000Z", "failure", {
      detail: 'idp said "no", retry later',
      errorCode: '=HYPERLINK("http://x")',
    });
    const [header, row] = render("csv", [tricky]).trimEnd().split("\n");
    expect(header).toBe(RECORD_FIELDS.join(","));
    expect(row).toContain('"idp said ""no"", retry later"');
    expect(row).toContain(`"'=HYPERLINK(""http://x"")"`);
    expect(csvCell(undefined)).toBe("");
    expect(csvCell(1700000000)).toBe("1700000000");
    expect(csvCell("a\nb")).toBe('"a\nb"');
  });
});

describe("toAuditRecord", () => {
  it("copies known attributes only and rejects items without the key fields", () => {
    const item = { ...later, accessToken: "must-never-print", extra: 1 } as Record<string, unknown>;
    expect(toAuditRecord(item)).toEqual(later);
    expect(toAuditRecord({ pk: "x", sk: "y" })).toBeUndefined();
    expect(toAuditRecord({ ...later, time: 5 } as unknown as Record<string, unknown>)).toBeUndefined();
  });
});

describe("summary", () => {
  const records = [
    auditRecord("2026-11-23T09:00:00.000Z", "mint", { profile: "a" }),
    auditRecord("2026-11-23T09:05:00.000Z", "rotation", { profile: "a" }),
    auditRecord("2026-11-23T09:06:00.000Z", "rotation", { profile: "a" }),
    auditRecord("2026-11-23T09:07:00.000Z", "mint", { profile: "b" }),
    auditRecord("2026-11-23T09:01:00.000Z", "handout", { profile: "a", callerArn: WORKER }),
    auditRecord("2026-11-23T09:02:00.000Z", "handout", { profile: "a", callerArn: WORKER }),
    auditRecord("2026-11-23T09:03:00.000Z", "handout", { profile: "b", callerArn: OTHER }),
    auditRecord("2026-11-23T09:04:00.000Z", "refusal", { profile: "a", errorCode: "unauthenticated" }),
    auditRecord("2026-11-23T09:08:00.000Z", "refusal", {
      profile: "a",
      callerArn: OTHER,
      errorCode: "unknown_profile",
    }),
    auditRecord("2026-11-23T09:09:00.000Z", "failure", { profile: "b", errorCode: "idp_unavailable" }),
    auditRecord("2026-11-23T09:10:00.000Z", "failure", { profile: "b", errorCode: "idp_unavailable" }),
    // What the broker writes when the identity provider refuses a mint or a scheduled rotation.
    {
      ...auditRecord("2026-11-23T09:11:00.000Z", "mint", { profile: "b" }),
      outcome: "error" as const,
      errorCode: "idp_invalid_client",
    },
    {
      ...auditRecord("2026-11-23T09:12:00.000Z", "rotation", { profile: "b" }),
      outcome: "error" as const,
      errorCode: "idp_invalid_client",
    },
  ];

  it("counts hand-outs per principal, mints per profile, failures and refusals", () => {
    expect(summarise(records)).toEqual({
      records: 13,
      firstTime: "2026-11-23T09:00:00.000Z",
      lastTime: "2026-11-23T09:12:00.000Z",
      handoutsByPrincipal: [
        { principal: WORKER, profile: "a", count: 2 },
        { principal: OTHER, profile: "b", count: 1 },
      ],
      mintsByProfile: [
        { profile: "a", mints: 1, rotations: 2 },
        { profile: "b", mints: 1, rotations: 0 },
      ],
      failures: [
        { profile: "b", action: "failure", errorCode: "idp_unavailable", count: 2 },
        { profile: "b", action: "mint", errorCode: "idp_invalid_client", count: 1 },
        { profile: "b", action: "rotation", errorCode: "idp_invalid_client", count: 1 },
      ],
      refusals: [
        { principal: "(unauthenticated)", profile: "a", errorCode: "unauthenticated", count: 1 },
        { principal: OTHER, profile: "a", errorCode: "unknown_profile", count: 1 },
      ],
    });
  });

  it("is independent of record order", () => {
    expect(summarise([...records].reverse())).toEqual(summarise(records));
  });

  it("renders as sections, one JSON line, or CSV rows", () => {
    const summary = summarise(records);
    const table = renderSummary(summary, "table");
    expect(table).toContain("13 audit record(s) from 2026-11-23T09:00:00.000Z to 2026-11-23T09:12:00.000Z");
    expect(table).toMatch(/Hand-outs per principal\nPRINCIPAL\s+PROFILE\s+HAND-OUTS/);
    expect(table).toMatch(new RegExp(`${WORKER.replace(/[/.]/g, "\\$&")}\\s+a\\s+2`));
    expect(JSON.parse(renderSummary(summary, "jsonl"))).toEqual(summary);
    const csv = renderSummary(summary, "csv").trimEnd().split("\n");
    expect(csv[0]).toBe("section,principal,profile,action,errorCode,count");
    expect(csv).toContain(`handout,${WORKER},a,handout,,2`);
    expect(csv).toContain("rotation,,a,rotation,,2");
    expect(csv).toContain("failure,,b,failure,idp_unavailable,2");
    expect(csv).toContain("failure,,b,rotation,idp_invalid_client,1");
    expect(table).toMatch(/Failures\nPROFILE\s+ACTION\s+ERROR\s+COUNT/);
    expect(renderSummary(summarise([]), "table")).toContain("Failures\n(none)");
  });
});
