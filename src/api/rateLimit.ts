import type { FastifyInstance } from 'fastify';
import { GuardpostError } from '../errors.js';
import { rateLimitedMessage, routeClassOf, TokenBuckets } from './tokenBuckets.js';

/** Requests per minute for each class of route, per caller; 0 switches a class off. */
export interface RateLimits {
  readonly readPerMinute: number;
  readonly writePerMinute: number;
  readonly exportPerMinute: number;
}

export const DEFAULT_RATE_LIMITS: RateLimits = { readPerMinute: 3_000, writePerMinute: 300, exportPerMinute: 30 };

type RouteClass = 'read' | 'write' | 'export';

/**
 * [SEC-API-RATE] Per-caller limits for each class of route, as a token bucket refilled over a
 * minute: a stolen token or a runaway script cannot monopolise the box that opens the doors.
 * The caller is the signed-in user or token, else the address. Login has its own throttle
 * (auth/throttle.ts), per user and per address; the SSE stream is one long request.
 */
export function registerRateLimits(app: FastifyInstance, limits: RateLimits, clock: () => number = Date.now, options: { readsLimitedByFront?: boolean } = {}): void {
  const buckets = new TokenBuckets();
  // Behind the HTTP front (front/), reads are limited there: it answers most of them itself.
  const perMinute: Record<RouteClass, number> = { read: options.readsLimitedByFront === true ? 0 : limits.readPerMinute, write: limits.writePerMinute, export: limits.exportPerMinute };
  // Callback style: a hook on every request should not cost a promise when it lets it through.
  app.addHook('preHandler', (request, reply, done) => {
    if (!request.url.startsWith('/api/') || request.url.startsWith('/api/v1/events/stream')) return done();
    const kind = routeClassOf(request.method, request.routeOptions.url ?? '');
    const max = perMinute[kind];
    if (max === 0) return done();
    const byAddress = request.principal === null || request.principal.kind === 'anonymous';
    const caller = byAddress ? `address:${request.ip}` : `${request.principal!.kind}:${request.principal!.id}`;
    const retryAfterSeconds = buckets.take(`${caller}|${kind}`, max, clock());
    if (retryAfterSeconds > 0) {
      void reply.header('retry-after', String(retryAfterSeconds));
      return done(new GuardpostError('GP_ERR_RATE_LIMITED', rateLimitedMessage(max, kind, byAddress, retryAfterSeconds)));
    }
    done();
  });
}
