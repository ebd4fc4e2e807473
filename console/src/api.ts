/** The API client: bearer token from the session, errors as the API's {statusCode, code, message}. */

export type Role = 'viewer' | 'security' | 'admin';

export interface Principal {
  readonly kind: 'user' | 'token' | 'anonymous';
  readonly id: string;
  readonly role: Role;
}

/** An API refusal, carrying the API's own words and, for site data, one line per problem. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly problems: readonly string[] = [],
  ) {
    super(message);
  }

  /** The problems that concern one field (`body.name: …`, `cardholders[0].name …`, `name: …`). */
  forField(field: string): string | undefined {
    const lines = [this.message, ...this.problems].flatMap((text) => text.split('; '));
    const pattern = new RegExp(`(^|[.\\]/\\s])${field.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}([.\\[:\\s]|$)`);
    // Only "path: message" lines name a field; a sentence that happens to contain the word does not.
    return lines.find((line) => line.includes(':') && pattern.test(line.slice(0, line.indexOf(':'))));
  }

  /** Everything the API said, in words. */
  get text(): string {
    const unsaid = this.problems.filter((problem) => !this.message.includes(problem));
    return unsaid.length === 0 ? this.message : `${this.message}: ${unsaid.join('; ')}`;
  }
}

const rank: Record<Role, number> = { viewer: 1, security: 2, admin: 3 };
export const roleAllows = (role: Role, least: Role): boolean => rank[role] >= rank[least];

const STORAGE_KEY = 'guardpost.session';

export interface Session {
  readonly token: string;
  readonly user: string;
  readonly role: Role;
  readonly expiresAt: string;
}

/**
 * The session token lives in memory and in sessionStorage (this tab only, gone when it closes);
 * never in a cookie (so no CSRF) and never in a URL.
 */
let current: Session | null = null;
const listeners = new Set<(session: Session | null) => void>();

export function loadSession(): Session | null {
  if (current !== null) return current;
  try {
    const stored = sessionStorage.getItem(STORAGE_KEY);
    if (stored !== null) current = JSON.parse(stored) as Session;
  } catch {
    current = null;
  }
  return current;
}

export function setSession(session: Session | null): void {
  current = session;
  try {
    if (session === null) sessionStorage.removeItem(STORAGE_KEY);
    else sessionStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  } catch {
    // Private browsing without storage: the session lives in memory only.
  }
  for (const listener of listeners) listener(session);
}

export function onSessionChange(listener: (session: Session | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function authHeaders(): Record<string, string> {
  const session = loadSession();
  return session === null ? {} : { authorization: `Bearer ${session.token}` };
}

interface RequestOptions {
  readonly method?: string;
  readonly body?: unknown;
  readonly contentType?: string;
  readonly signal?: AbortSignal;
}

/** Fetches with the session's bearer token; throws ApiError with the API's message on refusal. */
export async function raw(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json', ...authHeaders() };
  let body: BodyInit | undefined;
  if (options.body !== undefined) {
    headers['content-type'] = options.contentType ?? 'application/json';
    body = typeof options.body === 'string' && options.contentType !== undefined ? options.body : JSON.stringify(options.body);
  }
  let response: Response;
  try {
    response = await fetch(path, { method: options.method ?? 'GET', headers, body, signal: options.signal, credentials: 'omit' });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError(0, 'GP_ERR_NETWORK', 'the gateway did not answer (network error); check the connection and try again');
  }
  if (response.ok) return response;
  let message = `${response.status} ${response.statusText}`;
  let code = 'GP_ERR_HTTP';
  let problems: string[] = [];
  try {
    const payload = (await response.json()) as { code?: string; message?: string; problems?: string[] };
    if (typeof payload.message === 'string') message = payload.message;
    if (typeof payload.code === 'string') code = payload.code;
    if (Array.isArray(payload.problems)) problems = payload.problems.map(String);
  } catch {
    // Not JSON: keep the status line.
  }
  // A session that expired or was revoked: back to the sign-in screen.
  if (response.status === 401 && path !== '/api/v1/auth/login') setSession(null);
  throw new ApiError(response.status, code, message, problems);
}

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await raw(path, options);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/** Downloads a protected file (CSV export, incident report) with the bearer header, not a URL token. */
export async function download(path: string, fileName: string): Promise<void> {
  const response = await raw(path, { contentType: undefined });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const isMissingRoute = (error: unknown): boolean => error instanceof ApiError && error.status === 404 && error.message.startsWith('no route');

// ---- The API's shapes (src/api/routes/*.ts) ----

/** The journal's own event shape, shared type-only with the gateway (src/journal/events.ts: no DOM, no node). */
export type { JournalEvent } from '../../src/journal/events.js';

export type Availability = 'online' | 'offline' | 'unknown';

export interface Door {
  readonly id: string;
  readonly name: string;
  readonly reader: string;
  readonly strike: string;
  readonly contact?: string;
  readonly exit?: string;
  readonly unlockMs: number;
  readonly mode: 'card' | 'card-and-pin' | 'card-or-pin' | 'scheduled-unlock' | 'locked';
  readonly unlockSchedule?: string;
  readonly status: { readonly reader: Availability; readonly strike: Availability };
  readonly [key: string]: unknown;
}

export interface DoorState {
  readonly door: string;
  readonly lock: 'released' | 'unlocked' | 'locked';
  readonly position: string;
  readonly alarm: string;
  readonly lockdown: boolean;
  readonly fireAlarm: boolean;
  readonly failMode: string;
  readonly time: string;
}

export interface Device {
  readonly id: string;
  readonly name: string;
  readonly kind: string;
  readonly driver?: string;
  readonly location?: string;
  readonly availability: Availability;
}

export interface AlarmNote {
  readonly by: string | null;
  readonly via: string;
  readonly note: string;
  readonly at: string;
}

export interface Alarm {
  readonly id: string;
  readonly kind: string;
  readonly state: 'raised' | 'acknowledged' | 'cleared';
  readonly priority: number;
  readonly drill: boolean;
  readonly silent: boolean;
  readonly source: { readonly device: string | null; readonly door: string | null; readonly zone: string | null; readonly location: string | null };
  readonly raisedAt: string;
  readonly raisedBy: { readonly via: string; readonly by: string | null } | null;
  readonly presses: number;
  readonly escalations: number;
  readonly nextEscalationAt: string | null;
  readonly acknowledged: AlarmNote | null;
  readonly cleared: AlarmNote | null;
}

export interface ThreatLevel {
  readonly level: string;
  readonly name: string;
  readonly levels: readonly { readonly id: string; readonly name: string }[];
  readonly [key: string]: unknown;
}

export interface Credential {
  id?: string;
  /** As read: masked (`********42`); sent back as shown, the card is kept. Sent new: the whole number. */
  card?: string;
  /** As read: the masked text (`h10301:12:***45`); sent new: the format, facility and number. */
  wiegand?: string | { format: string; facility: number; number: number };
  status: 'active' | 'suspended' | 'lost' | 'expired';
  validFrom?: string;
  validUntil?: string;
}

export interface Cardholder {
  id: string;
  name: string;
  status: 'active' | 'suspended';
  groups: string[];
  credentials: Credential[];
  [key: string]: unknown;
}

export interface Group {
  readonly id: string;
  readonly name: string;
  readonly doors?: readonly string[];
  readonly [key: string]: unknown;
}

export interface CsvImportReport {
  readonly dryRun: boolean;
  readonly rows: number;
  readonly created: readonly string[];
  readonly updated: readonly string[];
  readonly unchanged: readonly string[];
  readonly errors: readonly { readonly row: number; readonly id: string | null; readonly message: string }[];
}

/** One page of a list route and the total before paging (`X-Total-Count`): for lists too large to fetch whole. */
export async function apiPage<T>(path: string, signal?: AbortSignal): Promise<{ items: T[]; total: number }> {
  const response = await raw(path, signal === undefined ? {} : { signal });
  const items = (await response.json()) as T[];
  if (!Array.isArray(items)) throw new ApiError(0, 'GP_ERR_SHAPE', `${path} did not answer a list`);
  const header = response.headers.get('x-total-count');
  return { items, total: header !== null && /^\d+$/.test(header) ? Number(header) : items.length };
}

/**
 * A whole list from a list route. List routes answer one page as an array, with the total before
 * paging in `X-Total-Count` (default page 100, at most 1000): the rest is fetched page by page,
 * so a screen that needs everything (door pickers, groups, search) gets everything.
 */
export async function apiList<T>(path: string): Promise<T[]> {
  const response = await raw(path);
  const all = (await response.json()) as T[];
  if (!Array.isArray(all)) throw new ApiError(0, 'GP_ERR_SHAPE', `${path} did not answer a list`);
  const header = response.headers.get('x-total-count');
  const total = header !== null && /^\d+$/.test(header) ? Number(header) : all.length;
  const separator = path.includes('?') ? '&' : '?';
  while (all.length < total) {
    const page = await api<T[]>(`${path}${separator}offset=${all.length}&limit=1000`);
    if (!Array.isArray(page) || page.length === 0) break;
    all.push(...page);
  }
  return all;
}
