import type { FastifyInstance, FastifyRequest } from 'fastify';
import { GuardpostError } from '../errors.js';

/** Requests per minute for each class of route, per caller; 0 switches a class off. */
export interface RateLimits {
  readonly readPerMinute: number;
  readonly writePerMinute: number;
  readonly exportPerMinute: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { readPerMinute: 3_000, writePerMinute: 300, exportPerMinute: 30 };

type RouteClass = 'read' | 'write' | 'export';

const WINDOW_MS = 60_000;

/** Exports stream the journal, the heaviest thing a caller can ask for; reads and writes by method. */
function classOf(request: FastifyRequest): RouteClass {
  const url = request.routeOptions.url ?? '';
  if (url.endsWith('/export') || url.endsWith('/report')) return 'export';
  return request.method === 'GET' || request.method === 'HEAD' ? 'read' : 'write';
}

/**
 * [SEC-API-RATE] Per-caller limits for each class of route, as a token bucket refilled over a
 * minute: a stolen token or a runaway script cannot monopolise the box that opens the doors.
 * The caller is the signed-in user or token, else the address. Login has its own throttle
 * (auth/throttle.ts), per user and per address; the SSE stream is one long request.
 */
export function registerRateLimits(app: FastifyInstance, limits: RateLimits, clock: () => number = Date.now): void {
  const buckets = new Map<string, { tokens: number; atMs: number }>();
  const perMinute: Record<RouteClass, number> = { read: limits.readPerMinute, write: limits.writePerMinute, export: limits.exportPerMinute };
  // Callback style: a hook on every request should not cost a promise when it lets it through.
  app.addHook('preHandler', (request, reply, done) => {
    if (!request.url.startsWith('/api/') || request.url.startsWith('/api/v1/events/stream')) return done();
    const kind = classOf(request);
    const max = perMinute[kind];
    if (max === 0) return done();
    const caller = request.principal !== null && request.principal.kind !== 'anonymous' ? `${request.principal.kind}:${request.principal.id}` : `address:${request.ip}`;
    const key = `${caller}|${kind}`;
    const nowMs = clock();
    const bucket = buckets.get(key) ?? { tokens: max, atMs: nowMs };
    bucket.tokens = Math.min(max, bucket.tokens + ((nowMs - bucket.atMs) * max) / WINDOW_MS);
    bucket.atMs = nowMs;
    if (bucket.tokens < 1) {
      const retryAfterSeconds = Math.max(1, Math.ceil(((1 - bucket.tokens) * WINDOW_MS) / max / 1000));
      void reply.header('retry-after', String(retryAfterSeconds));
      return done(new GuardpostError('GP_ERR_RATE_LIMITED', `more than ${max} ${kind} requests a minute from ${caller.startsWith('address:') ? 'this address' : 'this caller'}; retry in ${retryAfterSeconds} s`));
    }
    bucket.tokens -= 1;
    buckets.set(key, bucket);
    // Callers come and go: forget full buckets now and then so the map stays small.
    if (buckets.size > 10_000) for (const [name, held] of buckets) if (held.tokens >= max - 1) buckets.delete(name);
    done();
  });
}
