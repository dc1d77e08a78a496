/** Fresh simulator counters (types.ts documents each). */
import type { SimulatorCounters } from "./types.ts";

export function newCounters(): SimulatorCounters {
  return {
    tokenRequests: 0,
    tokensIssued: 0,
    oauthFailures: 0,
    tokensRevoked: 0,
    tokensExpired: 0,
    restRequests: 0,
    restUnauthorized: 0,
    channelsCreated: 0,
    channelsEvicted: 0,
    channelsDied: 0,
    channelCreateRejected: 0,
    subscriptionsPut: 0,
    subscriptionsPost: 0,
    subscriptionsDeleted: 0,
    subscriptionsRejected: 0,
    socketsOpened: 0,
    socketsClosed: 0,
    socketsKicked: 0,
    upgradesRejected: 0,
    heartbeatsSent: 0,
    pongsSent: 0,
    socketClosingSent: 0,
    forcedCloses: 0,
    drops: 0,
    halfOpens: 0,
    notFoundFramesSent: 0,
    genericExpiryCloses: 0,
    eventsEmitted: 0,
    eventFramesSent: 0,
    eventsUndelivered: 0,
  };
}
