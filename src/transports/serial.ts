import { SerialPort } from 'serialport';
import type { Logger } from '../logger.js';
import { GuardpostError } from '../errors.js';

/** One configured serial bus (config file `serial.buses[]`). */
export interface SerialBusOptions {
  readonly id: string;
  readonly path: string;
  readonly baudRate: number;
  readonly dataBits: 7 | 8;
  readonly parity: 'none' | 'even' | 'odd';
  readonly stopBits: 1 | 2;
  readonly rs485: boolean;
  readonly reopenMinMs: number;
  readonly reopenMaxMs: number;
}

export interface SerialLinkHandlers {
  onData(bytes: Buffer): void;
  /** 'up' once the port is open, 'down' the moment it is lost (unplugged, closed, erroring). */
  onLink(state: 'up' | 'down', detail: string): void;
}

/**
 * A serial port that stays wanted: it opens the configured path, notices at once when the port
 * goes away (error, close, or an error loop from a vanished USB adapter), reports the link down
 * and reopens it with doubling backoff until it is back, without anyone restarting anything.
 */
export class SerialLink {
  private port: SerialPort | undefined;
  private reopenTimer: NodeJS.Timeout | undefined;
  private failures = 0;
  private stopped = false;
  private up = false;
  private reported: 'up' | 'down' | undefined;

  constructor(
    readonly options: SerialBusOptions,
    private readonly handlers: SerialLinkHandlers,
    private readonly logger: Logger,
  ) {}

  get isOpen(): boolean {
    return this.up;
  }

  start(): void {
    this.stopped = false;
    this.open();
  }

  /** Writes bytes; `done` gets an error when the port is not open or the write fails. */
  write(bytes: Uint8Array, done?: (error?: Error) => void): void {
    const port = this.port;
    if (port === undefined || !this.up) {
      done?.(new GuardpostError('GP_ERR_TRANSPORT', `serial bus "${this.options.id}" (${this.options.path}) is not open`));
      return;
    }
    port.write(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength), (error) => done?.(error ?? undefined));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.reopenTimer);
    const port = this.port;
    this.port = undefined;
    this.up = false;
    if (port?.isOpen === true) await new Promise<void>((resolve) => port.close(() => resolve()));
  }

  private open(): void {
    if (this.stopped) return;
    const { path, baudRate, dataBits, parity, stopBits } = this.options;
    const port = new SerialPort({ path, baudRate, dataBits, parity, stopBits, autoOpen: false });
    this.port = port;
    port.on('data', (bytes: Buffer) => {
      if (this.port === port) this.handlers.onData(bytes);
    });
    port.on('error', (error: Error) => this.lost(port, `error: ${error.message}`));
    port.on('close', () => this.lost(port, 'closed'));
    port.open((error) => {
      if (this.port !== port) return;
      if (error !== null) {
        this.lost(port, `cannot open: ${error.message}`);
        return;
      }
      this.failures = 0;
      this.up = true;
      this.logger.info({ bus: this.options.id, path }, 'serial bus open');
      this.reported = 'up';
      this.handlers.onLink('up', 'open');
    });
  }

  /** Any trouble with the current port: drop it, report it once, and schedule a reopen. */
  private lost(port: SerialPort, detail: string): void {
    if (this.port !== port || this.stopped) return;
    this.port = undefined;
    port.removeAllListeners('data');
    if (port.isOpen) port.close(() => undefined);
    const wasUp = this.up;
    this.up = false;
    const delayMs = Math.min(this.options.reopenMaxMs, this.options.reopenMinMs * 2 ** Math.min(this.failures, 16));
    this.failures++;
    if (wasUp) this.logger.warn({ bus: this.options.id, path: this.options.path, detail }, 'serial bus lost; reopening');
    else if (this.failures === 1 || this.failures % 20 === 0) {
      this.logger.warn({ bus: this.options.id, path: this.options.path, detail, attempts: this.failures, retryInMs: delayMs }, 'serial bus not available yet');
    }
    // Reported once per outage, including a port that was missing from the start.
    if (this.reported !== 'down') {
      this.reported = 'down';
      this.handlers.onLink('down', detail);
    }
    this.reopenTimer = setTimeout(() => this.open(), delayMs);
  }
}
