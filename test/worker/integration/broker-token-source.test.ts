import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import type { BrokerErrorResponse, BrokerTokenResponse } from "../../../shared/contracts.ts";
import { fingerprint } from "../../../shared/fingerprint.ts";
import { BrokerTokenSource } from "../../../worker/token/broker-token-source.ts";
import { TokenSourceError } from "../../../worker/token/token-source.ts";

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage["headers"];
  body: string;
}

let server: Server;
let baseUrl: string;
let seen: Seen[];
let reply: (req: Seen) => { status: number; body: unknown };
let tokenN = 0;
let retryAfter: string | undefined;

function tokenBody(lifetimeMs = 60_000): BrokerTokenResponse {
  const accessToken = `broker-token-${++tokenN}-${"x".repeat(20)}`;
  return {
    accessToken,
    expiresAt: new Date(Date.now() + lifetimeMs).toISOString(),
    fingerprint: fingerprint(accessToken),
    version: `v${tokenN}`,
  };
}

beforeEach(async () => {
  seen = [];
  retryAfter = undefined;
  reply = () => ({ status: 200, body: tokenBody() });
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (c: Buffer) => {
      body += c.toString("utf8");
    });
    req.on("end", () => {
      const s = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body };
      seen.push(s);
      const authz = String(req.headers.authorization ?? "");
      const wellFormed =
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/eu-west-1\/lambda\/aws4_request, SignedHeaders=[a-z0-9;-]+, Signature=[0-9a-f]{64}$/.test(
          authz,
        ) &&
        typeof req.headers["x-amz-date"] === "string" &&
        String(authz).includes("host");
      if (!wellFormed) {
        const err: BrokerErrorResponse = { error: { code: "unauthenticated", message: "missing signature" } };
        res.writeHead(403, { "content-type": "application/json" }).end(JSON.stringify(err));
        return;
      }
      const r = reply(s);
      res
        .writeHead(r.status, {
          "content-type": "application/json",
          "cache-control": "no-store",
          ...(retryAfter === undefined ? {} : { "retry-after": retryAfter }),
        })
        .end(typeof r.body === "string" ? r.body : JSON.stringify(r.body));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterEach(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

const credentials = {
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
};
const sourceOptions = () => ({ brokerUrl: baseUrl, profile: "main", region: "eu-west-1", credentials });
const source = () => new BrokerTokenSource(sourceOptions());

describe("BrokerTokenSource against a SigV4-checking HTTP server", () => {
  it("GETs /token?profile with a SigV4 (service lambda) signature, single-flight and cached", async () => {
    const src = source();
    const [a, b] = await Promise.all([src.current(), src.current()]);
    expect(b).toBe(a);
    expect(await src.current()).toBe(a);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.method).toBe("GET");
    expect(seen[0]?.url).toBe("/token?profile=main");
    expect(a.fingerprint).toBe(fingerprint(a.accessToken));
    expect(a.expiresAtMs).toBeGreaterThan(Date.now());
  });

  it("POSTs /token/refresh with the rejected fingerprint (signed body) and returns the new token", async () => {
    const src = source();
    const first = await src.current();
    reply = (req) => {
      expect(JSON.parse(req.body)).toEqual({ profile: "main", rejectedFingerprint: first.fingerprint });
      return { status: 200, body: tokenBody() };
    };
    const next = await src.refresh(first.fingerprint);
    expect(next.fingerprint).not.toBe(first.fingerprint);
    expect(seen[1]?.method).toBe("POST");
    expect(seen[1]?.url).toBe("/token/refresh");
    expect(seen[1]?.headers["x-amz-content-sha256"] ?? seen[1]?.headers.authorization).toBeDefined();
    // A refresh for the old token again: the cached newer one answers, no broker call.
    expect(await src.refresh(first.fingerprint)).toBe(next);
    expect(seen).toHaveLength(2);
  });

  it("refetches once the token passes its refresh point", async () => {
    let now = Date.now();
    const src = new BrokerTokenSource({
      brokerUrl: baseUrl,
      profile: "main",
      region: "eu-west-1",
      credentials,
      now: () => now,
    });
    const a = await src.current();
    now += 40_000; // beyond half of the 60 s life left when it was obtained
    const b = await src.current();
    expect(b.fingerprint).not.toBe(a.fingerprint);
    expect(seen).toHaveLength(2);
  });

  it("maps broker error bodies to typed errors (permanent vs transient)", async () => {
    const src = source();
    reply = () => ({ status: 404, body: { error: { code: "unknown_profile", message: "no such profile" } } });
    await expect(src.current()).rejects.toMatchObject({
      code: "unknown_profile",
      permanent: true,
      status: 404,
    });
    reply = () => ({ status: 503, body: { error: { code: "idp_unavailable", message: "try later" } } });
    await expect(src.current()).rejects.toMatchObject({ code: "idp_unavailable", permanent: false });
    reply = () => ({ status: 502, body: "<html>bad gateway</html>" });
    await expect(src.current()).rejects.toMatchObject({ code: "http_502", permanent: false });
  });

  it("asks for a slot's own token lane (lane 0 without the parameter), each lane cached on its own", async () => {
    const src = source();
    const a = await src.current(0);
    const b = await src.current(1);
    expect(seen.map((r) => new URL(r.url, "http://x").searchParams.get("lane"))).toEqual([null, "1"]);
    expect(await src.current(1)).toBe(b);
    expect(await src.current(0)).toBe(a);
    await src.refresh(b.fingerprint, 1);
    expect(JSON.parse(seen[2]!.body)).toEqual({
      profile: "main",
      rejectedFingerprint: b.fingerprint,
      lane: 1,
    });
  });

  it("a 403/404 without a permanent code stays transient (the supervisor bounds them per slot)", async () => {
    const src = source();
    reply = () => ({
      status: 403,
      body: { error: { code: "unauthenticated", message: "signature expired" } },
    });
    for (let i = 0; i < 7; i++) {
      await expect(src.current()).rejects.toMatchObject({
        code: "unauthenticated",
        permanent: false,
        status: 403,
      });
    }
    reply = () => ({ status: 404, body: "not found" });
    await expect(src.current()).rejects.toMatchObject({ code: "http_404", permanent: false, status: 404 });
    reply = () => ({ status: 200, body: tokenBody() });
    await expect(src.current()).resolves.toMatchObject({ fingerprint: expect.any(String) });
  });

  it("carries the broker's Retry-After for the supervisor to wait out exactly", async () => {
    const src = source();
    retryAfter = "7";
    reply = () => ({ status: 503, body: { error: { code: "token_unavailable", message: "busy" } } });
    await expect(src.current()).rejects.toMatchObject({ code: "token_unavailable", retryAfterMs: 7_000 });
    retryAfter = undefined;
    await expect(src.current()).rejects.toMatchObject({ retryAfterMs: undefined });
  });

  it("rejects garbage and a fingerprint mismatch without echoing the token", async () => {
    const src = source();
    reply = () => ({ status: 200, body: "not json" });
    await expect(src.current()).rejects.toMatchObject({ code: "broker_bad_response" });
    const body = tokenBody();
    reply = () => ({ status: 200, body: { ...body, fingerprint: "000000000000" } });
    const err = await src.current().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenSourceError);
    expect(String((err as Error).message)).not.toContain(body.accessToken);
  });

  it("an unsigned request is refused by the server (the check above can fail)", async () => {
    const res = await fetch(`${baseUrl}/token?profile=main`);
    expect(res.status).toBe(403);
  });
});
