import type { AuditRecord } from "../../shared/contracts.ts";
import { renderTextTable } from "../text-table.ts";
import type { OutputFormat } from "./args.ts";

/** Every exported field, in the order CSV columns appear. */
export const RECORD_FIELDS = [
  "time",
  "action",
  "outcome",
  "profile",
  "lane",
  "callerArn",
  "callerAccount",
  "sourceIp",
  "fingerprint",
  "secretVersion",
  "expiresAt",
  "errorCode",
  "detail",
  "requestId",
  "pk",
  "sk",
  "expiresAtEpoch",
] as const satisfies readonly (keyof AuditRecord)[];

/** The columns that fit a terminal; jsonl and csv carry every field. */
const TABLE_FIELDS = [
  "time",
  "action",
  "outcome",
  "profile",
  "lane",
  "callerArn",
  "sourceIp",
  "fingerprint",
  "secretVersion",
  "errorCode",
  "requestId",
] as const satisfies readonly (keyof AuditRecord)[];

const TABLE_HEADERS: Record<(typeof TABLE_FIELDS)[number], string> = {
  time: "TIME",
  action: "ACTION",
  outcome: "OUTCOME",
  profile: "PROFILE",
  lane: "LANE",
  callerArn: "PRINCIPAL",
  sourceIp: "SOURCE IP",
  fingerprint: "FINGERPRINT",
  secretVersion: "VERSION",
  errorCode: "ERROR",
  requestId: "REQUEST ID",
};

export interface RecordWriter {
  write(record: AuditRecord): void;
  /** Flushes what the format buffers (the table is sorted, so it is printed at the end). */
  end(): void;
}

/** jsonl and csv stream in retrieval order (time order within a profile); the table is sorted by time. */
export function createRecordWriter(format: OutputFormat, out: (chunk: string) => void): RecordWriter {
  switch (format) {
    case "jsonl":
      return {
        write: (record) => out(`${JSON.stringify(pick(record, RECORD_FIELDS))}\n`),
        end: () => {},
      };
    case "csv": {
      let headerWritten = false;
      const header = () => {
        if (!headerWritten) out(`${RECORD_FIELDS.join(",")}\n`);
        headerWritten = true;
      };
      return {
        write: (record) => {
          header();
          out(`${RECORD_FIELDS.map((field) => csvCell(record[field])).join(",")}\n`);
        },
        end: header,
      };
    }
    case "table": {
      const buffered: AuditRecord[] = [];
      return {
        write: (record) => buffered.push(record),
        end: () => {
          if (buffered.length === 0) {
            out("No audit records match.\n");
            return;
          }
          buffered.sort(byTime);
          const rows = buffered.map((record) => TABLE_FIELDS.map((field) => String(record[field] ?? "")));
          out(`${renderTextTable(TABLE_HEADERS_LIST, rows)}\n${buffered.length} record(s)\n`);
        },
      };
    }
  }
}

const TABLE_HEADERS_LIST = TABLE_FIELDS.map((field) => TABLE_HEADERS[field]);

export function byTime(a: AuditRecord, b: AuditRecord): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : a.sk < b.sk ? -1 : a.sk > b.sk ? 1 : 0;
}

/**
 * RFC 4180 quoting, plus the spreadsheet formula-injection guard: a cell starting with = + - @ or a control
 * character is prefixed with a quote so a spreadsheet shows it as text instead of evaluating it.
 */
export function csvCell(value: string | number | undefined): string {
  if (value === undefined) return "";
  let text = String(value);
  if (typeof value === "string" && /^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function pick(record: AuditRecord, fields: readonly (keyof AuditRecord)[]): Partial<AuditRecord> {
  const out: Record<string, unknown> = {};
  for (const field of fields) if (record[field] !== undefined) out[field] = record[field];
  return out as Partial<AuditRecord>;
}
