import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** A real SSE client over fetch: collects frames and can await the n-th. */
class SseClient {
  readonly events: { id: string; event: string; data: JournalEvent }[] = [];
  private readonly controller = new AbortController();
  private waiters: { count: number; resolve: () => void }[] = [];

  static async open(url: string, headers: Record<string, string> = {}): Promise<SseClient> {
    const client = new SseClient();
    const response = await fetch(url, { headers, signal: client.controller.signal });
    if (response.status !== 200) throw new Error(`stream answered ${response.status}`);
    void client.read(response.body!);
    return client;
  }

  private async read(body: ReadableStream<Uint8Array>): Promise<void> {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of body) {
        buffer += decoder.decode(chunk, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) !== -1) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const fields = Object.fromEntries(block.split('\n').filter((line) => !line.startsWith(':')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 2)]));
          if (fields.data === undefined) continue;
          this.events.push({ id: fields.id!, event: fields.event!, data: JSON.parse(fields.data) as JournalEvent });
          this.waiters = this.waiters.filter((waiter) => (this.events.length >= waiter.count ? (waiter.resolve(), false) : true));
        }
      }
    } catch {
      // aborted by close()
    }
  }

  until(count: number): Promise<void> {
    if (this.events.length >= count) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ count, resolve }));
  }

  close(): void {
    this.controller.abort();
  }
}

describe('the live event stream (SSE)', () => {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  const append = (n: number, door: string): JournalEvent[] =>
    Array.from({ length: n }, (_, index) => gw.gateway.journal.append({ type: 'access.denied', door, reason: 'unknown_credential', data: { card: '****99', index } }));

  it('streams each new event with its seq as the event id', async () => {
    const client = await SseClient.open(`${gw.httpUrl}/api/v1/events/stream`);
    const [event] = append(1, 'main-entrance');
    await client.until(1);
    expect(client.events[0]).toEqual({ id: String(event!.seq), event: 'access.denied', data: event });
    client.close();
  });

  it('sends a reconnecting client exactly the events it missed, then the live ones, in order', async () => {
    const first = await SseClient.open(`${gw.httpUrl}/api/v1/events/stream`);
    append(3, 'server-room');
    await first.until(3);
    first.close();
    const lastSeen = first.events.at(-1)!.id;

    const missed = append(1200, 'server-room'); // more than one replay page
    const second = await SseClient.open(`${gw.httpUrl}/api/v1/events/stream`, { 'last-event-id': lastSeen });
    const live = append(2, 'main-entrance');
    await second.until(1202);
    expect(second.events.map((event) => event.data.seq)).toEqual([...missed, ...live].map((event) => event.seq));
    second.close();
  });

  it('refuses an anonymous stream outside demo mode', async () => {
    const production = await startTestGateway({ configYaml: 'demo: false' });
    try {
      expect((await fetch(`${production.httpUrl}/api/v1/events/stream`)).status).toBe(401);
      const token = await production.login();
      const client = await SseClient.open(`${production.httpUrl}/api/v1/events/stream?after=0`, { authorization: `Bearer ${token}` });
      await client.until(1);
      expect(client.events[0]!.data.type).toBe('system.started');
      client.close();
    } finally {
      await production.stop();
    }
  });
});
