import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SerialPort } from 'serialport';

export const SOCAT = '/usr/bin/socat';

/** The serial tier needs socat; without it the tier fails, loudly, rather than skipping. */
export function requireSocat(): void {
  if (!fs.existsSync(SOCAT)) {
    throw new Error(`the serial test tier needs socat at ${SOCAT} for pseudo-terminal pairs: install it (apt-get install socat, as .ci/run does)`);
  }
}

/**
 * A pair of connected pseudo-terminals from socat with stable link names: the gateway opens
 * `gatewayPath` as its serial port, the test plays the device on `devicePath`. stop() kills
 * socat (the port vanishes as if unplugged); start() brings a new pair up on the same paths.
 */
export class SocatPair {
  readonly gatewayPath: string;
  readonly devicePath: string;
  private process: ChildProcess | undefined;

  constructor(dir: string, name = 'tty') {
    requireSocat();
    this.gatewayPath = path.join(dir, `${name}-gateway`);
    this.devicePath = path.join(dir, `${name}-device`);
  }

  async start(): Promise<void> {
    const child = spawn(SOCAT, ['-d', '-d', `pty,raw,echo=0,link=${this.gatewayPath}`, `pty,raw,echo=0,link=${this.devicePath}`], { stdio: ['ignore', 'ignore', 'pipe'] });
    this.process = child;
    await new Promise<void>((resolve, reject) => {
      let stderr = '';
      const timer = setTimeout(() => reject(new Error(`socat did not start within 5 s: ${stderr}`)), 5_000);
      child.stderr?.on('data', (chunk: Buffer) => {
        stderr += chunk.toString('utf8');
        if (stderr.includes('starting data transfer loop')) {
          clearTimeout(timer);
          resolve();
        }
      });
      child.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`socat exited with ${code}: ${stderr}`));
      });
    });
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child === undefined || child.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      child.kill('SIGTERM');
    });
  }
}

/** The device's end of a pair, opened with the same serialport library a real rig would use. */
export class DeviceEnd {
  private chunks: Buffer[] = [];
  private waiters: (() => void)[] = [];

  private constructor(readonly port: SerialPort) {
    port.on('data', (chunk: Buffer) => {
      this.chunks.push(chunk);
      for (const waiter of this.waiters.splice(0)) waiter();
    });
  }

  static async open(devicePath: string, baudRate = 9600): Promise<DeviceEnd> {
    const port = new SerialPort({ path: devicePath, baudRate, autoOpen: false });
    await new Promise<void>((resolve, reject) => port.open((error) => (error === null ? resolve() : reject(error))));
    return new DeviceEnd(port);
  }

  write(bytes: Uint8Array): Promise<void> {
    return new Promise((resolve, reject) => {
      this.port.write(Buffer.from(bytes), (error) => (error ? reject(error) : this.port.drain(() => resolve())));
    });
  }

  /** Everything received so far. */
  get received(): Buffer {
    return Buffer.concat(this.chunks);
  }

  /** Resolves once the received bytes satisfy `done`. */
  async until(done: (received: Buffer) => boolean, timeoutMs = 5_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (!done(this.received)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`the device end did not receive the expected bytes within ${timeoutMs} ms (got ${this.received.toString('hex')})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.received;
  }

  close(): Promise<void> {
    return new Promise((resolve) => (this.port.isOpen ? this.port.close(() => resolve()) : resolve()));
  }
}
