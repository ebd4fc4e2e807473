import http from 'node:http';
import type { Duplex } from 'node:stream';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import { Aedes, type Client } from 'aedes';
import { WebSocketServer, createWebSocketStream } from 'ws';
import type { Logger } from 'pino';
import { GuardpostError } from '../errors.js';
import type { BrokerPolicy, MessageHandler, MqttTransport, PublishOptions } from './mqtt.js';
import { ConnectionGate, DEFAULT_MQTT_LIMITS, GuardedConnection, topicProblem, type LimitReport, type MqttLimits } from './mqttGuard.js';

export interface BrokerTlsOptions {
  readonly cert: Buffer;
  readonly key: Buffer;
  /** The CA that signs client certificates. */
  readonly ca?: Buffer;
  readonly clientCertificates: 'off' | 'optional' | 'required';
}

export interface EmbeddedBrokerOptions<P> {
  readonly host: string;
  readonly port: number;
  readonly policy: BrokerPolicy<P>;
  readonly logger: Logger;
  /** The plain MQTT listener on host:port (default on). */
  readonly plain?: boolean;
  /** MQTT over TLS. */
  readonly tls?: BrokerTlsOptions & { readonly host: string; readonly port: number };
  /** MQTT over WebSocket; with `tls`, wss:// on the same certificate. */
  readonly websocket?: { readonly host: string; readonly port: number; readonly path: string; readonly tls?: BrokerTlsOptions };
  /** A TLS handshake refused (bad, expired or unknown certificate): for a counter. */
  readonly onTlsRefused?: (listener: ListenerKind, reason: string, remoteAddress: string | null) => void;
  readonly limits?: MqttLimits;
  /** A client broke a limit and was refused or cut off [SEC-BROKER-LIMITS]. */
  readonly onLimit?: (report: LimitReport) => void;
}

/** The address a client connected from, as our guarded connection recorded it. */
function addressOf(client: Client): string {
  return (client.conn as { remoteAddress?: string } | undefined)?.remoteAddress ?? 'unknown';
}

export type ListenerKind = 'mqtt' | 'mqtts' | 'ws' | 'wss';

interface Listener {
  readonly kind: ListenerKind;
  readonly server: net.Server;
  port: number;
}

/** How long a stop waits for subscribers' sockets to take what was already queued for them. */
const FLUSH_ON_STOP_MS = 500;

/** The embedded aedes broker. The gateway itself publishes and subscribes in-process. */
export class EmbeddedBroker<P> implements MqttTransport {
  readonly mode = 'embedded' as const;
  private broker: Aedes | undefined;
  private listeners: Listener[] = [];
  private readonly principals = new WeakMap<Client, P>();
  /** The verified client certificate's common name per connection (TLS and wss listeners). */
  private readonly certificateNames = new WeakMap<object, string>();
  /** Why a connection's client certificate was refused: its MQTT login is then refused too. */
  private readonly certificateRefusals = new WeakMap<object, string>();
  /** False once the gateway is stopping: no new connections, no new publishes [OPS-SHUTDOWN]. */
  private accepting = true;
  /** Client publishes authorised but not yet delivered to the subscribers (the site runtime). */
  private inFlight = 0;
  private readonly drainWaiters = new Set<() => void>();
  private readonly connected = new Set<Client>();
  private readonly subscriptions = new WeakMap<Client, Set<string>>();

  constructor(private readonly options: EmbeddedBrokerOptions<P>) {}

  /** The plain port actually listened on (or the first other listener's when plain is off). */
  get port(): number {
    return this.listeners[0]?.port ?? 0;
  }

  /** Clients connected now, all listeners together. */
  get clientCount(): number {
    return this.broker?.connectedClients ?? 0;
  }

  /** Every listener's port, as bound (a configured 0 becomes the ephemeral port chosen). */
  get ports(): Partial<Record<ListenerKind, number>> {
    return Object.fromEntries(this.listeners.map((listener) => [listener.kind, listener.port]));
  }

  async start(): Promise<void> {
    const { policy, logger } = this.options;
    const limits = this.options.limits ?? DEFAULT_MQTT_LIMITS;
    const gate = new ConnectionGate(limits);
    const report = (item: LimitReport): void => {
      logger.warn(item, 'MQTT client over a limit; refused');
      this.options.onLimit?.(item);
    };
    const owner = (principal: P): string => policy.identify?.(principal) ?? JSON.stringify(principal);
    /** [SEC-BROKER-LIMITS] a new connection: counted and rate-checked, its bytes framed-checked before aedes sees them. */
    const guard = (socket: net.Socket | Duplex, address: string): GuardedConnection | null => {
      const refusal = gate.admit(address);
      if (refusal !== null) {
        socket.destroy();
        report({ ...refusal, address, clientId: null });
        return null;
      }
      socket.once('close', () => gate.closed());
      const connection: GuardedConnection = new GuardedConnection(socket, address, limits.maxPacketBytes, (reason, detail) =>
        report({ reason, address, clientId: (connection as unknown as { client?: Client }).client?.id ?? null, detail }),
      );
      return connection;
    };
    const broker = await Aedes.createBroker({
      drainTimeout: 30_000,
      connectTimeout: limits.connectTimeoutMs,
      queueLimit: limits.maxQueuedPerClient,
      maxInflightInbound: limits.maxQueuedPerClient,
      maxTopicLevels: Math.min(100, limits.maxTopicLevels),
    });
    this.broker = broker;

    broker.authenticate = (client, username, password, done) => {
      if (!this.accepting) return done(Object.assign(new Error('the gateway is stopping'), { returnCode: 3 as const }), false);
      const address = addressOf(client);
      // [SEC-BROKER-THROTTLE] an address that keeps failing gets no more password checks for a while.
      if (gate.loginThrottled(address)) {
        report({ reason: 'login_throttled', address, clientId: client.id, detail: `more than ${limits.failedLoginsPerAddress} failed logins from ${address}` });
        return done(Object.assign(new Error('not authorised'), { returnCode: 5 as const }), false);
      }
      const certificateRefused = this.certificateRefusals.get(client.conn);
      if (certificateRefused !== undefined) {
        policy.refused({ action: 'connect', clientId: client.id, username: username ?? null, principal: null, topic: null });
        return done(Object.assign(new Error(`client certificate refused: ${certificateRefused}`), { returnCode: 5 as const }), false);
      }
      // A verified client certificate names its device: it may log in as that device only.
      const certificateName = this.certificateNames.get(client.conn);
      if (certificateName !== undefined && certificateName !== username) {
        policy.refused({ action: 'connect', clientId: client.id, username: username ?? null, principal: null, topic: null });
        logger.warn({ clientId: client.id, username, certificate: certificateName }, 'MQTT login refused: the user name is not the client certificate\'s common name');
        return done(Object.assign(new Error('not authorised'), { returnCode: 5 as const }), false);
      }
      policy.authenticate(client.id, username, password).then(
        (principal) => {
          if (principal === null) {
            gate.loginFailed(address);
            policy.refused({ action: 'connect', clientId: client.id, username: username ?? null, principal: null, topic: null });
            const error = Object.assign(new Error('not authorised'), { returnCode: 5 as const });
            done(error, false);
            return;
          }
          // [SEC-BROKER-CLIENTID] a client id belongs to the login that holds it: no one may take
          // over a device's connection or persistent session by reusing its id.
          if (!gate.claim(client.id, owner(principal), !client.clean)) {
            report({ reason: 'client_id_taken', address, clientId: client.id, detail: `client id ${JSON.stringify(client.id.slice(0, 64))} is held by another login` });
            done(Object.assign(new Error('client id in use by another login'), { returnCode: 2 as const }), false);
            return;
          }
          this.principals.set(client, principal);
          done(null, true);
        },
        (error: unknown) => {
          logger.error({ err: error, clientId: client.id }, 'MQTT authentication failed with an error');
          done(Object.assign(new Error('server unavailable'), { returnCode: 3 as const }), false);
        },
      );
    };

    broker.authorizePublish = (client, packet, done) => {
      // client is null only for wills of clients long gone; they were authorised when set.
      if (client === null) return done(null);
      // Refused without a PUBACK, so the device keeps the read and sends it to the next gateway run.
      if (!this.accepting) return done(new Error('the gateway is stopping'));
      const principal = this.principals.get(client);
      const problem = topicProblem(packet.topic, limits);
      if (problem !== null) {
        report({ reason: 'bad_topic', address: addressOf(client), clientId: client.id, detail: problem });
        return done(new Error(`publish refused: ${problem}`));
      }
      if (principal === undefined || !policy.mayPublish(principal, packet.topic) || policy.mayPublishPayload?.(principal, packet.topic, Buffer.from(packet.payload)) === false) {
        policy.refused({ action: 'publish', clientId: client.id, username: null, principal: principal ?? null, topic: packet.topic });
        return done(new Error(`publish to ${packet.topic} not authorised`));
      }
      // Counted only once authorised: a refused publish never reaches the subscribers.
      this.inFlight++;
      done(null);
    };
    broker.on('client', (client) => this.connected.add(client));
    broker.on('clientDisconnect', (client) => {
      this.connected.delete(client);
      const principal = this.principals.get(client);
      if (principal !== undefined) gate.release(client.id, owner(principal));
    });
    // Emitted once a publish reached every subscriber, the gateway's own handlers included.
    broker.on('publish', (_packet, client) => {
      if (client === null || this.inFlight === 0) return;
      this.inFlight--;
      if (this.inFlight === 0) for (const resolve of this.drainWaiters) resolve();
    });

    broker.authorizeSubscribe = (client, subscription, done) => {
      const principal = this.principals.get(client);
      const problem = topicProblem(subscription.topic, limits);
      if (problem !== null) {
        report({ reason: 'bad_topic', address: addressOf(client), clientId: client.id, detail: problem });
        return done(null, null);
      }
      const held = this.subscriptions.get(client) ?? new Set<string>();
      if (!held.has(subscription.topic) && held.size >= limits.maxSubscriptionsPerClient) {
        report({ reason: 'too_many_subscriptions', address: addressOf(client), clientId: client.id, detail: `more than ${limits.maxSubscriptionsPerClient} subscriptions` });
        return done(null, null);
      }
      if (principal === undefined || !policy.maySubscribe(principal, subscription.topic)) {
        policy.refused({ action: 'subscribe', clientId: client.id, username: null, principal: principal ?? null, topic: subscription.topic });
        // A null subscription answers SUBACK 0x80 (failure) without dropping the connection.
        return done(null, null);
      }
      held.add(subscription.topic);
      this.subscriptions.set(client, held);
      done(null, subscription);
    };
    // [SEC-BROKER-FORWARD] every delivery is checked again: a device removed from the site, or
    // whose rights changed since it subscribed, stops receiving at once.
    broker.authorizeForward = (client, packet) => {
      const principal = this.principals.get(client);
      return principal !== undefined && policy.maySubscribe(principal, packet.topic) ? packet : null;
    };
    broker.on('unsubscribe', (topics, client) => {
      const held = client === null ? undefined : this.subscriptions.get(client);
      for (const topic of topics) held?.delete(topic);
    });

    broker.on('clientError', (client, error) => logger.debug({ clientId: client.id, err: error.message }, 'MQTT client error'));
    broker.on('connectionError', (client, error) => logger.debug({ clientId: client?.id, err: error.message }, 'MQTT connection error'));

    try {
      const plain = net.createServer((socket) => {
        const connection = guard(socket, socket.remoteAddress ?? 'unknown');
        if (connection !== null) broker.handle(connection as unknown as net.Socket);
      });
      if (this.options.plain !== false) await this.listen('mqtt', plain, this.options.host, this.options.port);
      const tlsOptions = this.options.tls;
      if (tlsOptions !== undefined) {
        const server = tls.createServer(serverTlsOptions(tlsOptions), (socket) => {
          const connection = guard(socket, socket.remoteAddress ?? 'unknown');
          if (connection === null) return;
          this.checkCertificate('mqtts', socket, tlsOptions.clientCertificates, connection);
          broker.handle(connection as unknown as net.Socket);
        });
        await this.listen('mqtts', server, tlsOptions.host, tlsOptions.port);
      }
      const ws = this.options.websocket;
      if (ws !== undefined) {
        const kind: ListenerKind = ws.tls === undefined ? 'ws' : 'wss';
        const upgradeOnly = (_request: http.IncomingMessage, response: http.ServerResponse): void => {
          response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' }).end(`MQTT over WebSocket only, at ${ws.path}\n`);
        };
        const server = ws.tls === undefined ? http.createServer(upgradeOnly) : https.createServer(serverTlsOptions(ws.tls), upgradeOnly);
        const wss = new WebSocketServer({ server, path: ws.path });
        wss.on('connection', (socket, request) => {
          const connection = guard(createWebSocketStream(socket), request.socket.remoteAddress ?? 'unknown');
          if (connection === null) return;
          if (ws.tls !== undefined && request.socket instanceof tls.TLSSocket) this.checkCertificate('wss', request.socket, ws.tls.clientCertificates, connection);
          broker.handle(connection as unknown as Duplex, request);
        });
        wss.on('error', (error) => logger.debug({ err: error.message }, 'MQTT WebSocket error'));
        await this.listen(kind, server, ws.host, ws.port);
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  private async listen(kind: ListenerKind, server: net.Server, host: string, port: number): Promise<void> {
    if (server instanceof tls.Server) {
      // A refused handshake never reaches MQTT: log it and count it here.
      server.on('tlsClientError', (error, socket) => {
        this.options.logger.warn({ listener: kind, remoteAddress: socket.remoteAddress ?? null, err: error.message }, 'MQTT TLS handshake refused');
        this.options.onTlsRefused?.(kind, error.message, socket.remoteAddress ?? null);
      });
    }
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new GuardpostError('GP_ERR_TRANSPORT', `cannot listen for MQTT${kind === 'mqtt' ? '' : ` over ${kind}`} on ${host}:${port}: ${error.message}`)));
      server.listen(port, host, () => resolve());
    });
    const address = server.address();
    this.listeners.push({ kind, server, port: typeof address === 'object' && address !== null ? address.port : port });
  }

  /**
   * Verifies the client certificate ourselves (rejectUnauthorized is off) so a refusal reaches
   * the device as an MQTT CONNACK "not authorised" and the log says why (CERT_HAS_EXPIRED …),
   * where a TLS-level refusal is only a dropped socket on both sides.
   */
  private checkCertificate(kind: ListenerKind, socket: tls.TLSSocket, mode: BrokerTlsOptions['clientCertificates'], connection: object): void {
    if (mode === 'off') return;
    const name = verifiedName(socket);
    if (name !== null) {
      this.certificateNames.set(connection, name);
      return;
    }
    const presented = Object.keys(socket.getPeerCertificate()).length > 0;
    // optional: a device without a certificate logs in by password; one with a bad certificate does not.
    if (!presented && mode === 'optional') return;
    const reason = presented ? String(socket.authorizationError ?? 'certificate not trusted') : 'no client certificate';
    this.certificateRefusals.set(connection, reason);
    this.options.logger.warn({ listener: kind, remoteAddress: socket.remoteAddress ?? null, err: reason }, 'MQTT TLS client certificate refused');
    this.options.onTlsRefused?.(kind, reason, socket.remoteAddress ?? null);
  }

  /**
   * The first step of a graceful stop: no new connections and no new publishes from clients
   * (each is refused before its PUBACK, so a device keeps a read for the next run). Messages
   * already authorised are still delivered, and the gateway can still publish to subscribers.
   */
  stopAccepting(): void {
    this.accepting = false;
    // close() only stops listening; connected clients stay until stop().
    for (const { server } of this.listeners) if (server.listening) server.close();
  }

  /**
   * Resolves once every client publish already authorised has reached the subscribers (so the
   * reads it carried are decided), or after `timeoutMs` if one never completes.
   */
  drained(timeoutMs: number): Promise<void> {
    if (this.inFlight === 0) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.drainWaiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.drainWaiters.add(done);
    });
  }

  async stop(): Promise<void> {
    const listeners = this.listeners;
    const broker = this.broker;
    this.listeners = [];
    this.broker = undefined;
    if (broker !== undefined) {
      // Closing destroys each socket: let what is already queued for subscribers (the retained
      // `offline`, the last events) reach them first.
      await this.flushClients(FLUSH_ON_STOP_MS);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
    // Already closed by stopAccepting(): close() then reports "not running", which is fine here.
    await Promise.all(listeners.map(({ server }) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }

  private async flushClients(timeoutMs: number): Promise<void> {
    // A guarded connection writes straight through: what waits is in the socket under it.
    const pending = [...this.connected].map((client) => (client.conn instanceof GuardedConnection ? client.conn.raw : client.conn)).filter((conn) => conn.writableLength > 0 && !conn.destroyed);
    if (pending.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(pending.map((conn) => new Promise<void>((resolve) => {
        conn.once('drain', () => resolve());
        conn.once('close', () => resolve());
      }))),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, timeoutMs))),
    ]);
    clearTimeout(timer);
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}, onSent?: (error?: Error) => void): void {
    const broker = this.broker;
    if (broker === undefined) {
      onSent?.(new GuardpostError('GP_ERR_TRANSPORT', 'the embedded broker is not started'));
      return;
    }
    broker.publish(
      { cmd: 'publish', topic, payload: typeof payload === 'string' ? Buffer.from(payload) : payload, qos: options.qos ?? 0, retain: options.retain ?? false, dup: false },
      (error) => {
        if (error) this.options.logger.error({ err: error, topic }, 'MQTT publish failed');
        onSent?.(error ?? undefined);
      },
    );
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<void> {
    const broker = this.broker;
    if (broker === undefined) throw new GuardpostError('GP_ERR_TRANSPORT', 'the embedded broker is not started');
    await new Promise<void>((resolve) => {
      broker.subscribe(
        filter,
        (packet, done) => {
          try {
            handler(packet.topic, Buffer.isBuffer(packet.payload) ? packet.payload : Buffer.from(packet.payload));
          } catch (error) {
            // As the external client does: thrown into aedes it became an unhandled rejection, and
            // Node ends the process on those (e.g. an alarm that could not be saved within the busy timeout).
            this.options.logger.error({ err: error, topic: packet.topic }, 'MQTT message handler failed');
          } finally {
            done();
          }
        },
        () => resolve(),
      );
    });
  }

  isReady(): boolean {
    return this.listeners.length > 0 && this.listeners.every(({ server }) => server.listening);
  }

  /** The embedded broker never reconnects: its retained state lives as long as the process. */
  onConnected(_listener: () => void): void {}
}

function serverTlsOptions(options: BrokerTlsOptions): tls.TlsOptions {
  return {
    cert: options.cert,
    key: options.key,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    requestCert: options.clientCertificates !== 'off',
    // Checked in checkCertificate(), which can tell the device why.
    rejectUnauthorized: false,
    minVersion: 'TLSv1.2',
  };
}

/** The common name of a client certificate the handshake verified, else null. */
function verifiedName(socket: tls.TLSSocket): string | null {
  if (!socket.authorized) return null;
  const cn = socket.getPeerCertificate().subject?.CN;
  const name = Array.isArray(cn) ? cn[0] : cn;
  return typeof name === 'string' && name !== '' ? name : null;
}
