import mqtt, { type MqttClient } from 'mqtt';
import type { ForwarderConfig } from '../config/forwardersSchema.js';
import type { JournalEvent } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { DeliveryOutcome, Destination, Origin } from './types.js';

/** How often the uplink tries the central broker again after losing it. */
const RECONNECT_PERIOD_MS = 1_000;

/**
 * Uplink of the journal to a central broker (Mosquitto bridge, EMQX, HiveMQ): QoS 1 on
 * `guardpost/<site>/<gateway>/events/<type>`, a persistent session (clean: false) under a stable
 * client id, and the cursor moves only on PUBACK. A publish in flight when the link drops is
 * resent by the session or by the loop: a receiver may see it twice, always with the same id.
 */
export class MqttUplinkDestination implements Destination {
  readonly kind = 'mqtt';
  readonly id: string;
  /** Publishes in flight at once; the cursor moves when all of them have their PUBACK. */
  readonly batchSize: number;
  private client: MqttClient | undefined;
  private readyListener: (() => void) | undefined;

  constructor(
    private readonly config: ForwarderConfig,
    private readonly origin: Origin,
    private readonly logger: Logger,
  ) {
    this.id = config.id;
    this.batchSize = config.batchSize;
  }

  topic(event: JournalEvent): string {
    return `guardpost/${this.origin.site}/${this.origin.gateway}/events/${event.type}`;
  }

  async start(): Promise<void> {
    const client = mqtt.connect(this.config.url, {
      clientId: `guardpost-${this.origin.site}-${this.origin.gateway}-${this.config.id}`.slice(0, 128),
      username: this.config.username,
      password: this.config.password,
      clean: false,
      reconnectPeriod: RECONNECT_PERIOD_MS,
      connectTimeout: this.config.timeoutMs,
      // Never queue while offline: the journal is the queue, the loop retries from its cursor.
      queueQoSZero: false,
    });
    client.on('error', (error) => this.logger.warn({ destination: this.id, err: error.message }, 'uplink broker error'));
    client.on('offline', () => this.logger.warn({ destination: this.id }, 'uplink broker unreachable; events wait in the journal'));
    client.on('connect', () => {
      this.logger.info({ destination: this.id }, 'uplink connected to the central broker');
      this.readyListener?.();
    });
    this.client = client;
  }

  onReady(listener: () => void): void {
    this.readyListener = listener;
  }

  async stop(): Promise<void> {
    await this.client?.endAsync(true);
    this.client = undefined;
  }

  async deliver(events: readonly JournalEvent[], signal: AbortSignal): Promise<DeliveryOutcome> {
    const client = this.client;
    if (events.length === 0) return { kind: 'delivered' };
    if (client === undefined || !client.connected) return { kind: 'retry', reason: 'not connected to the central broker' };
    return new Promise<DeliveryOutcome>((resolve) => {
      let settled = false;
      let acknowledged = 0;
      const settle = (outcome: DeliveryOutcome): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        signal.removeEventListener('abort', onAbort);
        resolve(outcome);
      };
      const onAbort = (): void => settle({ kind: 'retry', reason: 'stopped' });
      const timer = setTimeout(() => {
        // A link that says "connected" but acknowledges nothing is dead: drop it so mqtt.js reconnects.
        this.logger.warn({ destination: this.id }, 'no PUBACK from the central broker; reconnecting');
        client.stream?.destroy();
        settle({ kind: 'retry', reason: `no PUBACK within ${this.config.timeoutMs} ms` });
      }, this.config.timeoutMs);
      signal.addEventListener('abort', onAbort);
      // One connection keeps them in order; a batch cut short is resent whole (same ids).
      for (const event of events) {
        client.publish(this.topic(event), JSON.stringify(event), { qos: 1 }, (error) => {
          if (error !== undefined && error !== null) return settle({ kind: 'retry', reason: `publish failed: ${error.message}` });
          acknowledged += 1;
          if (acknowledged === events.length) settle({ kind: 'delivered' });
        });
      }
    });
  }
}
