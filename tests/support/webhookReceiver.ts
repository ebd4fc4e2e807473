import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ReceivedRequest {
  readonly atMs: number;
  readonly path: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: string;
  /** The CloudEvents in the body: one, or the elements of a batch. */
  readonly events: { id: string; type: string; sequence: string; data: { seq: number; type: string; data: Record<string, unknown> } }[];
  /** What the receiver answered. */
  readonly status: number;
}

export interface Answer {
  readonly status: number;
  readonly headers?: Record<string, string>;
  readonly body?: string;
}

/** Decides the answer to each request; the default acknowledges everything. */
export type Responder = (request: Omit<ReceivedRequest, 'status' | 'atMs'>) => Answer;

/**
 * A real HTTP server standing in for the incident system's webhook endpoint. It can be stopped
 * and started again on the same port, to make an outage.
 */
export class WebhookReceiver {
  readonly requests: ReceivedRequest[] = [];
  responder: Responder = () => ({ status: 204 });
  /** Holds the answer to a request until the promise it returns settles (a slow receiver). */
  holdAnswer: ((request: Omit<ReceivedRequest, 'status' | 'atMs'>) => Promise<void> | undefined) | undefined;
  /** Requests received but not answered yet. */
  pending = 0;
  private server: http.Server | undefined;
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  constructor(public port = 0) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}/hook`;
  }

  /** Accepted events (2xx answers only), in arrival order, duplicates included. */
  accepted(): ReceivedRequest['events'] {
    return this.requests.filter((request) => request.status < 300).flatMap((request) => request.events);
  }

  async start(): Promise<void> {
    const server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let parsed: unknown;
        try {
          parsed = JSON.parse(body);
        } catch {
          parsed = [];
        }
        const events = (Array.isArray(parsed) ? parsed : [parsed]) as ReceivedRequest['events'];
        const seen = { path: request.url ?? '/', headers: request.headers, body, events };
        const answer = (): void => {
          const reply = this.responder(seen);
          this.requests.push({ ...seen, atMs: Date.now(), status: reply.status });
          response.writeHead(reply.status, reply.headers ?? {});
          response.end(reply.body ?? '');
          this.check();
        };
        const held = this.holdAnswer?.(seen);
        if (held === undefined) return answer();
        this.pending += 1;
        this.check();
        void held.finally(() => {
          this.pending -= 1;
          answer();
        });
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (server === undefined) return;
    this.server = undefined;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** Resolves once `check` holds (now or after a later request). */
  until(check: () => boolean, timeoutMs = 15_000, what = 'the expected webhook requests'): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${what} did not arrive within ${timeoutMs} ms (got ${this.requests.length} requests)`)), timeoutMs);
      this.waiters.push({
        check,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
      });
    });
  }

  /** Resolves once every id has been accepted at least once. */
  untilAccepted(ids: Iterable<string>, timeoutMs?: number): Promise<void> {
    const wanted = new Set(ids);
    return this.until(() => {
      const got = new Set(this.accepted().map((event) => event.id));
      for (const id of wanted) if (!got.has(id)) return false;
      return true;
    }, timeoutMs, `${wanted.size} events`);
  }

  private check(): void {
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.check()) return true;
      waiter.resolve();
      return false;
    });
  }
}
