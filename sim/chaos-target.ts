/** Wires the chaos schedule to the simulator's parts (the composition root stays small). */
import type { ChannelStore } from "./channels.ts";
import type { ChaosTarget } from "./chaos.ts";
import type { CorrelationModel } from "./correlation.ts";
import type { Hub } from "./hub.ts";
import type { ResolvedOptions } from "./options.ts";
import type { Publisher } from "./publisher.ts";
import type { IdenticalRepeats } from "./repeats.ts";
import type { TokenStore } from "./tokens.ts";
import type { SimulatorCounters, SimulatorFaults } from "./types.ts";

export interface ChaosTargetDeps {
  faults: SimulatorFaults;
  settings: ResolvedOptions;
  hub: Hub;
  channels: ChannelStore;
  tokens: TokenStore;
  publisher: Publisher;
  repeats: IdenticalRepeats;
  correlation: CorrelationModel;
  counters: SimulatorCounters;
  upstreamTopics(): string[];
}

export function chaosTarget(clientId: string, d: ChaosTargetDeps): ChaosTarget {
  return {
    faults: d.faults,
    clientId,
    upstreamTopics: d.upstreamTopics,
    openChannelIds: () =>
      d.channels
        .all()
        .filter((channel) => channel.conn?.deliverable)
        .map((channel) => channel.id),
    kick: (random) => {
      const victim = random.pick(d.hub.allConnections().filter((c) => c.kind === "genesys" && c.deliverable));
      if (!victim) return false;
      d.counters.socketsKicked++;
      victim.close(1000, "replaced by a new connection");
      return true;
    },
    setSubscriptionDelay: (minMs, maxMs) => d.faults.setSubscriptionDelay(minMs, maxMs),
    channelCount: (id) => d.channels.ofClient(id).length,
    maxChannels: d.settings.maxChannelsPerClient,
    pickTokenWithSocket: (random) => {
      const live = new Set(d.tokens.liveFingerprints());
      const owners = d.channels
        .all()
        .filter(
          (channel) => channel.conn?.deliverable && !channel.silenced && live.has(channel.tokenFingerprint),
        )
        .map((channel) => channel.tokenFingerprint);
      return random.pick([...new Set(owners)]);
    },
    publishLarge: (topic, frameBytes) => void d.publisher.publish(topic, { frameBytes }),
    largeEventSizes: d.settings.largeEventSizes,
    repeatLast: (kind) => {
      if (!d.repeats.last) return false;
      d.repeats.schedule(d.repeats.last, kind);
      return true;
    },
    setCorrelationModel: (model) => d.correlation.set(model),
  };
}
