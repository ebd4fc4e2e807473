import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { JournalEvent } from '../../journal/index.js';
import type { ApiDeps } from '../app.js';

/** A reconnecting client is sent what it missed in pages of this many events. */
const REPLAY_PAGE = 500;
/** Comment lines keep proxies and browsers from timing out an idle stream. */
const HEARTBEAT_MS = 15_000;
/** A client this far behind is cut off; it reconnects with Last-Event-ID and misses nothing. */
const MAX_PENDING_EVENTS = 10_000;

const StreamQuery = Type.Object({ after: Type.Optional(Type.Integer({ minimum: 0 })) }, { additionalProperties: false });

const frame = (event: JournalEvent): string => `id: ${event.seq}\nevent: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;

/**
 * Live events over Server-Sent Events. `id` is the journal's `seq`, so a client that reconnects
 * with `Last-Event-ID` (or `?after=`) is first sent every event it missed, from the journal.
 */
export function registerEventStreamRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Streams never end on their own: close them when the server closes, or it would wait forever.
  const open = new Set<{ destroy: () => void }>();
  app.addHook('onClose', async () => {
    for (const stream of open) stream.destroy();
  });

  app.get<{ Querystring: Static<typeof StreamQuery> }>('/api/v1/events/stream', { config: { auth: 'viewer' }, schema: { querystring: StreamQuery } }, (request, reply) => {
    const header = request.headers['last-event-id'];
    const fromHeader = typeof header === 'string' && /^\d+$/.test(header) ? Number(header) : undefined;
    let lastSent = fromHeader ?? request.query.after ?? deps.journal.lastSeq();

    reply.hijack();
    const out = reply.raw;
    out.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    out.write('retry: 2000\n\n');

    // Subscribe before replaying, so nothing appended during the replay falls between the two.
    const pending: JournalEvent[] = [];
    let replaying = true;
    let closed = false;
    const send = (event: JournalEvent): void => {
      if (event.seq <= lastSent) return;
      lastSent = event.seq;
      out.write(frame(event));
    };
    // Writes until the socket asks to wait; 'drain' resumes it. Replays from the journal first.
    const pump = (): void => {
      while (!closed && !out.writableNeedDrain) {
        if (replaying) {
          const page = deps.journal.query({ afterSeq: lastSent, limit: REPLAY_PAGE });
          for (const event of page) send(event);
          if (page.length < REPLAY_PAGE) replaying = false;
          continue;
        }
        const next = pending.shift();
        if (next === undefined) return;
        send(next);
      }
    };
    const unsubscribe = deps.journal.onAppend((event) => {
      if (!replaying && pending.length === 0 && !out.writableNeedDrain) return send(event);
      pending.push(event);
      if (pending.length > MAX_PENDING_EVENTS) out.destroy();
    });
    const heartbeat = setInterval(() => out.write(': keep-alive\n\n'), HEARTBEAT_MS);
    out.on('drain', pump);
    open.add(out);
    out.on('close', () => {
      open.delete(out);
      closed = true;
      clearInterval(heartbeat);
      unsubscribe();
    });
    pump();
  });
}
