/** What the rest of guardpost needs from MQTT, whether the broker is embedded or external. */

export type MessageHandler = (topic: string, payload: Buffer) => void;

export interface PublishOptions {
  readonly qos?: 0 | 1;
  readonly retain?: boolean;
}

export interface MqttTransport {
  readonly mode: 'embedded' | 'external';
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * The broker owns delivery; errors are logged by the transport. `onSent` runs once the
   * message has been handed to the subscribers' sockets (embedded) or to the broker's (external).
   */
  publish(topic: string, payload: string | Buffer, options?: PublishOptions, onSent?: (error?: Error) => void): void;
  subscribe(filter: string, handler: MessageHandler): Promise<void>;
  /** Embedded: listening. External: connected to the broker. */
  isReady(): boolean;
  /** Called on every (re)connection to an external broker, e.g. to restate retained state. */
  onConnected(listener: () => void): void;
}

/**
 * Who may connect to the embedded broker and what they may do. Supplied by the site runtime,
 * which knows devices; the transport only enforces the answers. `P` is the caller's principal.
 */
export interface BrokerPolicy<P> {
  authenticate(clientId: string, username: string | undefined, password: Buffer | undefined): Promise<P | null>;
  mayPublish(principal: P, topic: string): boolean;
  maySubscribe(principal: P, topic: string): boolean;
  /** Optional check of a publish's payload, e.g. that a request names its own sender. */
  mayPublishPayload?(principal: P, topic: string, payload: Buffer): boolean;
  /** Told of every refusal, for the journal and counters. */
  refused(refusal: BrokerRefusal<P>): void;
  /** Who a principal is, for binding client ids to logins (default: its JSON). */
  identify?(principal: P): string;
}

export interface BrokerRefusal<P> {
  readonly action: 'connect' | 'publish' | 'subscribe';
  readonly clientId: string;
  readonly username: string | null;
  readonly principal: P | null;
  readonly topic: string | null;
}

/** MQTT topic filter matching (`+` one level, `#` the rest). */
export function topicMatches(filter: string, topic: string): boolean {
  const filterLevels = filter.split('/');
  const topicLevels = topic.split('/');
  for (let index = 0; index < filterLevels.length; index++) {
    const level = filterLevels[index];
    if (level === '#') return true;
    if (index >= topicLevels.length) return false;
    if (level !== '+' && level !== topicLevels[index]) return false;
  }
  return filterLevels.length === topicLevels.length;
}
