import http from 'node:http';
import net, { type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';
import { HttpPoster, deliveryOutcome } from '../../../src/forwarders/httpPost.js';
import { WebhookDestination } from '../../../src/forwarders/webhook.js';
import type { JournalEvent } from '../../../src/journal/index.js';

/** A local incident system: answers each request with `answer`, counts connections and requests. */
class Receiver {
  connections = 0;
  readonly requests: { headers: http.IncomingHttpHeaders; body: string }[] = [];
  private readonly server: http.Server;
  constructor(answer: (request: http.IncomingMessage, response: http.ServerResponse) => void) {
    this.server = http.createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.requests.push({ headers: request.headers, body: Buffer.concat(chunks).toString('utf8') });
        answer(request, response);
      });
    });
    this.server.on('connection', () => (this.connections += 1));
  }
  async url(path = '/hook'): Promise<URL> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    return new URL(`http://127.0.0.1:${(this.server.address() as AddressInfo).port}${path}`);
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const never = new AbortController().signal;

describe('posting to an incident system over HTTP', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });
  const receiver = (answer: (request: http.IncomingMessage, response: http.ServerResponse) => void): Receiver => {
    const made = new Receiver(answer);
    cleanups.push(() => made.close());
    return made;
  };
  const poster = (url: URL, timeoutMs = 10_000): HttpPoster => {
    const made = new HttpPoster(url, timeoutMs);
    cleanups.push(() => made.close());
    return made;
  };

  it('sends a run of events over one kept connection instead of a new connection per event', async () => {
    const incidents = receiver((_request, response) => response.writeHead(204).end());
    const config = parseConfig({ forwarders: [{ id: 'soc', kind: 'webhook', url: (await incidents.url()).toString(), secret: 'whsec_c2VjcmV0' }] });
    if (!config.ok) throw new Error(config.problems.join('; '));
    const webhook = new WebhookDestination(config.config.forwarders[0]!, { site: 'hq', gateway: 'floor-3' });
    cleanups.push(() => webhook.stop());
    for (let seq = 1; seq <= 20; seq++) {
      const event: JournalEvent = { id: `0190f000-0000-7000-8000-${String(seq).padStart(12, '0')}`, seq, time: '2026-11-24T00:00:00.000Z', type: 'access.granted', severity: 'info', site: 'hq', door: 'main-entrance', device: null, cardholder: null, reason: 'granted', data: {} };
      expect(await webhook.deliver([event], never)).toEqual({ kind: 'delivered' });
    }
    expect(incidents.requests).toHaveLength(20);
    expect(incidents.requests.map((request) => JSON.parse(request.body).data.seq)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect(incidents.requests.every((request) => typeof request.headers['webhook-signature'] === 'string')).toBe(true);
    expect(incidents.connections).toBe(1);
  });

  it('gives the status, the start of the answer and Retry-After of a refusal, and follows no redirect', async () => {
    const incidents = receiver((request, response) => {
      if (request.url === '/moved') return void response.writeHead(302, { location: '/elsewhere' }).end();
      response.writeHead(503, { 'retry-after': '7' }).end(`try later ${'x'.repeat(5_000)}`);
    });
    const url = await incidents.url();
    const answer = await poster(url).post('{}', { 'content-type': 'application/json' }, never);
    expect(answer).toMatchObject({ kind: 'answered', status: 503, retryAfter: '7' });
    expect(answer.kind === 'answered' && answer.text.startsWith('try later x')).toBe(true);
    expect(answer.kind === 'answered' && answer.text.length).toBe(1_024);
    expect(await poster(new URL('/moved', url)).post('{}', {}, never)).toMatchObject({ kind: 'answered', status: 302 });
    expect(incidents.requests.map((request) => request.headers['content-length'])).toEqual(['2', '2']);
  });

  it('sends again at once on a new connection when the receiver closed the kept one just as it was reused', async () => {
    // A receiver that answers the first request on a connection and drops the connection at the
    // second, as a server whose keep-alive timeout ran out at that moment does.
    let connections = 0;
    let answered = 0;
    const server = net.createServer((socket) => {
      connections += 1;
      let requests = 0;
      socket.on('data', (bytes: Buffer) => {
        if (!bytes.toString('latin1').includes('\r\n\r\n{}')) return;
        requests += 1;
        if (requests > 1) return void socket.destroy();
        answered += 1;
        socket.write('HTTP/1.1 204 No Content\r\nConnection: keep-alive\r\n\r\n');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const client = poster(new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`));
    expect(await client.post('{}', {}, never)).toMatchObject({ kind: 'answered', status: 204 });
    expect(await client.post('{}', {}, never)).toMatchObject({ kind: 'answered', status: 204 });
    expect({ connections, answered }).toEqual({ connections: 2, answered: 2 });
  });

  it('gives up on a receiver that never answers after the timeout, and says how long it waited', async () => {
    const silent = receiver(() => undefined);
    expect(await poster(await silent.url(), 200).post('{}', {}, never)).toEqual({ kind: 'failed', reason: 'no answer within 200 ms' });
  });

  it('names a refused connection by its cause, without the URL', async () => {
    const gone = receiver(() => undefined);
    const url = await gone.url();
    await gone.close();
    expect(await poster(url).post('{}', {}, never)).toEqual({ kind: 'failed', reason: 'connection failed: ECONNREFUSED' });
  });

  it('stops waiting at once when the forwarder stops', async () => {
    const silent = receiver(() => undefined);
    const stop = new AbortController();
    const answer = poster(await silent.url()).post('{}', {}, stop.signal);
    // The request has reached the receiver and waits for an answer that will not come.
    while (silent.requests.length === 0) await new Promise((resolve) => setImmediate(resolve));
    stop.abort();
    expect(await answer).toEqual({ kind: 'failed', reason: 'stopped' });
  });
});

describe('deliveryOutcome: what a forwarder does with a receiver answer', () => {
  const answered = (status: number, text = '', retryAfter?: string) => ({ kind: 'answered' as const, status, text, retryAfter });
  it('delivers on 2xx, retries 408/429/5xx after Retry-After, rejects other 4xx, keeps events on a redirect, and retries a failed connection', () => {
    const nowMs = Date.parse('2026-11-24T00:00:00Z');
    expect(deliveryOutcome(answered(204), nowMs)).toEqual({ kind: 'delivered' });
    expect(deliveryOutcome(answered(503, ' busy ', '7'), nowMs)).toEqual({ kind: 'retry', reason: 'HTTP 503: busy', retryAfterMs: 7_000 });
    expect(deliveryOutcome(answered(429), nowMs)).toMatchObject({ kind: 'retry', reason: 'HTTP 429' });
    expect(deliveryOutcome(answered(400, 'invalid event'), nowMs)).toEqual({ kind: 'rejected', reason: 'HTTP 400: invalid event' });
    expect(deliveryOutcome(answered(302), nowMs)).toEqual({ kind: 'retry', reason: 'HTTP 302 (not followed: fix the forwarder url)' });
    expect(deliveryOutcome({ kind: 'failed', reason: 'connection failed: ECONNREFUSED' }, nowMs)).toEqual({ kind: 'retry', reason: 'connection failed: ECONNREFUSED' });
  });

  it('takes a secret the receiver echoed out of the reason before it is logged', () => {
    const outcome = deliveryOutcome(answered(400, 'unknown routing key R0UT1NGKEY'), 0, (text) => text.replaceAll('R0UT1NGKEY', '[routing key]'));
    expect(outcome).toEqual({ kind: 'rejected', reason: 'HTTP 400: unknown routing key [routing key]' });
  });
});
