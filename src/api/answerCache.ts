import { createHash } from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';

/**
 * Serialized answers of hot read routes (the events page, the doors list), asked for thousands of
 * times a second by consoles and integrations while nothing changes. An answer is kept per role
 * and URL together with the version of the state it was computed from (the database's change
 * mark, the devices' availability generation); the route passes the current version on every
 * request, so any change is seen by the very next request: invalidation is by comparison, never
 * by time. Authentication and role checks run before the handler, so a revoked token is refused
 * whatever is cached.
 */

export interface CachedAnswer {
  readonly version: string;
  readonly body: string;
  /** Strong validator of `body` (a hash of it): equal bodies under a new version keep their ETag. */
  readonly etag: string;
  /** Headers the route set beside the body (paging's X-Total-Count and Link). */
  readonly headers: Readonly<Record<string, string>>;
}

/** Headers of a list answer that belong to it and are replayed with the cached body. */
const ANSWER_HEADERS = ['x-total-count', 'link'] as const;

/**
 * What an answer's version is made of, told to the HTTP front (front/) in an internal header so it
 * may keep the answer per token and serve it without asking this thread, while that still holds.
 */
export type AnswerDepends = 'store' | 'store,availability';
export const FRONT_CACHE_HEADER = 'x-gp-front-cache';

export interface AnswerCacheOptions {
  /** What the version passed to send() is made of (default 'store'). */
  readonly depends?: AnswerDepends;
  /** Distinct URLs kept per cache (oldest dropped first). */
  readonly maxEntries?: number;
  /** Answers bigger than this are served but not kept. */
  readonly maxBodyBytes?: number;
}

export class AnswerCache {
  private readonly entries = new Map<string, CachedAnswer>();
  private readonly maxEntries: number;
  private readonly maxBodyBytes: number;
  private readonly depends: AnswerDepends;
  /** For tests and metrics: answers served from the cache and computed afresh. */
  hits = 0;
  misses = 0;

  constructor(options: AnswerCacheOptions = {}) {
    this.maxEntries = options.maxEntries ?? 256;
    this.maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
    this.depends = options.depends ?? 'store';
  }

  get size(): number {
    return this.entries.size;
  }

  /** The answer kept for `key` if it was computed under `version`. */
  get(key: string, version: string): CachedAnswer | undefined {
    const answer = this.entries.get(key);
    return answer !== undefined && answer.version === version ? answer : undefined;
  }

  set(key: string, version: string, body: string, headers: Readonly<Record<string, string>>): CachedAnswer {
    const answer: CachedAnswer = { version, body, etag: `"${createHash('sha1').update(body).digest('base64url')}"`, headers };
    this.entries.delete(key);
    if (body.length > this.maxBodyBytes) return answer;
    this.entries.set(key, answer);
    if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    return answer;
  }

  /**
   * Answers a GET from the cache when `version` still holds, else runs `compute` (which may set
   * paging headers on the reply) and keeps its JSON (`serialize`: a route whose compute already
   * gives JSON text passes `String`). Sends 304 when the caller's If-None-Match
   * names the answer's ETag.
   */
  send(request: FastifyRequest, reply: FastifyReply, version: string, compute: () => unknown, serialize: (answer: unknown) => string = JSON.stringify): FastifyReply {
    const key = `${request.principal?.role ?? '-'} ${request.url}`;
    let answer = this.get(key, version);
    if (answer === undefined) {
      this.misses += 1;
      const body = serialize(compute());
      const headers: Record<string, string> = {};
      for (const name of ANSWER_HEADERS) {
        const value = reply.getHeader(name);
        if (value !== undefined) headers[name] = String(value);
      }
      answer = this.set(key, version, body, headers);
    } else {
      this.hits += 1;
      for (const name of ANSWER_HEADERS) {
        const value = answer.headers[name];
        if (value !== undefined) void reply.header(name, value);
      }
    }
    // The console revalidates every time; nothing authenticated is stored by shared caches.
    void reply.header('etag', answer.etag).header('cache-control', 'private, no-cache').header(FRONT_CACHE_HEADER, this.depends);
    if (matchesEtag(request.headers['if-none-match'], answer.etag)) return reply.code(304).send();
    return reply.type('application/json; charset=utf-8').send(answer.body);
  }
}

/** If-None-Match: `*`, or a list of (possibly weak) entity tags; compared weakly as RFC 9110 says for GET. */
export function matchesEtag(header: string | undefined, etag: string): boolean {
  if (header === undefined) return false;
  if (header.trim() === '*') return true;
  return header.split(',').some((tag) => tag.trim().replace(/^W\//, '') === etag);
}
