import fs from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import type { ForwarderConfig } from '../config/forwardersSchema.js';
import type { JournalEvent, Severity } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { DeliveryOutcome, Destination, Origin } from './types.js';

/** Facility 13, "log audit": where SIEMs expect security audit trails. */
const FACILITY_LOG_AUDIT = 13;
/** Private enterprise number 32473 is IANA's example number, used for our structured data id. */
const SD_ID = 'guardpost@32473';
const PRODUCT_VERSION = '0.1.0';

const SYSLOG_SEVERITY: Record<Severity, number> = { critical: 2, high: 3, medium: 4, low: 5, info: 6 };
const CEF_SEVERITY: Record<Severity, number> = { critical: 10, high: 8, medium: 5, low: 3, info: 1 };

/** CEF header fields escape backslash and pipe. */
const cefHeader = (text: string): string => text.replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/[\r\n]+/g, ' ');
/** CEF extension values escape backslash, equals and line breaks. */
const cefValue = (text: string): string => text.replace(/\\/g, '\\\\').replace(/=/g, '\\=').replace(/\r?\n|\r/g, '\\n');
/** RFC 5424 §6.3.3: inside PARAM-VALUE, escape `"`, `\` and `]`. */
const sdValue = (text: string): string => text.replace(/[\\"\]]/g, (c) => `\\${c}`);

/** The CEF message body (ArcSight Common Event Format, version 0). */
export function toCef(event: JournalEvent, origin: Origin): string {
  const extensions: [string, string | number | null][] = [
    ['rt', Date.parse(event.time)],
    ['externalId', event.id],
    ['cn1Label', 'seq'],
    ['cn1', event.seq],
    ['dvchost', origin.gateway],
    ['cs1Label', 'site'],
    ['cs1', origin.site],
    ['cs2Label', 'door'],
    ['cs2', event.door],
    ['cs3Label', 'device'],
    ['cs3', event.device],
    ['duser', event.cardholder],
    ['reason', event.reason],
    ['cs4Label', 'data'],
    ['cs4', JSON.stringify(event.data)],
  ];
  const extension = extensions
    .filter((entry): entry is [string, string | number] => entry[1] !== null)
    .map(([key, value]) => `${key}=${cefValue(String(value))}`)
    .join(' ');
  return `CEF:0|Guardpost|guardpost|${PRODUCT_VERSION}|${cefHeader(event.type)}|${cefHeader(event.type.replace('.', ' '))}|${CEF_SEVERITY[event.severity]}|${extension}`;
}

/** One RFC 5424 message: `<PRI>1 TIMESTAMP HOST APP PROCID MSGID [SD] MSG`. */
export function toSyslog(event: JournalEvent, origin: Origin): string {
  const pri = FACILITY_LOG_AUDIT * 8 + SYSLOG_SEVERITY[event.severity];
  const msgId = event.type.replace(/[^\x21-\x7e]/g, '_').slice(0, 32);
  const sd = `[${SD_ID} id="${sdValue(event.id)}" seq="${event.seq}" site="${sdValue(origin.site)}"]`;
  return `<${pri}>1 ${event.time} ${origin.gateway} guardpost - ${msgId} ${sd} ${toCef(event, origin)}`;
}

/** RFC 6587 octet counting: `<length in bytes> <message>`, so messages may hold any byte. */
export function frame(message: string): Buffer {
  const body = Buffer.from(message, 'utf8');
  return Buffer.concat([Buffer.from(`${body.length} `, 'ascii'), body]);
}

/**
 * Syslog to a SIEM over TCP (`tcp://host:port`) or TLS (`tls://host:port`), one event per
 * framed message. TCP has no acknowledgement of its own: an event counts as delivered once the
 * socket has written it; a connection that drops makes the loop resend from its cursor.
 */
export class SyslogDestination implements Destination {
  readonly kind = 'syslog';
  readonly id: string;
  readonly batchSize = 1;
  private socket: net.Socket | undefined;
  private connecting: Promise<net.Socket> | undefined;

  constructor(
    private readonly config: ForwarderConfig,
    private readonly origin: Origin,
    private readonly logger: Logger,
  ) {
    this.id = config.id;
  }

  async start(): Promise<void> {}

  async stop(): Promise<void> {
    const socket = this.socket;
    this.socket = undefined;
    if (socket === undefined) return;
    await new Promise<void>((resolve) => socket.end(() => resolve()));
    socket.destroy();
  }

  private connect(): Promise<net.Socket> {
    const url = new URL(this.config.url);
    const host = url.hostname;
    const port = Number(url.port || (url.protocol === 'tls:' ? 6514 : 601));
    return new Promise<net.Socket>((resolve, reject) => {
      const socket =
        url.protocol === 'tls:'
          ? tls.connect({ host, port, servername: net.isIP(host) === 0 ? host : undefined, ca: this.config.caFile === undefined ? undefined : fs.readFileSync(this.config.caFile) })
          : net.connect({ host, port });
      const timer = setTimeout(() => socket.destroy(new Error(`no connection within ${this.config.timeoutMs} ms`)), this.config.timeoutMs);
      socket.once(url.protocol === 'tls:' ? 'secureConnect' : 'connect', () => {
        clearTimeout(timer);
        socket.setKeepAlive(true);
        resolve(socket);
      });
      socket.once('error', (error) => {
        clearTimeout(timer);
        reject(error);
      });
    });
  }

  async deliver(events: readonly JournalEvent[]): Promise<DeliveryOutcome> {
    const event = events[0];
    if (event === undefined) return { kind: 'delivered' };
    let socket = this.socket;
    if (socket === undefined || socket.destroyed) {
      const connecting = (this.connecting ??= this.connect());
      try {
        socket = await connecting;
      } catch (error) {
        return { kind: 'retry', reason: `cannot connect to the syslog server: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
      } finally {
        if (this.connecting === connecting) this.connecting = undefined;
      }
      // Both lanes of the loop may have waited for the same connection: set it up once.
      if (this.socket !== socket) {
        const connected = socket;
        connected.on('error', (error) => this.logger.warn({ destination: this.id, err: error.message }, 'syslog connection failed'));
        connected.on('close', () => {
          if (this.socket === connected) this.socket = undefined;
        });
        this.socket = connected;
      }
    }
    const connection = socket;
    return new Promise<DeliveryOutcome>((resolve) => {
      connection.write(frame(toSyslog(event, this.origin)), (error) => {
        if (error === undefined || error === null) return resolve({ kind: 'delivered' });
        connection.destroy();
        resolve({ kind: 'retry', reason: `syslog write failed: ${error.message}` });
      });
    });
  }
}
