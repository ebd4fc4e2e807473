import net from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import { GuardpostError } from '../errors.js';
import type { BrokerPolicy, MessageHandler, MqttTransport, PublishOptions } from './mqtt.js';
import { ConnectionGate, DEFAULT_MQTT_LIMITS, GuardedConnection, topicProblem, type LimitReport, type MqttLimits } from './mqttGuard.js';

export interface EmbeddedBrokerOptions<P> {
  readonly host: string;
  readonly port: number;
  readonly policy: BrokerPolicy<P>;
  readonly logger: Logger;
  readonly limits?: MqttLimits;
  /** A client broke a limit and was refused or cut off [SEC-BROKER-LIMITS]. */
  readonly onLimit?: (report: LimitReport) => void;
}

/** The address a client connected from, as our guarded connection recorded it. */
function addressOf(client: Client): string {
  return (client.conn as { remoteAddress?: string } | undefined)?.remoteAddress ?? 'unknown';
}

/** The embedded aedes broker. The gateway itself publishes and subscribes in-process. */
export class EmbeddedBroker<P> implements MqttTransport {
  readonly mode = 'embedded' as const;
  private broker: Aedes | undefined;
  private server: net.Server | undefined;
  private readonly principals = new WeakMap<Client, P>();
  private readonly subscriptions = new WeakMap<Client, Set<string>>();
  private boundPort = 0;

  constructor(private readonly options: EmbeddedBrokerOptions<P>) {}

  /** The port actually listened on (differs from the configured one when that was 0). */
  get port(): number {
    return this.boundPort;
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
    const broker = await Aedes.createBroker({
      drainTimeout: 30_000,
      connectTimeout: limits.connectTimeoutMs,
      queueLimit: limits.maxQueuedPerClient,
      maxInflightInbound: limits.maxQueuedPerClient,
      maxTopicLevels: Math.min(100, limits.maxTopicLevels),
    });
    this.broker = broker;

    broker.authenticate = (client, username, password, done) => {
      const address = addressOf(client);
      // [SEC-BROKER-THROTTLE] an address that keeps failing gets no more password checks for a while.
      if (gate.loginThrottled(address)) {
        report({ reason: 'login_throttled', address, clientId: client.id, detail: `more than ${limits.failedLoginsPerAddress} failed logins from ${address}` });
        done(Object.assign(new Error('not authorised'), { returnCode: 5 as const }), false);
        return;
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
      done(null);
    };

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
    broker.on('clientDisconnect', (client) => {
      const principal = this.principals.get(client);
      if (principal !== undefined) gate.release(client.id, owner(principal));
    });

    broker.on('clientError', (client, error) => logger.debug({ clientId: client.id, err: error.message }, 'MQTT client error'));
    broker.on('connectionError', (client, error) => logger.debug({ clientId: client?.id, err: error.message }, 'MQTT connection error'));

    const server = net.createServer((socket) => {
      const address = socket.remoteAddress ?? 'unknown';
      const refusal = gate.admit(address);
      if (refusal !== null) {
        socket.destroy();
        report({ ...refusal, address, clientId: null });
        return;
      }
      socket.once('close', () => gate.closed());
      // [SEC-BROKER-LIMITS] aedes sees the bytes only after the framing passed the limits.
      const connection: GuardedConnection = new GuardedConnection(socket, limits.maxPacketBytes, (reason, detail) =>
        report({ reason, address, clientId: (connection as unknown as { client?: Client }).client?.id ?? null, detail }),
      );
      broker.handle(connection as unknown as net.Socket);
    });
    this.server = server;
    await new Promise<void>((resolve, reject) => {
      server.once('error', (error) => reject(new GuardpostError('GP_ERR_TRANSPORT', `cannot listen for MQTT on ${this.options.host}:${this.options.port}: ${error.message}`)));
      server.listen(this.options.port, this.options.host, () => resolve());
    });
    const address = server.address();
    this.boundPort = typeof address === 'object' && address !== null ? address.port : this.options.port;
  }

  async stop(): Promise<void> {
    const server = this.server;
    const broker = this.broker;
    this.server = undefined;
    this.broker = undefined;
    if (broker !== undefined) await new Promise<void>((resolve) => broker.close(() => resolve()));
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
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
          } finally {
            done();
          }
        },
        () => resolve(),
      );
    });
  }

  isReady(): boolean {
    return this.server?.listening === true;
  }

  /** The embedded broker never reconnects: its retained state lives as long as the process. */
  onConnected(_listener: () => void): void {}
}
