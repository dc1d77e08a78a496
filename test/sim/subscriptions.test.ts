import { afterEach, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../../sim/index.ts";
import { planSubscription } from "../../sim/subscriptions.ts";
import { api, createChannel, getToken } from "./helpers.ts";

let sim: Simulator;
afterEach(async () => {
  await sim?.close();
});

const ids = (res: { json: unknown }) =>
  ((res.json as { entities: { id: string }[] }).entities ?? []).map((e) => e.id);
const topics = (...names: string[]) => names.map((id) => ({ id }));

async function setup(options = {}) {
  sim = await startSimulator(options);
  const token = await getToken(sim);
  const channel = await createChannel(sim, token);
  const path = `/channels/${channel.id}/subscriptions`;
  return { token, channel, path };
}

describe("subscriptions", () => {
  it("PUT replaces, POST adds, GET lists, DELETE removes all", async () => {
    const { token, path } = await setup();
    const put = await api(sim, token, "PUT", path, topics("a", "b"));
    expect(put.status).toBe(200);
    expect(ids(put).sort()).toEqual(["a", "b"]);
    const post = await api(sim, token, "POST", path, topics("c", "a"));
    expect(post.status).toBe(200);
    expect(ids(post).sort()).toEqual(["a", "b", "c"]);
    expect(ids(await api(sim, token, "GET", path)).sort()).toEqual(["a", "b", "c"]);
    expect(sim.subscribedTopics().sort()).toEqual(["a", "b", "c"]);
    const replaced = await api(sim, token, "PUT", path, topics("d"));
    expect(ids(replaced)).toEqual(["d"]);
    expect(sim.subscribedTopics()).toEqual(["d"]);
    expect((await api(sim, token, "DELETE", path)).status).toBe(204);
    expect(ids(await api(sim, token, "GET", path))).toEqual([]);
    expect(sim.subscribedTopics()).toEqual([]);
    expect(sim.counters.subscriptionsPut).toBe(2);
    expect(sim.counters.subscriptionsPost).toBe(1);
    expect(sim.counters.subscriptionsDeleted).toBe(1);
  });

  it("caps a channel at maxTopicsPerChannel (1000 by default): 400 and no change", async () => {
    const { token, path } = await setup();
    const thousand = Array.from({ length: 1000 }, (_, i) => ({ id: `topic.${i}` }));
    expect((await api(sim, token, "PUT", path, thousand)).status).toBe(200);
    const over = await api(sim, token, "POST", path, topics("one.more"));
    expect(over.status).toBe(400);
    expect((over.json as { code: string }).code).toBe("notification.channel.topic.limit");
    expect(ids(await api(sim, token, "GET", path))).toHaveLength(1000);
    const tooMany = Array.from({ length: 1001 }, (_, i) => ({ id: `x.${i}` }));
    expect((await api(sim, token, "PUT", path, tooMany)).status).toBe(400);
    expect(ids(await api(sim, token, "GET", path))).toContain("topic.0");
    expect(sim.counters.subscriptionsRejected).toBe(2);
  });

  it("one denied topic 403s the whole request; ignoreErrors=true subscribes the rest", async () => {
    const { token, path } = await setup({
      clients: [{ clientId: "sim-client", clientSecret: "sim-secret", deniedTopics: ["secret.topic"] }],
    });
    await api(sim, token, "PUT", path, topics("keep"));
    const denied = await api(sim, token, "PUT", path, topics("ok", "secret.topic"));
    expect(denied.status).toBe(403);
    expect((denied.json as { status: number }).status).toBe(403);
    expect(ids(await api(sim, token, "GET", path))).toEqual(["keep"]);
    const deniedPost = await api(sim, token, "POST", path, topics("ok", "secret.topic"));
    expect(deniedPost.status).toBe(403);
    const partial = await api(sim, token, "POST", `${path}?ignoreErrors=true`, topics("ok", "secret.topic"));
    expect(partial.status).toBe(200);
    // ChannelTopicEntityListing: subscribed topics "Permitted", refused ones "Rejected" with a reason.
    const entities = (partial.json as { entities: { id: string; state: string; rejectionReason?: string }[] })
      .entities;
    expect(
      entities
        .filter((e) => e.state === "Permitted")
        .map((e) => e.id)
        .sort(),
    ).toEqual(["keep", "ok"]);
    expect(entities.filter((e) => e.state === "Rejected")).toEqual([
      expect.objectContaining({ id: "secret.topic", rejectionReason: expect.any(String) }),
    ]);
    expect(ids(await api(sim, token, "GET", path)).sort()).toEqual(["keep", "ok"]);
  });

  it("malformed bodies are 400 without a crash", async () => {
    const { token, path } = await setup();
    expect((await api(sim, token, "PUT", path, "{not json")).status).toBe(400);
    expect((await api(sim, token, "PUT", path, { id: "x" })).status).toBe(400);
    expect((await api(sim, token, "PUT", path, [{ name: "x" }])).status).toBe(400);
    expect((await api(sim, token, "PUT", path, [{ id: "" }])).status).toBe(400);
    expect((await api(sim, token, "PUT", path, topics("fine"))).status).toBe(200);
  });

  it("unknown channel is 404, bad token 401, faults apply", async () => {
    const { token, path } = await setup();
    expect((await api(sim, token, "GET", "/channels/streaming-0-unknown/subscriptions")).status).toBe(404);
    expect((await api(sim, "bogus", "GET", path)).status).toBe(401);
    sim.faults.subscriptions.next(1, { status: 429, retryAfterSec: 2 });
    const limited = await api(sim, token, "PUT", path, topics("a"));
    expect(limited.status).toBe(429);
    expect(limited.headers.get("retry-after")).toBe("2");
    expect((await api(sim, token, "PUT", path, topics("a"))).status).toBe(200);
  });

  it("another token of the same client may manage the channel", async () => {
    const { path } = await setup();
    const other = await getToken(sim);
    expect((await api(sim, other, "PUT", path, topics("a"))).status).toBe(200);
  });
});

describe("planSubscription (pure rules)", () => {
  const rules = { deniedTopics: new Set(["no"]), ignoreErrors: false, maxTopics: 3 };
  it("dedupes and counts the union for add", () => {
    expect(planSubscription("add", new Set(["a", "b"]), topics("b", "c"), rules)).toEqual({
      ok: true,
      topics: ["a", "b", "c"],
      rejected: [],
    });
    expect(planSubscription("add", new Set(["a", "b"]), topics("c", "d"), rules)).toMatchObject({
      ok: false,
      status: 400,
    });
    expect(planSubscription("replace", new Set(["a", "b"]), topics("c", "d"), rules)).toEqual({
      ok: true,
      topics: ["c", "d"],
      rejected: [],
    });
  });
  it("denied topics: 403 unless ignoreErrors", () => {
    expect(planSubscription("replace", new Set(), topics("x", "no"), rules)).toMatchObject({
      ok: false,
      status: 403,
    });
    expect(
      planSubscription("replace", new Set(), topics("x", "no"), { ...rules, ignoreErrors: true }),
    ).toEqual({
      ok: true,
      topics: ["x"],
      rejected: ["no"],
    });
  });
});
