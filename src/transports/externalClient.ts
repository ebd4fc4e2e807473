import mqtt, { type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { GuardpostError } from '../errors.js';
import { topicMatches, type MessageHandler, type MqttTransport, type PublishOptions } from './mqtt.js';

/** How long a stop waits for in-flight messages to reach a connected broker. */
const STOP_FLUSH_MS = 2_000;

export interface ExternalClientOptions {
  readonly url: string;
  readonly clientId: string;
  readonly username?: string | undefined;
  readonly password?: string | undefined;
  /** Retained `offline` published by the broker if the gateway vanishes. */
  readonly will: { readonly topic: string; readonly payload: string };
  readonly connectTimeoutMs?: number;
  readonly logger: Logger;
}

/**
 * mqtt.js client for an external broker (Mosquitto, EMQX …). Reconnects forever; while the link
 * is down publishes queue in mqtt.js and nothing about doors changes (losing a link never
 * releases a door). Access control is the external broker's job in this mode.
 */
export class ExternalClient implements MqttTransport {
  readonly mode = 'external' as const;
  private client: MqttClient | undefined;
  private readonly handlers: { filter: string; handler: MessageHandler }[] = [];
  private readonly connectedListeners: (() => void)[] = [];

  constructor(private readonly options: ExternalClientOptions) {}

  async start(): Promise<void> {
    const { logger } = this.options;
    const client = mqtt.connect(this.options.url, {
      clientId: this.options.clientId,
      username: this.options.username,
      password: this.options.password,
      clean: true,
      // We resubscribe ourselves, so "connected" is only announced once we are listening again.
      resubscribe: false,
      reconnectPeriod: 2_000,
      connectTimeout: this.options.connectTimeoutMs ?? 10_000,
      will: { topic: this.options.will.topic, payload: Buffer.from(this.options.will.payload), qos: 1, retain: true },
    });
    this.client = client;
    client.on('message', (topic, payload) => {
      for (const { filter, handler } of this.handlers) {
        if (!topicMatches(filter, topic)) continue;
        try {
          handler(topic, payload);
        } catch (error) {
          logger.error({ err: error, topic }, 'MQTT message handler failed');
        }
      }
    });
    client.on('connect', () => {
      const filters = [...new Set(this.handlers.map((entry) => entry.filter))];
      const resubscribed = filters.length === 0 ? Promise.resolve() : client.subscribeAsync(filters, { qos: 1 }).then(() => undefined);
      resubscribed.then(
        () => {
          for (const listener of this.connectedListeners) listener();
        },
        (error: Error) => logger.error({ err: error.message }, 'resubscribing to the external MQTT broker failed'),
      );
    });
    client.on('reconnect', () => logger.warn({ url: this.options.url }, 'reconnecting to the external MQTT broker'));
    client.on('error', (error) => logger.warn({ err: error.message, url: this.options.url }, 'external MQTT broker error'));
    // A broker that is down at boot must not stop the gateway: it keeps retrying and /readyz says so.
    const connected = await new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => resolve(false), this.options.connectTimeoutMs ?? 10_000);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve(true);
      });
    });
    if (!connected) {
      logger.warn({ url: this.options.url }, 'the external MQTT broker is not reachable yet; retrying in the background');
      return;
    }
    logger.info({ url: this.options.url }, 'connected to the external MQTT broker');
  }

  async stop(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (client === undefined) return;
    // Flush what is in flight if the broker is there, but never hang a shutdown on a dead link.
    if (client.connected) {
      const flushed = await Promise.race([client.endAsync().then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, STOP_FLUSH_MS, false).unref())]);
      if (flushed) return;
    }
    await client.endAsync(true);
  }

  publish(topic: string, payload: string | Buffer, options: PublishOptions = {}, onSent?: (error?: Error) => void): void {
    const client = this.client;
    if (client === undefined) {
      onSent?.(new GuardpostError('GP_ERR_TRANSPORT', 'the MQTT client is not started'));
      return;
    }
    client.publish(topic, payload, { qos: options.qos ?? 0, retain: options.retain ?? false }, (error) => {
      if (error) this.options.logger.error({ err: error.message, topic }, 'MQTT publish failed');
      onSent?.(error);
    });
  }

  async subscribe(filter: string, handler: MessageHandler): Promise<void> {
    const client = this.client;
    if (client === undefined) throw new GuardpostError('GP_ERR_TRANSPORT', 'the MQTT client is not started');
    this.handlers.push({ filter, handler });
    // Offline, the next connect subscribes it with the rest.
    if (client.connected) await client.subscribeAsync(filter, { qos: 1 });
  }

  isReady(): boolean {
    return this.client?.connected === true;
  }

  onConnected(listener: () => void): void {
    this.connectedListeners.push(listener);
  }
}
