import { Duplex } from 'node:stream';
import type net from 'node:net';

/**
 * Limits the embedded broker enforces before aedes sees a byte. aedes buffers a packet until
 * its remaining length has arrived, so a client claiming a 100 MB packet would otherwise make
 * it hold 100 MB; and it runs authentication (argon2, ~50 ms of CPU) for every CONNECT.
 */
export interface MqttLimits {
  /** Largest packet accepted (remaining length), in bytes. Device messages are tiny. */
  readonly maxPacketBytes: number;
  /** A client that has not finished CONNECT by then is dropped. */
  readonly connectTimeoutMs: number;
  /** Open connections at once, all addresses together. */
  readonly maxClients: number;
  /** New connections from one address per minute. */
  readonly connectionsPerAddressPerMinute: number;
  /** Failed logins from one address within 5 minutes before its CONNECTs are refused unheard. */
  readonly failedLoginsPerAddress: number;
  readonly maxSubscriptionsPerClient: number;
  readonly maxTopicBytes: number;
  readonly maxTopicLevels: number;
  /** Packets queued by aedes for a client still connecting, and inbound QoS 2 in flight. */
  readonly maxQueuedPerClient: number;
}

export const DEFAULT_MQTT_LIMITS: MqttLimits = {
  maxPacketBytes: 64 * 1024,
  connectTimeoutMs: 10_000,
  maxClients: 512,
  connectionsPerAddressPerMinute: 120,
  failedLoginsPerAddress: 10,
  maxSubscriptionsPerClient: 32,
  maxTopicBytes: 512,
  maxTopicLevels: 16,
  maxQueuedPerClient: 64,
};

const FAILED_LOGIN_WINDOW_MS = 5 * 60_000;
const CONNECTION_WINDOW_MS = 60_000;

export type LimitReason =
  | 'packet_too_large'
  | 'malformed_packet'
  | 'first_packet_not_connect'
  | 'too_many_clients'
  | 'connection_rate'
  | 'login_throttled'
  | 'client_id_taken'
  | 'too_many_subscriptions'
  | 'bad_topic';

export interface LimitReport {
  readonly reason: LimitReason;
  readonly address: string;
  readonly clientId: string | null;
  readonly detail: string;
}

/** MQTT control packet types (high nibble of the first byte). */
const CONNECT = 1;

/**
 * Follows the MQTT framing of one connection's byte stream (fixed header: type byte, then the
 * remaining length as a 1–4 byte varint, then that many bytes) without parsing packets, and
 * says what is wrong as soon as a header breaks a limit. Pure: bytes in, verdict out.
 */
export class PacketScanner {
  private packets = 0;
  /** Body bytes still to skip of the current packet. */
  private skip = 0;
  private inHeader = false;
  private lengthValue = 0;
  private lengthMultiplier = 1;
  private lengthBytes = 0;

  constructor(private readonly maxPacketBytes: number) {}

  /** Null while the stream is within the limits; otherwise the first problem found. */
  scan(chunk: Uint8Array): { reason: LimitReason; detail: string } | null {
    let i = 0;
    while (i < chunk.length) {
      if (this.skip > 0) {
        const take = Math.min(this.skip, chunk.length - i);
        this.skip -= take;
        i += take;
        continue;
      }
      const byte = chunk[i++]!;
      if (!this.inHeader) {
        const type = byte >> 4;
        if (this.packets === 0 && type !== CONNECT) return { reason: 'first_packet_not_connect', detail: `first packet is of type ${type}, not CONNECT` };
        if (type === 0) return { reason: 'malformed_packet', detail: 'packet type 0 is reserved' };
        this.inHeader = true;
        this.lengthValue = 0;
        this.lengthMultiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.lengthValue += (byte & 0x7f) * this.lengthMultiplier;
      this.lengthMultiplier *= 128;
      this.lengthBytes += 1;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return { reason: 'malformed_packet', detail: 'remaining length longer than 4 bytes' };
        continue;
      }
      if (this.lengthValue > this.maxPacketBytes) {
        return { reason: 'packet_too_large', detail: `packet of ${this.lengthValue} bytes over the limit of ${this.maxPacketBytes}` };
      }
      this.inHeader = false;
      this.packets += 1;
      this.skip = this.lengthValue;
    }
    return null;
  }
}

/**
 * The socket as aedes sees it: every chunk passes the scanner first, and a connection that
 * breaks a limit is cut before aedes buffers or parses what it sent.
 */
export class GuardedConnection extends Duplex {
  readonly remoteAddress: string;
  private readonly scanner: PacketScanner;

  /** `raw` is the TCP or TLS socket, or a WebSocket's byte stream. */
  constructor(
    readonly raw: Duplex,
    address: string,
    maxPacketBytes: number,
    onViolation: (reason: LimitReason, detail: string) => void,
  ) {
    super({ allowHalfOpen: false });
    this.remoteAddress = address;
    this.scanner = new PacketScanner(maxPacketBytes);
    raw.on('data', (chunk: Buffer) => {
      const violation = this.scanner.scan(chunk);
      if (violation !== null) {
        raw.destroy();
        onViolation(violation.reason, violation.detail);
        this.destroy();
        return;
      }
      if (!this.push(chunk)) raw.pause();
    });
    raw.on('end', () => this.push(null));
    raw.on('error', (error) => this.destroy(error));
    raw.on('close', () => this.destroy());
    raw.on('drain', () => this.emit('drain'));
  }

  override _read(): void {
    this.raw.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null) => void): void {
    if (this.raw.destroyed) return done();
    this.raw.write(chunk, (error) => done(error ?? null));
  }

  /**
   * aedes (mqtt-packet) writes each packet in pieces — header, length, topic, payload — under
   * cork(): hand them to the socket as one write, one syscall and one TCP segment, instead of
   * one write per piece, each waiting for the previous one's callback.
   */
  override _writev(chunks: { chunk: Buffer }[], done: (error?: Error | null) => void): void {
    if (this.raw.destroyed) return done();
    const bytes = chunks.length === 1 ? chunks[0]!.chunk : Buffer.concat(chunks.map(({ chunk }) => chunk));
    this.raw.write(bytes, (error) => done(error ?? null));
  }

  override _final(done: (error?: Error | null) => void): void {
    this.raw.end(() => done());
  }

  override _destroy(error: Error | null, done: (error?: Error | null) => void): void {
    this.raw.destroy();
    done(error);
  }

  setNoDelay(noDelay?: boolean): this {
    (this.raw as Partial<net.Socket>).setNoDelay?.(noDelay);
    return this;
  }
}

/** Timestamps within a sliding window, per key; forgets keys that went quiet. */
class WindowCounter {
  private readonly hits = new Map<string, number[]>();

  constructor(
    private readonly windowMs: number,
    private readonly clock: () => number,
  ) {}

  count(key: string): number {
    const list = this.hits.get(key);
    if (list === undefined) return 0;
    const since = this.clock() - this.windowMs;
    while (list.length > 0 && list[0]! <= since) list.shift();
    if (list.length === 0) this.hits.delete(key);
    return list.length;
  }

  add(key: string): number {
    const count = this.count(key);
    const list = this.hits.get(key) ?? [];
    list.push(this.clock());
    this.hits.set(key, list);
    return count + 1;
  }

  clear(key: string): void {
    this.hits.delete(key);
  }
}

/**
 * What the broker decides about connections before and around authentication: how many,
 * how often from one address, whether an address has failed to log in too often, and whether
 * a client id belongs to another login (no one may take over a device's session).
 */
export class ConnectionGate {
  private open = 0;
  private readonly connections: WindowCounter;
  private readonly failures: WindowCounter;
  /** Client id → who holds it: while connected, and for as long as a persistent session lives. */
  private readonly owners = new Map<string, { owner: string; connected: number; persistent: boolean }>();

  constructor(
    readonly limits: MqttLimits,
    clock: () => number = Date.now,
  ) {
    this.connections = new WindowCounter(CONNECTION_WINDOW_MS, clock);
    this.failures = new WindowCounter(FAILED_LOGIN_WINDOW_MS, clock);
  }

  /** A new TCP connection: refused (with why) or counted until `closed()`. */
  admit(address: string): { reason: LimitReason; detail: string } | null {
    if (this.open >= this.limits.maxClients) return { reason: 'too_many_clients', detail: `${this.open} clients connected, the limit is ${this.limits.maxClients}` };
    const recent = this.connections.add(address);
    if (recent > this.limits.connectionsPerAddressPerMinute) {
      return { reason: 'connection_rate', detail: `${recent} connections from ${address} within a minute, the limit is ${this.limits.connectionsPerAddressPerMinute}` };
    }
    this.open += 1;
    return null;
  }

  closed(): void {
    this.open = Math.max(0, this.open - 1);
  }

  /** Checked before any password work: an address that keeps failing is not heard for a while. */
  loginThrottled(address: string): boolean {
    return this.failures.count(address) >= this.limits.failedLoginsPerAddress;
  }

  loginFailed(address: string): void {
    this.failures.add(address);
  }

  /** Claims `clientId` for `owner`; false when another login holds it. */
  claim(clientId: string, owner: string, persistent: boolean): boolean {
    const held = this.owners.get(clientId);
    if (held !== undefined && held.owner !== owner && (held.connected > 0 || held.persistent)) return false;
    if (held === undefined || held.owner !== owner) this.owners.set(clientId, { owner, connected: 1, persistent });
    else {
      held.connected += 1;
      held.persistent = persistent;
    }
    return true;
  }

  /** A client disconnected: its id stays bound only if it keeps a persistent session. */
  release(clientId: string, owner: string): void {
    const held = this.owners.get(clientId);
    if (held === undefined || held.owner !== owner) return;
    held.connected = Math.max(0, held.connected - 1);
    if (held.connected === 0 && !held.persistent) this.owners.delete(clientId);
  }
}

/** Number of levels of a topic or filter, without splitting it (a 65,000-level topic is cheap). */
export function topicLevels(topic: string): number {
  let levels = 1;
  for (let i = 0; i < topic.length; i++) if (topic.charCodeAt(i) === 0x2f) levels += 1;
  return levels;
}

/** Why a topic is refused, or null. */
export function topicProblem(topic: string, limits: MqttLimits): string | null {
  if (topic.length === 0) return 'empty topic';
  if (Buffer.byteLength(topic) > limits.maxTopicBytes) return `topic of ${Buffer.byteLength(topic)} bytes over the limit of ${limits.maxTopicBytes}`;
  const levels = topicLevels(topic);
  if (levels > limits.maxTopicLevels) return `topic of ${levels} levels over the limit of ${limits.maxTopicLevels}`;
  return null;
}
