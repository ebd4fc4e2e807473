/**
 * What the gateway's thread and the HTTP front's thread (front/frontWorker.ts) tell each other.
 * Generations the front's kept answers depend on are slots of a shared Int32Array that the
 * gateway's thread bumps with Atomics the moment something changes, so the front's next request
 * sees it without a message in between.
 */

/** Device availability changed (cached door and device lists). */
export const SLOT_AVAILABILITY = 0;
/** A bearer token may vouch for less than before (logout, revocation, user change). */
export const SLOT_CREDENTIALS = 1;
export const SLOT_COUNT = 2;

/** The largest request body the API takes, by route (fastify URL patterns, `:name` parameters). */
export interface BodyLimits {
  readonly defaultBytes: number;
  readonly routes: Array<{ readonly method: string; readonly url: string; readonly bytes: number }>;
}

export interface FrontWorkerData {
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: string; readonly key: string };
  /** The API's own server: a Unix socket in a directory only this user can enter. */
  readonly upstreamSocket: string;
  /** The database, read-only, for its commit counter (`PRAGMA data_version`); null: keep nothing. */
  readonly databaseFile: string | null;
  readonly shared: SharedArrayBuffer;
  /** Reads per minute per caller, 0 = no limit ([SEC-API-RATE], limited here behind the front). */
  readonly readPerMinute: number;
  /**
   * Bodies over these are refused here (413): the API answers one as soon as it reads the
   * headers, while the front may still be sending the body, which a closed socket then loses.
   */
  readonly bodyLimits: BodyLimits;
  /** Helmet's headers, for the answers the front makes itself (413, 429, 503). */
  readonly securityHeaders: ReadonlyArray<readonly [string, string]>;
  /** Niceness the front's thread adds to the gateway's (at most 19): badges win the CPU under a flood. */
  readonly niceness: number;
}

export interface FrontStats {
  /** Answered from the front's kept answers (200 or 304). */
  readonly hits: number;
  /** Passed to the API's thread. */
  readonly forwarded: number;
  /** Refused with 429 by the read limit. */
  readonly limited: number;
  /** The API's thread could not be reached (503). */
  readonly unavailable: number;
}

export type FrontMessage =
  | { readonly type: 'listening'; readonly port: number }
  | { readonly type: 'failed'; readonly message: string }
  | { readonly type: 'stats'; readonly stats: FrontStats }
  | { readonly type: 'log'; readonly level: 'info' | 'warn' | 'error'; readonly message: string }
  | { readonly type: 'closed' };

export type FrontCommand = { readonly type: 'stop-accepting' } | { readonly type: 'close' };
