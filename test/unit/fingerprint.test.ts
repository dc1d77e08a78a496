import { describe, expect, it } from "vitest";
import { fingerprint } from "../../shared/fingerprint.ts";

describe("fingerprint", () => {
  it("is the first 12 hex characters of the SHA-256", () => {
    // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    expect(fingerprint("abc")).toBe("ba7816bf8f01");
  });

  it("never contains the secret and differs per secret", () => {
    const a = fingerprint("token-a");
    expect(a).toMatch(/^[0-9a-f]{12}$/);
    expect(a).not.toContain("token-a");
    expect(fingerprint("token-b")).not.toBe(a);
  });
});
