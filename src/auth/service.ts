import { createHash, randomBytes } from 'node:crypto';
import { GuardpostError } from '../errors.js';
import type { Clock, Journal } from '../journal/index.js';
import type { ApiTokenRecord, Role, Store, UserRecord } from '../store/index.js';
import { checkPasswordStrength, hashSecret, randomSecret, verifySecret } from './passwords.js';
import { LoginThrottle, type ThrottleOptions } from './throttle.js';

/** Who is asking: a logged-in user, an integration's API token, or (demo only) anyone. */
export type Principal =
  | { readonly kind: 'user'; readonly id: string; readonly role: Role }
  | { readonly kind: 'token'; readonly id: string; readonly role: Role }
  | { readonly kind: 'anonymous'; readonly id: 'anonymous'; readonly role: 'viewer' };

/** Who made a change and from where, for the audit log. */
export interface Actor {
  readonly actor: string;
  readonly source: string;
}

export const actorOf = (principal: Principal, source: string): Actor => ({ actor: principal.kind === 'token' ? `token:${principal.id}` : principal.id, source });

export interface PublicUser {
  readonly id: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly created: string;
}

export interface PublicToken {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdBy: string;
  readonly created: string;
  readonly revoked: string | null;
}

export interface LoginResult {
  readonly token: string;
  readonly expiresAt: string;
  readonly user: string;
  readonly role: Role;
}

/** Session lifetime: idle timeout and a hard cap of one shift. */
export const SESSION_IDLE_MS = 60 * 60_000;
export const SESSION_MAX_MS = 12 * 60 * 60_000;
/** How long a verified API token is trusted without running argon2 again (revocation clears it). */
const TOKEN_CACHE_MS = 5 * 60_000;
/** How often a request looks whether another process (the CLI) committed to the store. */
const EXTERNAL_CHECK_MS = 1_000;

const USER_ID = /^[a-z0-9][a-z0-9._-]{0,63}$/;
const API_TOKEN = /^gpt_([a-z0-9]{8,32})\.([A-Za-z0-9_-]{20,100})$/;
const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

const publicUser = (user: UserRecord): PublicUser => ({ id: user.id, role: user.role, disabled: user.disabled, created: new Date(user.createdMs).toISOString() });
const publicToken = (token: ApiTokenRecord): PublicToken => ({
  id: token.id,
  name: token.name,
  role: token.role,
  createdBy: token.createdBy,
  created: new Date(token.createdMs).toISOString(),
  revoked: token.revokedMs === null ? null : new Date(token.revokedMs).toISOString(),
});

interface Session {
  readonly userId: string;
  readonly createdMs: number;
  lastUsedMs: number;
}

export interface AuthServiceDeps {
  readonly store: Store;
  readonly journal: Journal;
  readonly clock: Clock;
  readonly throttle?: ThrottleOptions;
}

/** Users, sessions and API tokens: the one place the API and the CLI change who may do what. */
export class AuthService {
  private readonly sessions = new Map<string, Session>();
  private readonly tokenCache = new Map<string, { tokenId: string; role: Role; untilMs: number }>();
  /**
   * Each signed-in user's role and state, read from the store once: a request is checked from
   * memory in microseconds. Every user change here clears it; another process's commit (SQLite's
   * data_version, looked at no more than once a second) clears it and the token cache.
   */
  private readonly userCache = new Map<string, { readonly role: Role; readonly disabled: boolean } | null>();
  private externalVersion: number | undefined;
  private externalCheckedMs = Number.NEGATIVE_INFINITY;
  private readonly throttle: LoginThrottle;
  /** A real hash of a secret nobody knows, verified for unknown users so timing reveals nothing. */
  private dummyHash: Promise<string> | undefined;

  private readonly credentialListeners = new Set<() => void>();

  constructor(private readonly deps: AuthServiceDeps) {
    this.throttle = new LoginThrottle(deps.clock, deps.throttle);
  }

  /**
   * Calls `listener` whenever a bearer token may have stopped vouching for what it did (a logout,
   * ended sessions, a revoked token, a changed or deleted user): the HTTP front forgets the
   * answers it keeps per token. Returns the function that stops listening.
   */
  onCredentialsChanged(listener: () => void): () => void {
    this.credentialListeners.add(listener);
    return () => this.credentialListeners.delete(listener);
  }

  private credentialsChanged(): void {
    for (const listener of this.credentialListeners) listener();
  }

  listUsers(): PublicUser[] {
    return this.deps.store.users.list().map(publicUser);
  }

  getUser(id: string): PublicUser {
    const user = this.deps.store.users.get(id);
    if (user === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no user "${id}"`);
    return publicUser(user);
  }

  async addUser(input: { id: string; role: Role; password: string }, by: Actor): Promise<PublicUser> {
    if (!USER_ID.test(input.id)) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'id: expected 1 to 64 lowercase letters, digits, dots, dashes or underscores');
    checkPasswordStrength(input.password);
    const passwordHash = await hashSecret(input.password);
    const { store, clock } = this.deps;
    const user: UserRecord = { id: input.id, role: input.role, passwordHash, disabled: false, createdMs: clock() };
    store.db.transaction(() => {
      if (store.users.get(input.id) !== undefined) throw new GuardpostError('GP_ERR_CONFLICT', `a user "${input.id}" already exists`);
      store.users.insert(user);
      store.audit.record({ ...by, action: 'user.created', target: user.id, after: publicUser(user) }, clock());
    })();
    this.userCache.delete(user.id);
    return publicUser(user);
  }

  async updateUser(id: string, change: { role?: Role; password?: string; disabled?: boolean }, by: Actor): Promise<PublicUser> {
    if (change.password !== undefined) checkPasswordStrength(change.password);
    const passwordHash = change.password === undefined ? undefined : await hashSecret(change.password);
    const { store, clock } = this.deps;
    let updated: UserRecord | undefined;
    store.db.transaction(() => {
      const before = store.users.get(id);
      if (before === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no user "${id}"`);
      updated = { ...before, role: change.role ?? before.role, disabled: change.disabled ?? before.disabled, passwordHash: passwordHash ?? before.passwordHash };
      store.users.update(updated);
      if (store.users.countActiveAdmins() === 0) throw new GuardpostError('GP_ERR_CONFLICT', 'the site must keep at least one active admin');
      const after = { ...publicUser(updated), passwordChanged: passwordHash !== undefined };
      store.audit.record({ ...by, action: 'user.updated', target: id, before: publicUser(before), after }, clock());
    })();
    this.userCache.delete(id);
    this.credentialsChanged();
    // A changed password or a disabled user ends every session of that user at once.
    if (change.password !== undefined || change.disabled === true) this.endSessionsOf(id);
    return publicUser(updated!);
  }

  deleteUser(id: string, by: Actor): void {
    const { store, clock } = this.deps;
    store.db.transaction(() => {
      const before = store.users.get(id);
      if (before === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no user "${id}"`);
      store.users.delete(id);
      if (store.users.countActiveAdmins() === 0) throw new GuardpostError('GP_ERR_CONFLICT', 'the site must keep at least one active admin');
      store.audit.record({ ...by, action: 'user.deleted', target: id, before: publicUser(before) }, clock());
    })();
    this.userCache.delete(id);
    this.credentialsChanged();
    this.endSessionsOf(id);
  }

  /** Logs a user in; throttled per user and per address, every failure journalled. */
  async login(userId: string, password: string, address: string): Promise<LoginResult> {
    const { store, journal, clock } = this.deps;
    const keys = [`user:${userId.slice(0, 64)}`, `address:${address}`];
    const waitMs = this.throttle.retryAfterMs(keys);
    if (waitMs > 0) throw tooManyAttempts(waitMs);
    const user = store.users.get(userId);
    // Verify against a real hash even for unknown users, so timing does not reveal who exists.
    this.dummyHash ??= hashSecret(randomSecret());
    const ok = (await verifySecret(user?.passwordHash ?? (await this.dummyHash), password)) && user !== undefined && !user.disabled;
    if (!ok || user === undefined) {
      const locked = this.throttle.fail(keys);
      journal.append({ type: 'auth.login_failed', reason: user === undefined ? 'unknown_user' : user.disabled ? 'disabled' : 'bad_password', data: { user: userId.slice(0, 64), address } });
      if (locked.length > 0) {
        journal.append({ type: 'auth.locked_out', data: { user: userId.slice(0, 64), address, keys: locked } });
        throw tooManyAttempts(this.throttle.retryAfterMs(keys));
      }
      throw new GuardpostError('GP_ERR_UNAUTHORIZED', 'wrong user name or password');
    }
    this.throttle.succeed([`user:${userId}`]);
    const token = `gps_${randomBytes(32).toString('base64url')}`;
    const now = clock();
    this.sessions.set(sha256(token), { userId: user.id, createdMs: now, lastUsedMs: now });
    journal.append({ type: 'auth.login', data: { user: user.id, address } });
    return { token, expiresAt: new Date(Math.min(now + SESSION_IDLE_MS, now + SESSION_MAX_MS)).toISOString(), user: user.id, role: user.role };
  }

  logout(token: string): void {
    this.sessions.delete(sha256(token));
    this.credentialsChanged();
  }

  /**
   * The principal behind a bearer token, or null. A session or an already verified API token is
   * answered from memory (no SQL, no argon2); the user's current role and state come from the
   * user cache, which every change clears, so a demotion or a disabled user counts at once.
   */
  async authenticate(token: string): Promise<Principal | null> {
    const known = this.authenticateFromMemory(token);
    return known !== undefined ? known : this.verifyToken(token);
  }

  /**
   * What memory alone says of a bearer token: its principal, null when it is refused, or
   * undefined for an API token not verified yet (argon2 must look at it: `authenticate`).
   * Synchronous, so the API's auth hook costs no promise on the hot path.
   */
  authenticateFromMemory(token: string): Principal | null | undefined {
    const now = this.deps.clock();
    this.noticeExternalChanges(now);
    const key = sha256(token);
    if (token.startsWith('gps_')) {
      const session = this.sessions.get(key);
      if (session === undefined) return null;
      if (now - session.lastUsedMs > SESSION_IDLE_MS || now - session.createdMs > SESSION_MAX_MS) {
        this.sessions.delete(key);
        return null;
      }
      const user = this.cachedUser(session.userId);
      if (user === null || user.disabled) return null;
      session.lastUsedMs = now;
      return { kind: 'user', id: session.userId, role: user.role };
    }
    if (!API_TOKEN.test(token)) return null;
    const cached = this.tokenCache.get(key);
    return cached !== undefined && cached.untilMs > now ? { kind: 'token', id: cached.tokenId, role: cached.role } : undefined;
  }

  /** An API token memory does not vouch for: looked up and checked with argon2, then cached. */
  private async verifyToken(token: string): Promise<Principal | null> {
    const { store, clock } = this.deps;
    const match = API_TOKEN.exec(token);
    if (match === null) return null;
    const [, tokenId, secret] = match as unknown as [string, string, string];
    const record = store.users.getToken(tokenId);
    if (record === undefined || record.revokedMs !== null) return null;
    if (!(await verifySecret(record.secretHash, secret))) return null;
    // Revoked while argon2 ran? Check again before trusting it.
    if (store.users.getToken(tokenId)?.revokedMs !== null) return null;
    this.tokenCache.set(sha256(token), { tokenId, role: record.role, untilMs: clock() + TOKEN_CACHE_MS });
    return { kind: 'token', id: tokenId, role: record.role };
  }

  listTokens(): PublicToken[] {
    return this.deps.store.users.listTokens().map(publicToken);
  }

  /** Creates an API token; the secret is returned here once and stored only as a hash. */
  async createToken(input: { name: string; role: Role }, by: Actor): Promise<PublicToken & { token: string }> {
    const { store, clock } = this.deps;
    const id = randomBytes(8).toString('hex');
    const secret = randomSecret();
    const record: ApiTokenRecord = { id, name: input.name, role: input.role, secretHash: await hashSecret(secret), createdBy: by.actor, createdMs: clock(), revokedMs: null };
    store.db.transaction(() => {
      store.users.insertToken(record);
      store.audit.record({ ...by, action: 'token.created', target: id, after: publicToken(record) }, clock());
    })();
    return { ...publicToken(record), token: `gpt_${id}.${secret}` };
  }

  revokeToken(id: string, by: Actor): PublicToken {
    const { store, clock } = this.deps;
    store.db.transaction(() => {
      const before = store.users.getToken(id);
      if (before === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no API token "${id}"`);
      store.users.revokeToken(id, clock());
      store.audit.record({ ...by, action: 'token.revoked', target: id, before: publicToken(before) }, clock());
    })();
    // Takes effect at once: forget every cached verification of it.
    for (const [key, cached] of this.tokenCache) if (cached.tokenId === id) this.tokenCache.delete(key);
    this.credentialsChanged();
    return publicToken(store.users.getToken(id)!);
  }

  /**
   * Outside demo mode a site must have an admin before it runs. In demo mode the first start
   * creates `admin` with a generated password, returned once for the caller to print.
   */
  async ensureAdmin(demo: boolean): Promise<{ generatedPassword: string } | null> {
    const { store } = this.deps;
    if (store.users.countActiveAdmins() > 0) return null;
    if (!demo) {
      throw new GuardpostError('GP_ERR_NO_ADMIN', 'no admin user: create one with `guardpost user add NAME --role admin` before starting outside demo mode');
    }
    const generatedPassword = randomSecret(18);
    await this.addUser({ id: store.users.get('admin') === undefined ? 'admin' : `admin-${randomBytes(3).toString('hex')}`, role: 'admin', password: generatedPassword }, { actor: 'system', source: 'startup' });
    return { generatedPassword };
  }

  private cachedUser(id: string): { readonly role: Role; readonly disabled: boolean } | null {
    let user = this.userCache.get(id);
    if (user === undefined) {
      const record = this.deps.store.users.get(id);
      user = record === undefined ? null : { role: record.role, disabled: record.disabled };
      this.userCache.set(id, user);
    }
    return user;
  }

  /** Another process (`guardpost user add`, a hand edit) committed: forget what was read before. */
  private noticeExternalChanges(nowMs: number): void {
    if (nowMs - this.externalCheckedMs < EXTERNAL_CHECK_MS && nowMs >= this.externalCheckedMs) return;
    this.externalCheckedMs = nowMs;
    const version = this.deps.store.db.pragma('data_version', { simple: true }) as number;
    if (this.externalVersion !== undefined && version !== this.externalVersion) {
      this.userCache.clear();
      this.tokenCache.clear();
      this.credentialsChanged();
    }
    this.externalVersion = version;
  }

  private endSessionsOf(userId: string): void {
    for (const [key, session] of this.sessions) if (session.userId === userId) this.sessions.delete(key);
    this.credentialsChanged();
  }
}

function tooManyAttempts(waitMs: number): GuardpostError {
  const seconds = Math.max(1, Math.ceil(waitMs / 1000));
  return Object.assign(new GuardpostError('GP_ERR_TOO_MANY_ATTEMPTS', `too many failed logins; try again in ${seconds} s`), { retryAfterSeconds: seconds });
}
