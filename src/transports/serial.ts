import { execFile } from 'node:child_process';
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
  /**
   * With `rs485`, a port that refuses the kernel's RS-485 mode is not used (default true); false
   * runs it in plain mode (an adapter that switches direction itself, e.g. a USB RS-485 cable).
   */
  readonly rs485Required?: boolean;
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
      if (!this.options.rs485) return this.opened('plain');
      setKernelRs485(path).then((refusal) => {
        if (this.port !== port) return;
        if (refusal === null) {
          return this.opened('kernel RS-485 (RTS drives the transmitter)');
        }
        const detail = `the port refused RS-485 mode (${refusal})`;
        if (this.options.rs485Required !== false) {
          // Logged once per outage; the reopen backoff retries (a replaced adapter may accept it).
          if (this.failures === 0) this.logger.error({ bus: this.options.id, path, detail }, 'serial bus not used: RS-485 mode is required (set rs485Required: false for an adapter that switches direction itself)');
          return this.lost(port, detail);
        }
        this.logger.warn({ bus: this.options.id, path, detail }, 'serial bus in plain mode: the adapter must switch the RS-485 direction itself');
        this.opened('plain (RS-485 refused, tolerated)');
      }, (error: unknown) => this.lost(port, `cannot set RS-485 mode: ${error instanceof Error ? error.message : String(error)}`));
    });
  }

  private opened(mode: string): void {
    const { path } = this.options;
    this.failures = 0;
    this.up = true;
    this.logger.info({ bus: this.options.id, path, mode }, 'serial bus open');
    this.reported = 'up';
    this.handlers.onLink('up', 'open');
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

/** struct serial_rs485 (linux/serial.h): flags, two delays, then padding to 32 bytes. */
const SER_RS485_ENABLED = 1;
const SER_RS485_RTS_ON_SEND = 2;
/** ioctl numbers on arm, arm64 and x86 (asm-generic/ioctls.h). */
const TIOCSRS485 = 0x542f;
const TIOCGRS485 = 0x542e;
const RS485_TIMEOUT_MS = 5_000;

/**
 * Puts a port in the kernel's RS-485 mode (TIOCSRS485: the UART drives RTS high while sending).
 * serialport's bindings have no RS-485 option and Node has no ioctl, so perl (Essential on Debian
 * and Raspberry Pi OS) makes the two ioctl calls on its own descriptor; the mode belongs to the
 * UART, so it holds for our open port. Read back with TIOCGRS485 to be sure the driver kept it.
 * Resolves with null when set, or with why the port refused (a pty or most USB adapters: ENOTTY).
 */
export function setKernelRs485(path: string): Promise<string | null> {
  const script = [
    'use strict; use Fcntl;',
    'sysopen(my $fh, $ARGV[0], O_RDWR | O_NOCTTY | O_NONBLOCK) or do { print "cannot open: $!"; exit 3 };',
    `my $set = pack('L8', ${SER_RS485_ENABLED | SER_RS485_RTS_ON_SEND}, 0, 0, 0, 0, 0, 0, 0);`,
    `ioctl($fh, ${TIOCSRS485}, $set) or do { print "TIOCSRS485: $!"; exit 3 };`,
    'my $got = "\\0" x 32;',
    `ioctl($fh, ${TIOCGRS485}, $got) or do { print "TIOCGRS485: $!"; exit 3 };`,
    `((unpack('L8', $got))[0] & ${SER_RS485_ENABLED}) or do { print "the driver kept RS-485 off"; exit 3 };`,
    'exit 0;',
  ].join(' ');
  return new Promise((resolve) => {
    execFile('perl', ['-e', script, '--', path], { timeout: RS485_TIMEOUT_MS, env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } }, (error, stdout, stderr) => {
      if (error === null) return resolve(null);
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT') return resolve('perl, which sets it, is not installed');
      resolve((stdout.trim() || stderr.trim() || `perl exited with ${String(code)}`).slice(0, 200));
    });
  });
}
