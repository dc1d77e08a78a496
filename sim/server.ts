/** Composition root of the simulator: one HTTP server for OAuth, REST and WebSocket upgrades. */
import { createServer, type IncomingMessage, type ServerResponse, STATUS_CODES } from "node:http";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import { WebSocketServer } from "ws";
import { ChannelStore } from "./channels.ts";
import { ChaosRunner } from "./chaos.ts";
import { chaosTarget } from "./chaos-target.ts";
import { Connection, type ConnectionHooks, type ConnectionSettings } from "./connection.ts";
import { CorrelationModel } from "./correlation.ts";
import { newCounters } from "./counters.ts";
import { FaultQueue } from "./fault-queue.ts";
import { EventGenerator } from "./generator.ts";
import { GenericStreams, parseTopicsParam } from "./generic.ts";
import { BodyTooLargeError, genesysError, sendJson } from "./http-util.ts";
import { Hub } from "./hub.ts";
import { Ledger } from "./ledger.ts";
import { handleOAuth } from "./oauth.ts";
import { resolveOptions } from "./options.ts";
import { Permissions } from "./permissions.ts";
import { Publisher } from "./publisher.ts";
import { correlationPrefix, Random } from "./random.ts";
import { IdenticalRepeats } from "./repeats.ts";
import { bearerToken, handleRest } from "./rest.ts";
import { TokenStore } from "./tokens.ts";
import type { Simulator, SimulatorFaults, SimulatorOptions, SocketSelector } from "./types.ts";

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  const body = JSON.stringify(
    genesysError(status, status === 401 ? "bad.credentials" : "not.found", message),
  );
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nConnection: close\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export async function startSimulator(options: SimulatorOptions = {}): Promise<Simulator> {
  const settings = resolveOptions(options);
  const random = new Random(settings.seed);
  const counters = newCounters();
  const ledger = new Ledger(correlationPrefix(random));
  const hub = new Hub(random);
  const abort = new AbortController();
  const clients = new Map(settings.clients.map((client) => [client.clientId, client]));
  const channels = new ChannelStore(settings, hub, counters, random);
  const generic = new GenericStreams(hub, counters, settings.genericCloseCode);
  const permissions = new Permissions(settings.clients);
  const tokens = new TokenStore((token, reason) => {
    if (reason === "expired") counters.tokensExpired++;
    else counters.tokensRevoked++;
    if (reason === "revokedSilently") {
      channels.silenceByToken(token.fingerprint);
      generic.silenceByToken(token.fingerprint);
      return;
    }
    channels.killByToken(token.fingerprint);
    generic.closeByToken(token.fingerprint);
  });
  const configuredTopics = new Set(settings.topics);
  const upstreamTopics = (): string[] => {
    const known = hub.knownTopics();
    return known.every((topic) => configuredTopics.has(topic))
      ? [...configuredTopics]
      : [...new Set([...configuredTopics, ...known])];
  };
  const publisher = new Publisher(hub, ledger, counters, random);
  const correlation = new CorrelationModel(settings.correlationModel, settings.correlationGroupSize, random);
  const repeats = new IdenticalRepeats(
    {
      share: settings.identicalShare,
      kinds: settings.identicalKinds,
      minDelayMs: settings.identicalDelayMinMs,
      maxDelayMs: settings.identicalDelayMaxMs,
    },
    random,
    (event) => publisher.republish(event),
  );
  const generator = new EventGenerator({
    tickMs: settings.generatorTickMs,
    topics: () => upstreamTopics(),
    emit: (topic) => {
      const large = settings.largeEventShare > 0 && random.next() < settings.largeEventShare;
      const event = publisher.publish(topic, {
        correlationId: correlation.next(),
        frameBytes: large ? random.pick(settings.largeEventSizes) : undefined,
      });
      repeats.afterPublish(event);
    },
    beforeBatch: () => hub.corkAll(),
    afterBatch: () => hub.uncorkAll(),
  });
  const faultQueues = {
    oauth: new FaultQueue(),
    channelCreate: new FaultQueue(),
    subscriptions: new FaultQueue(),
  };
  const connectionSettings: ConnectionSettings = {
    heartbeatIntervalMs: settings.heartbeatIntervalMs,
    socketClosingGraceMs: settings.socketClosingGraceMs,
    socketClosingEveryMs: settings.socketClosingEveryMs,
  };
  const hooks: ConnectionHooks = {
    counters,
    ledger,
    onClosed(conn) {
      hub.removeConnection(conn);
      channels.detach(conn);
      generic.detach(conn);
    },
  };
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    autoPong: false,
    clientTracking: false,
  });
  let nextGenericId = 1;
  let wsBaseUrl = "";

  const onRequest = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? "/", "http://sim.invalid");
    if (url.pathname === "/oauth/token") {
      return handleOAuth(req, res, {
        clients,
        tokens,
        counters,
        faults: faultQueues.oauth,
        defaultLifetimeSec: settings.tokenLifetimeSec,
        signal: abort.signal,
      });
    }
    if (
      url.pathname === "/api/v2/notifications/channels" ||
      url.pathname.startsWith("/api/v2/notifications/channels/")
    ) {
      return handleRest(req, res, url, {
        permissions,
        tokens,
        channels,
        counters,
        channelCreateFaults: faultQueues.channelCreate,
        subscriptionFaults: faultQueues.subscriptions,
        maxTopicsPerChannel: settings.maxTopicsPerChannel,
        wsBaseUrl,
        signal: abort.signal,
      });
    }
    sendJson(res, 404, genesysError(404, "not.found", "no such resource"));
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on("error", () => socket.destroy());
    const url = new URL(req.url ?? "/", "http://sim.invalid");
    const channelMatch = /^\/channels\/([^/]+)$/.exec(url.pathname);
    if (channelMatch) {
      const channel = channels.get(decodeURIComponent(channelMatch[1]!));
      if (!channel) {
        counters.upgradesRejected++;
        return rejectUpgrade(socket, 404, "channel not found");
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        if (channels.get(channel.id) !== channel) {
          counters.upgradesRejected++;
          ws.terminate();
          return;
        }
        const conn = new Connection(
          `${channel.id}#${counters.socketsOpened + 1}`,
          "genesys",
          ws,
          connectionSettings,
          hooks,
          channel.id,
        );
        hub.addConnection(conn);
        channels.attach(channel, conn);
        repeats.onSocketOpened();
      });
      return;
    }
    if (url.pathname === "/stream") {
      const token = url.searchParams.get("access_token") ?? bearerToken(req.headers.authorization);
      const caller = token ? tokens.validate(token) : undefined;
      if (!caller) {
        counters.upgradesRejected++;
        return rejectUpgrade(socket, 401, "token missing, unknown or expired");
      }
      const topics = parseTopicsParam(url.searchParams.get("topics"));
      wss.handleUpgrade(req, socket, head, (ws) => {
        if (!tokens.validate(token!)) {
          counters.upgradesRejected++;
          ws.close(settings.genericCloseCode, "token expired");
          return;
        }
        const conn = new Connection(`generic-${nextGenericId++}`, "generic", ws, connectionSettings, hooks);
        hub.addConnection(conn);
        generic.add(conn, caller.fingerprint, topics);
      });
      return;
    }
    counters.upgradesRejected++;
    rejectUpgrade(socket, 404, "no such stream");
  };

  const server = createServer((req, res) => {
    onRequest(req, res).catch((error: unknown) => {
      if (res.headersSent) return void res.destroy();
      if (error instanceof BodyTooLargeError)
        return sendJson(res, 413, genesysError(413, "too.large", error.message));
      sendJson(res, 500, genesysError(500, "internal.server.error", "simulator error"));
    });
  });
  server.on("upgrade", onUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(settings.port, settings.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = settings.host === "0.0.0.0" || settings.host === "::" ? "127.0.0.1" : settings.host;
  const httpBase = `http://${urlHost}:${port}`;
  wsBaseUrl = `ws://${urlHost}:${port}`;

  const forEach = (which: SocketSelector, action: (conn: Connection) => boolean): number => {
    let n = 0;
    for (const conn of hub.select(which)) if (action(conn) !== false) n++;
    return n;
  };

  const faults: SimulatorFaults = {
    oauth: faultQueues.oauth,
    channelCreate: faultQueues.channelCreate,
    subscriptions: faultQueues.subscriptions,
    dropSocket: (which = "random") => forEach(which, (conn) => conn.drop()),
    halfOpen: (which = "random") => forEach(which, (conn) => conn.goHalfOpen()),
    setChannelLag: (which, lagMs, jitterMs = 0) => {
      if (!Number.isFinite(lagMs) || lagMs < 0 || !Number.isFinite(jitterMs) || jitterMs < 0)
        throw new RangeError("lag and jitter must be finite numbers >= 0");
      const all = channels.all();
      const chosen =
        which === "all"
          ? all
          : which === "random"
            ? [random.pick(all)].filter((c) => c !== undefined)
            : all.filter((c) => c.id === which);
      for (const channel of chosen) channels.setLag(channel, lagMs, jitterMs);
      return chosen.length;
    },
    sendSocketClosing: (which = "all") => forEach(which, (conn) => conn.sendSocketClosing()),
    killChannel: (channelId) => channels.kill(channelId),
    revokeToken: (tokenOrFingerprint) => tokens.revoke(tokenOrFingerprint),
    revokeTokenSilently: (tokenOrFingerprint) => tokens.revoke(tokenOrFingerprint, "revokedSilently"),
    maintenance: (clientId) => {
      let n = 0;
      for (const channel of channels.all()) {
        if (clientId !== undefined && channel.clientId !== clientId) continue;
        if (channel.conn?.sendSocketClosing("maintenance")) n++;
      }
      return n;
    },
    secondConsumer: (clientId = settings.clients[0]!.clientId, count = 1) => {
      if (!clients.has(clientId)) throw new RangeError(`unknown client ${clientId}`);
      const before = counters.channelsEvicted;
      for (let i = 0; i < count; i++) channels.createExternal(clientId);
      return counters.channelsEvicted - before;
    },
    forbidTopic: (topic, clientId) => {
      for (const id of clientId === undefined ? clients.keys() : [clientId]) {
        permissions.forbid(id, topic);
        for (const channel of channels.ofClient(id)) {
          const current = channels.topicsOf(channel);
          if (current.has(topic))
            channels.setTopics(
              channel,
              [...current].filter((t) => t !== topic),
            );
        }
      }
    },
    allowTopic: (topic, clientId) => {
      for (const id of clientId === undefined ? clients.keys() : [clientId]) permissions.allow(id, topic);
    },
    setSubscriptionDelay: (minMs, maxMs) => {
      if (!Number.isFinite(minMs) || minMs < 0 || !Number.isFinite(maxMs) || maxMs < minMs)
        throw new RangeError("subscription delay: need 0 <= minMs <= maxMs, both finite");
      settings.subscriptionDelayMinMs = minMs;
      settings.subscriptionDelayMaxMs = maxMs;
    },
    expireAllTokens: () => tokens.expireAll(),
  };

  const chaos =
    options.chaos === undefined
      ? undefined
      : new ChaosRunner(
          options.chaos,
          chaosTarget(options.chaos.clientId ?? settings.clients[0]!.clientId, {
            faults,
            settings,
            hub,
            channels,
            tokens,
            publisher,
            repeats,
            correlation,
            counters,
            upstreamTopics,
          }),
        );
  if (chaos && options.chaos?.autoStart !== false) chaos.start();
  const dropTimer =
    settings.randomDropEveryMs === undefined
      ? undefined
      : setInterval(() => faults.dropSocket("random"), settings.randomDropEveryMs);
  if (settings.eventRatePerSec > 0) generator.start(settings.eventRatePerSec);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      abort.abort();
      generator.stop();
      chaos?.stop();
      repeats.close();
      clearInterval(dropTimer);
      for (const conn of hub.allConnections()) conn.terminate();
      channels.close();
      tokens.close();
      wss.close();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    })();
    return closing;
  };

  return {
    loginUrl: httpBase,
    apiUrl: httpBase,
    genericStreamUrl: `${wsBaseUrl}/stream`,
    port,
    counters,
    faults,
    ledger,
    chaos,
    publish: (topic, body, opts) => publisher.publish(topic, { body, correlationId: opts?.correlationId }),
    publishIdentical: (previous) => publisher.republish(previous),
    publishLarge: (topic, frameBytes) => {
      if (!Number.isInteger(frameBytes) || frameBytes < 1)
        throw new RangeError("frameBytes must be an integer >= 1");
      return publisher.publish(topic, { frameBytes });
    },
    setCorrelationModel: (model) => correlation.set(model),
    startGenerator: (ratePerSec) =>
      generator.start(ratePerSec ?? (settings.eventRatePerSec > 0 ? settings.eventRatePerSec : 1)),
    stopGenerator: () => generator.stop(),
    cancelPendingRepeats: () => repeats.cancelPending(),
    subscribedTopics: () => hub.subscribedTopics(),
    upstreamTopics,
    openSockets: () => hub.info(),
    close,
  };
}
