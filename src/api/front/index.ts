import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { GuardpostError } from '../../errors.js';
import type { Logger } from '../../logger.js';
import type { Metrics } from '../../metrics.js';
import { startModuleWorker } from '../../workerThread.js';
import type { TlsMaterial } from '../tls.js';
import { SLOT_AVAILABILITY, SLOT_COUNT, SLOT_CREDENTIALS, type BodyLimits, type FrontCommand, type FrontMessage, type FrontWorkerData } from './protocol.js';

export interface ApiFrontOptions {
  readonly host: string;
  readonly port: number;
  readonly tls?: TlsMaterial;
  /** The database file (its commit counter versions the kept answers); null keeps none. */
  readonly databaseFile: string | null;
  readonly readPerMinute: number;
  readonly securityHeaders: ReadonlyArray<readonly [string, string]>;
  readonly bodyLimits: BodyLimits;
  readonly logger: Logger;
  readonly metrics: Metrics;
  /** Niceness the front's thread adds to the gateway's (default 10: badges win the CPU under an HTTP flood). */
  readonly niceness?: number;
}

/**
 * The HTTP front's handle on the gateway's thread [API-FRONT] (front/frontWorker.ts does the
 * work): the private socket the API listens on, the shared generations the front's kept answers
 * depend on, and the worker's lifecycle.
 */
export class ApiFront {
  private readonly shared = new Int32Array(new SharedArrayBuffer(SLOT_COUNT * Int32Array.BYTES_PER_ELEMENT));
  private worker: Worker | undefined;
  private closed: Promise<void> | undefined;
  private listening: Promise<number> = Promise.resolve(0);
  /** The public port the front listens on. */
  port = 0;

  private constructor(
    /** Where the API (fastify) listens: a Unix socket in a directory only this user may enter. */
    readonly upstreamSocket: string,
    private readonly socketDir: string,
  ) {}

  /** Makes the private socket's directory; the API listens on `upstreamSocket` before `start()`. */
  static prepare(): ApiFront {
    const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'guardpost-api-'));
    fs.chmodSync(socketDir, 0o700);
    return new ApiFront(path.join(socketDir, 'api.sock'), socketDir);
  }

  /** Devices went online or offline: kept door and device lists no longer hold. */
  availabilityChanged(): void {
    Atomics.add(this.shared, SLOT_AVAILABILITY, 1);
  }

  /** A token may vouch for less than before: kept answers no longer hold. */
  credentialsChanged(): void {
    Atomics.add(this.shared, SLOT_CREDENTIALS, 1);
  }

  /** Starts the front's thread; resolves once it listens on the public host and port. */
  async start(options: ApiFrontOptions): Promise<void> {
    const data: FrontWorkerData = {
      host: options.host,
      port: options.port,
      ...(options.tls === undefined ? {} : { tls: { cert: options.tls.cert.toString('utf8'), key: options.tls.key.toString('utf8') } }),
      upstreamSocket: this.upstreamSocket,
      databaseFile: options.databaseFile,
      shared: this.shared.buffer as SharedArrayBuffer,
      readPerMinute: options.readPerMinute,
      securityHeaders: options.securityHeaders,
      bodyLimits: options.bodyLimits,
      niceness: options.niceness ?? 10,
    };
    options.metrics.define('guardpost_api_front_requests_total', 'HTTP requests by how the front answered them (kept answer, passed to the API, rate limited, API unreachable)');
    options.metrics.define('guardpost_api_front_restarts_total', 'Times the HTTP front thread stopped unexpectedly and was started again');
    try {
      this.listening = this.spawn(data, options);
      this.port = await this.listening;
    } catch (error) {
      await this.close();
      throw error;
    }
  }

  /** The front's thread now (tests end it to see it come back). */
  get thread(): Worker | undefined {
    return this.worker;
  }

  /** Resolves once the front's latest thread listens (after a restart too). */
  ready(): Promise<void> {
    return this.listening.then(() => undefined);
  }

  /** One front thread; resolves with its port once it listens. A thread that dies later is started again on that port. */
  private async spawn(data: FrontWorkerData, options: ApiFrontOptions): Promise<number> {
    const { logger, metrics } = options;
    const worker = startModuleWorker(import.meta.url, 'frontWorker', data);
    this.worker = worker;
    worker.on('message', (message: FrontMessage) => {
      switch (message.type) {
        case 'stats':
          for (const [outcome, count] of Object.entries(message.stats)) if (count > 0) metrics.increment('guardpost_api_front_requests_total', { outcome }, count);
          return;
        case 'log':
          logger[message.level]({ module: 'api-front' }, message.message);
          return;
        case 'listening':
        case 'failed':
        case 'closed':
          return;
      }
    });
    worker.on('error', (error) => logger.error({ err: error, module: 'api-front' }, 'the HTTP front failed'));
    worker.unref();
    const port = await new Promise<number>((resolve, reject) => {
      const onMessage = (message: FrontMessage): void => {
        if (message.type === 'listening') {
          worker.off('message', onMessage);
          resolve(message.port);
        } else if (message.type === 'failed') {
          worker.off('message', onMessage);
          reject(new GuardpostError('GP_ERR_TRANSPORT', `cannot listen for HTTP on ${data.host}:${data.port}: ${message.message}`));
        }
      };
      worker.on('message', onMessage);
      worker.once('error', reject);
      worker.once('exit', (code) => reject(new GuardpostError('GP_ERR_TRANSPORT', `the HTTP front exited with ${code} before it listened`)));
    });
    // Doors never depend on the API, but the console and integrations do: a thread that dies (an
    // uncaught error in it) is started again on the same port, every second until it listens.
    worker.once('exit', (code) => {
      if (this.closed !== undefined) return;
      metrics.increment('guardpost_api_front_restarts_total');
      logger.error({ module: 'api-front', code }, `the HTTP front stopped (exit code ${code}); starting it again on port ${port}`);
      const again = (): void => {
        if (this.closed !== undefined) return;
        this.listening = this.spawn({ ...data, port }, options);
        this.listening.catch((error: unknown) => {
          logger.error({ err: error, module: 'api-front' }, 'the HTTP front could not start again; retrying in 1 s');
          setTimeout(again, 1_000).unref();
        });
      };
      again();
    });
    return port;
  }

  /** No new connections; requests in flight are answered. */
  stopAccepting(): void {
    this.worker?.postMessage({ type: 'stop-accepting' } satisfies FrontCommand);
  }

  /** Closes every connection left (the API is closed first, so its answers have left), ends the thread, removes the socket's directory. */
  close(): Promise<void> {
    this.closed ??= (async () => {
      const worker = this.worker;
      if (worker !== undefined) {
        const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
        const closedMessage = new Promise<void>((resolve) => worker.on('message', (message: FrontMessage) => message.type === 'closed' && resolve()));
        worker.postMessage({ type: 'close' } satisfies FrontCommand);
        await Promise.race([closedMessage, exited]);
        await worker.terminate();
      }
      fs.rmSync(this.socketDir, { recursive: true, force: true });
    })();
    return this.closed;
  }
}
