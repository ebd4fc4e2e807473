/**
 * Token buckets refilled over a minute, one per key: the arithmetic of [SEC-API-RATE], shared by
 * the API's own hook (rateLimit.ts) and the HTTP front's read limit (front/frontWorker.ts).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>();

  constructor(private readonly windowMs = 60_000) {}

  /** Takes one token of `key` (at most `max` a window): 0 when taken, else the seconds to wait. */
  take(key: string, max: number, nowMs: number): number {
    const bucket = this.buckets.get(key) ?? { tokens: max, atMs: nowMs };
    bucket.tokens = Math.min(max, bucket.tokens + ((nowMs - bucket.atMs) * max) / this.windowMs);
    bucket.atMs = nowMs;
    if (bucket.tokens < 1) return Math.max(1, Math.ceil(((1 - bucket.tokens) * this.windowMs) / max / 1000));
    bucket.tokens -= 1;
    this.buckets.set(key, bucket);
    // Callers come and go: forget full buckets now and then so the map stays small.
    if (this.buckets.size > 10_000) for (const [name, held] of this.buckets) if (held.tokens >= max - 1) this.buckets.delete(name);
    return 0;
  }
}

/** The route class of a URL path: exports stream the journal, the heaviest thing a caller can ask for. */
export function routeClassOf(method: string, routeUrl: string): 'read' | 'write' | 'export' {
  if (routeUrl.endsWith('/export') || routeUrl.endsWith('/report')) return 'export';
  return method === 'GET' || method === 'HEAD' ? 'read' : 'write';
}

/** The 429 message of [SEC-API-RATE], the same whichever thread refuses. */
export function rateLimitedMessage(max: number, kind: string, byAddress: boolean, retryAfterSeconds: number): string {
  return `more than ${max} ${kind} requests a minute from ${byAddress ? 'this address' : 'this caller'}; retry in ${retryAfterSeconds} s`;
}
