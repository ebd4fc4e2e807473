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

/** How long a stop waits for subscribers' sockets to take what was already queued for them. */
const FLUSH_ON_STOP_MS = 500;

/** The embedded aedes broker. The gateway itself publishes and subscribes in-process. */
export class EmbeddedBroker<P> implements MqttTransport {
  readonly mode = 'embedded' as const;
  private broker: Aedes | undefined;
  private server: net.Server | undefined;
  private readonly principals = new WeakMap<Client, P>();
  private boundPort = 0;
  /** False once the gateway is stopping: no new connections, no new publishes [OPS-SHUTDOWN]. */
  private accepting = true;
  /** Client publishes authorised but not yet delivered to the subscribers (the site runtime). */
  private inFlight = 0;
  private readonly drainWaiters = new Set<() => void>();
  private readonly connected = new Set<Client>();

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
      if (!this.accepting) return done(Object.assign(new Error('the gateway is stopping'), { returnCode: 3 as const }), false);
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
      // Refused without a PUBACK, so the device keeps the read and sends it to the next gateway run.
      if (!this.accepting) return done(new Error('the gateway is stopping'));
      this.inFlight++;
      const principal = this.principals.get(client);
      if (principal === undefined || !policy.mayPublish(principal, packet.topic) || policy.mayPublishPayload?.(principal, packet.topic, Buffer.from(packet.payload)) === false) {
        policy.refused({ action: 'publish', clientId: client.id, username: null, principal: principal ?? null, topic: packet.topic });
        return done(new Error(`publish to ${packet.topic} not authorised`));
      }
      done(null);
    };
    broker.on('client', (client) => this.connected.add(client));
    broker.on('clientDisconnect', (client) => this.connected.delete(client));
    // Emitted once a publish reached every subscriber, the gateway's own handlers included.
    broker.on('publish', (_packet, client) => {
      if (client === null || this.inFlight === 0) return;
      this.inFlight--;
      if (this.inFlight === 0) for (const resolve of this.drainWaiters) resolve();
    });

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

  /**
   * The first step of a graceful stop: no new connections and no new publishes from clients
   * (each is refused before its PUBACK, so a device keeps a read for the next run). Messages
   * already authorised are still delivered, and the gateway can still publish to subscribers.
   */
  stopAccepting(): void {
    this.accepting = false;
    // close() only stops listening; connected clients stay until stop().
    if (this.server?.listening === true) this.server.close();
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
    const server = this.server;
    const broker = this.broker;
    this.server = undefined;
    this.broker = undefined;
    if (broker !== undefined) {
      // Closing destroys each socket: let what is already queued for subscribers (the retained
      // `offline`, the last events) reach them first.
      await this.flushClients(FLUSH_ON_STOP_MS);
      await new Promise<void>((resolve) => broker.close(() => resolve()));
    }
    // Already closed by stopAccepting(): close() then reports "not running", which is fine here.
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async flushClients(timeoutMs: number): Promise<void> {
    const pending = [...this.connected].map((client) => client.conn).filter((conn) => conn.writableLength > 0 && !conn.destroyed);
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
