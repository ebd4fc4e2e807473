import net from 'node:net';
import { Aedes, type Client } from 'aedes';
import type { Logger } from 'pino';
import { GuardpostError } from '../errors.js';
import type { BrokerPolicy, MessageHandler, MqttTransport, PublishOptions } from './mqtt.js';

export interface EmbeddedBrokerOptions<P> {
  readonly host: string;
  readonly port: number;
  readonly policy: BrokerPolicy<P>;
  readonly logger: Logger;
}

/** The embedded aedes broker. The gateway itself publishes and subscribes in-process. */
export class EmbeddedBroker<P> implements MqttTransport {
  readonly mode = 'embedded' as const;
  private broker: Aedes | undefined;
  private server: net.Server | undefined;
  private readonly principals = new WeakMap<Client, P>();
  private boundPort = 0;

  constructor(private readonly options: EmbeddedBrokerOptions<P>) {}

  /** The port actually listened on (differs from the configured one when that was 0). */
  get port(): number {
    return this.boundPort;
  }

  async start(): Promise<void> {
    const { policy, logger } = this.options;
    const broker = await Aedes.createBroker({ drainTimeout: 30_000 });
    this.broker = broker;

    broker.authenticate = (client, username, password, done) => {
      policy.authenticate(client.id, username, password).then(
        (principal) => {
          if (principal === null) {
            policy.refused({ action: 'connect', clientId: client.id, username: username ?? null, principal: null, topic: null });
            const error = Object.assign(new Error('not authorised'), { returnCode: 5 as const });
            done(error, false);
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
      if (principal === undefined || !policy.mayPublish(principal, packet.topic) || policy.mayPublishPayload?.(principal, packet.topic, Buffer.from(packet.payload)) === false) {
        policy.refused({ action: 'publish', clientId: client.id, username: null, principal: principal ?? null, topic: packet.topic });
        return done(new Error(`publish to ${packet.topic} not authorised`));
      }
      done(null);
    };

    broker.authorizeSubscribe = (client, subscription, done) => {
      const principal = this.principals.get(client);
      if (principal === undefined || !policy.maySubscribe(principal, subscription.topic)) {
        policy.refused({ action: 'subscribe', clientId: client.id, username: null, principal: principal ?? null, topic: subscription.topic });
        // A null subscription answers SUBACK 0x80 (failure) without dropping the connection.
        return done(null, null);
      }
      done(null, subscription);
    };

    broker.on('clientError', (client, error) => logger.debug({ clientId: client.id, err: error.message }, 'MQTT client error'));
    broker.on('connectionError', (client, error) => logger.debug({ clientId: client?.id, err: error.message }, 'MQTT connection error'));

    const server = net.createServer(broker.handle);
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
