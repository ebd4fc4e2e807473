import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http, { type IncomingMessage, type ServerResponse } from 'node:http';
import https from 'node:https';
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { FRONT_CACHE_HEADER, matchesEtag } from '../answerCache.js';
import { rateLimitedMessage, routeClassOf, TokenBuckets } from '../tokenBuckets.js';
import { SLOT_AVAILABILITY, SLOT_CREDENTIALS, type FrontCommand, type FrontMessage, type FrontWorkerData } from './protocol.js';

/**
 * The HTTP front [API-FRONT]: the API's sockets, parsing and answers live on this thread, at a
 * lower CPU priority than the gateway's thread, which decides badges. A request is passed to the
 * API (fastify on the gateway's thread, listening on a private Unix socket) unless the front
 * holds its answer: a hot read (the events page, the doors and devices lists) answered before for
 * the same token and URL, whose version still holds. The version is the database's commit counter
 * (`PRAGMA data_version` of a read-only connection: any commit by the gateway or another process
 * moves it) and the generations in shared memory (availability, credentials), all read before the
 * request was passed on, so an answer is never older than its request. The API thread checked the
 * token when it answered; a logout, revocation or user change bumps the credentials generation,
 * and a kept answer vouches for its token for at most `TOKEN_TRUST_MS` (sessions expire by time).
 * Reads are rate limited here, per token (or address without one), because most never reach the
 * API's own limit [SEC-API-RATE].
 */

const TOKEN_TRUST_MS = 1_000;
const MAX_ENTRIES = 1_024;
const MAX_BODY_BYTES = 1024 * 1024;
const STATS_INTERVAL_MS = 1_000;
/** Not passed on either way: they describe one connection, or are the front's own. */
const HOP_HEADERS = new Set(['connection', 'keep-alive', 'proxy-connection', 'transfer-encoding', 'te', 'upgrade', 'x-forwarded-for', 'x-forwarded-proto', 'x-forwarded-host', 'forwarded']);
/** Not kept with an answer: a fresh Date is sent, and the length is the kept body's. */
const NOT_KEPT = new Set(['date', 'content-length', FRONT_CACHE_HEADER]);

interface Version {
  readonly data: number;
  readonly availability: number;
  readonly credentials: number;
}

interface Entry {
  readonly version: Version;
  readonly withAvailability: boolean;
  readonly trustedUntilMs: number;
  /** Flat [name, value, …] for writeHead, content-length included. */
  readonly headers: string[];
  readonly notModifiedHeaders: string[];
  readonly body: Buffer;
  readonly etag: string | undefined;
}

const options = workerData as FrontWorkerData;
const port = parentPort!;
const post = (message: FrontMessage): void => port.postMessage(message);
const shared = new Int32Array(options.shared);
const stats = { hits: 0, forwarded: 0, limited: 0, unavailable: 0 };
const entries = new Map<string, Entry>();
/** Keys being asked of the API now, with the requests waiting for that answer. */
const flights = new Map<string, { version: Version; waiters: Array<() => void> }>();
const readBuckets = new TokenBuckets();
// No socket cap: each SSE stream holds one for as long as it lives.
const agent = new http.Agent({ keepAlive: true });
const proto = options.tls === undefined ? 'http' : 'https';

lowerPriority();
const dataVersion = openDataVersion();

function lowerPriority(): void {
  try {
    // Linux keeps a nice value per thread; /proc/thread-self names this one.
    const threadId = Number(fs.readlinkSync('/proc/thread-self').split('/').pop());
    os.setPriority(threadId, Math.min(19, os.getPriority(threadId) + options.niceness));
  } catch (error) {
    post({ type: 'log', level: 'info', message: `HTTP front runs at the gateway's priority: ${(error as Error).message}` });
  }
}

function openDataVersion(): (() => number) | null {
  if (options.databaseFile === null) return null;
  try {
    const db = new Database(options.databaseFile, { readonly: true, fileMustExist: true });
    const statement = db.prepare('PRAGMA data_version').pluck();
    return () => statement.get() as number;
  } catch (error) {
    post({ type: 'log', level: 'warn', message: `HTTP front keeps no answers (cannot open the database read-only): ${(error as Error).message}` });
    return null;
  }
}

function currentVersion(read: () => number): Version {
  return { data: read(), availability: Atomics.load(shared, SLOT_AVAILABILITY), credentials: Atomics.load(shared, SLOT_CREDENTIALS) };
}

function sameVersion(a: Version, b: Version, withAvailability: boolean): boolean {
  return a.data === b.data && a.credentials === b.credentials && (!withAvailability || a.availability === b.availability);
}

/** Callers are told apart by their bearer token (hashed: tokens are not kept), else by address. */
function callerOf(request: IncomingMessage): { key: string; byAddress: boolean } {
  const authorization = request.headers.authorization;
  if (authorization === undefined) return { key: `address:${request.socket.remoteAddress ?? ''}`, byAddress: true };
  return { key: `token:${createHash('sha256').update(authorization).digest('base64url')}`, byAddress: false };
}

/** Route patterns with a body limit of their own, as regular expressions. */
const routeBodyLimits = options.bodyLimits.routes.map((route) => ({
  method: route.method,
  path: new RegExp(`^${route.url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z0-9_]+/g, '[^/]+')}$`),
  bytes: route.bytes,
}));

function bodyLimitOf(method: string, path: string): number {
  return routeBodyLimits.find((route) => route.method === method && route.path.test(path))?.bytes ?? options.bodyLimits.defaultBytes;
}

function handle(request: IncomingMessage, response: ServerResponse): void {
  const url = request.url ?? '/';
  const method = request.method ?? 'GET';
  const declaredBytes = Number(request.headers['content-length'] ?? 0);
  if (declaredBytes > options.bodyLimits.defaultBytes && declaredBytes > bodyLimitOf(method, url.split('?')[0]!)) {
    // Node reads and drops the body after this answer, so the caller reads the 413 whole.
    return answerError(response, 413, 'GP_ERR_BAD_REQUEST', 'Payload Too Large', 'Request body is too large');
  }
  if (url.startsWith('/api/') && options.readPerMinute > 0 && !url.startsWith('/api/v1/events/stream') && routeClassOf(method, url.split('?')[0]!) === 'read') {
    const caller = callerOf(request);
    const retryAfterSeconds = readBuckets.take(`${caller.key}|read`, options.readPerMinute, Date.now());
    if (retryAfterSeconds > 0) {
      stats.limited += 1;
      return answerError(response, 429, 'GP_ERR_RATE_LIMITED', 'Too Many Requests', rateLimitedMessage(options.readPerMinute, 'read', caller.byAddress, retryAfterSeconds), [['retry-after', String(retryAfterSeconds)]]);
    }
  }
  serve(request, response, url, method);
}

function serve(request: IncomingMessage, response: ServerResponse, url: string, method: string): void {
  if (dataVersion === null || method !== 'GET' || !url.startsWith('/api/')) return forward(request, response, null);
  const key = `${request.headers.authorization ?? ''}\n${url}`;
  const now = currentVersion(dataVersion);
  const entry = entries.get(key);
  if (entry !== undefined && sameVersion(entry.version, now, entry.withAvailability) && Date.now() < entry.trustedUntilMs) return answerKept(request, response, entry);
  // A URL answered before is asked once while its version holds; the requests meanwhile wait
  // for that answer instead of each asking the API's thread (a burst after every change).
  const flight = flights.get(key);
  if (flight !== undefined && sameVersion(flight.version, now, true)) {
    flight.waiters.push(() => {
      const kept = entries.get(key);
      if (kept !== undefined && kept.version === flight.version) answerKept(request, response, kept);
      else forward(request, response, null);
    });
    return;
  }
  if (entry !== undefined && flight === undefined) flights.set(key, { version: now, waiters: [] });
  forward(request, response, { key, version: now });
}

function answerKept(request: IncomingMessage, response: ServerResponse, entry: Entry): void {
  stats.hits += 1;
  if (entry.etag !== undefined && matchesEtag(request.headers['if-none-match'], entry.etag)) {
    response.writeHead(304, entry.notModifiedHeaders);
    response.end();
    return;
  }
  response.writeHead(200, entry.headers);
  response.end(entry.body);
}

function answerError(response: ServerResponse, statusCode: number, code: string, error: string, message: string, extra: ReadonlyArray<readonly [string, string]> = []): void {
  const body = JSON.stringify({ statusCode, code, error, message });
  const headers = [...options.securityHeaders, ...extra, ['content-type', 'application/json; charset=utf-8'], ['content-length', String(Buffer.byteLength(body))]].flat();
  response.writeHead(statusCode, headers);
  response.end(body);
}

/** Passes a request to the API's thread and its answer back; `keep` says under which key to keep a 200. */
function forward(request: IncomingMessage, response: ServerResponse, keep: { key: string; version: Version } | null): void {
  stats.forwarded += 1;
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) if (value !== undefined && !HOP_HEADERS.has(name)) headers[name] = value;
  // Set, never appended: the API trusts these because only this thread can reach its socket.
  headers['x-forwarded-for'] = request.socket.remoteAddress ?? '';
  headers['x-forwarded-proto'] = proto;
  const upstream = http.request({ socketPath: options.upstreamSocket, method: request.method, path: request.url, headers, agent });
  let settled = false;
  const land = (): void => {
    if (settled || keep === null) return;
    settled = true;
    const flight = flights.get(keep.key);
    if (flight?.version !== keep.version) return;
    flights.delete(keep.key);
    for (const waiter of flight.waiters) waiter();
  };
  upstream.on('response', (answer) => {
    const depends = answer.headers[FRONT_CACHE_HEADER];
    const keeping = keep !== null && answer.statusCode === 200 && (depends === 'store' || depends === 'store,availability');
    const passed: string[] = [];
    const kept: string[] = [];
    for (let index = 0; index < answer.rawHeaders.length; index += 2) {
      const name = answer.rawHeaders[index]!;
      const value = answer.rawHeaders[index + 1]!;
      const lower = name.toLowerCase();
      if (HOP_HEADERS.has(lower) || lower === FRONT_CACHE_HEADER) continue;
      passed.push(name, value);
      if (!NOT_KEPT.has(lower)) kept.push(name, value);
    }
    response.writeHead(answer.statusCode ?? 502, passed);
    const chunks: Buffer[] = [];
    let bytes = 0;
    answer.on('data', (chunk: Buffer) => {
      if (keeping && bytes <= MAX_BODY_BYTES) chunks.push(chunk);
      bytes += chunk.length;
      if (!response.write(chunk)) {
        answer.pause();
        response.once('drain', () => answer.resume());
      }
    });
    answer.on('end', () => {
      response.end();
      if (keeping && bytes <= MAX_BODY_BYTES) keepAnswer(keep.key, keep.version, depends === 'store,availability', kept, Buffer.concat(chunks));
      land();
    });
    answer.on('error', () => {
      response.destroy();
      land();
    });
  });
  upstream.on('error', (error) => {
    land();
    if (response.headersSent) return void response.destroy();
    stats.unavailable += 1;
    answerError(response, 503, 'GP_ERR_NOT_READY', 'Service Unavailable', `the API is not answering (${(error as NodeJS.ErrnoException).code ?? error.message}); guardpost may be stopping`);
  });
  upstream.on('close', land);
  // A client gone before the answer ends its request to the API too (an SSE stream, an export).
  response.on('close', () => {
    if (!response.writableFinished) upstream.destroy();
  });
  request.pipe(upstream);
}

function keepAnswer(key: string, version: Version, withAvailability: boolean, headers: string[], body: Buffer): void {
  let etag: string | undefined;
  const notModified: string[] = [];
  for (let index = 0; index < headers.length; index += 2) {
    const lower = headers[index]!.toLowerCase();
    if (lower === 'etag') etag = headers[index + 1];
    if (lower !== 'content-type') notModified.push(headers[index]!, headers[index + 1]!);
  }
  entries.delete(key);
  entries.set(key, { version, withAvailability, trustedUntilMs: Date.now() + TOKEN_TRUST_MS, headers: [...headers, 'content-length', String(body.length)], notModifiedHeaders: notModified, body, etag });
  if (entries.size > MAX_ENTRIES) entries.delete(entries.keys().next().value!);
}

const server = options.tls === undefined ? http.createServer(handle) : https.createServer({ cert: options.tls.cert, key: options.tls.key }, handle);
// As fastify's defaults: long keep-alive for consoles, no timeout on a request (SSE streams).
server.keepAliveTimeout = 72_000;
server.requestTimeout = 0;
server.once('error', (error) => post({ type: 'failed', message: error.message }));
server.listen({ host: options.host, port: options.port }, () => {
  const address = server.address();
  post({ type: 'listening', port: typeof address === 'object' && address !== null ? address.port : options.port });
});

let reported = { ...stats };
const statsTimer = setInterval(() => {
  const delta = { hits: stats.hits - reported.hits, forwarded: stats.forwarded - reported.forwarded, limited: stats.limited - reported.limited, unavailable: stats.unavailable - reported.unavailable };
  reported = { ...stats };
  if (delta.hits + delta.forwarded + delta.limited + delta.unavailable > 0) post({ type: 'stats', stats: delta });
}, STATS_INTERVAL_MS);
statsTimer.unref();

port.on('message', (command: FrontCommand) => {
  switch (command.type) {
    case 'stop-accepting':
      // New connections are refused; requests in flight finish; idle keep-alives close now.
      server.close();
      server.closeIdleConnections();
      return;
    case 'close':
      server.close();
      server.closeAllConnections();
      clearInterval(statsTimer);
      agent.destroy();
      post({ type: 'stats', stats: { hits: stats.hits - reported.hits, forwarded: stats.forwarded - reported.forwarded, limited: stats.limited - reported.limited, unavailable: stats.unavailable - reported.unavailable } });
      post({ type: 'closed' });
      return;
  }
});
