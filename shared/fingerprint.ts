import { createHash } from "node:crypto";

/** Refers to a secret without revealing it: the first 12 hex characters of its SHA-256. */
export function fingerprint(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex").slice(0, 12);
}
