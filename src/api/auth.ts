import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { AuthService, Principal } from '../auth/service.js';
import { GuardpostError } from '../errors.js';
import type { Role } from '../store/index.js';

/** Every /api route declares who may call it: `public`, or the least role that may. */
export type AuthRule = 'public' | Role;

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthRule;
  }
  interface FastifyRequest {
    principal: Principal | null;
  }
}

const rank: Record<Role, number> = { viewer: 1, security: 2, admin: 3 };

export const roleAllows = (role: Role, rule: AuthRule): boolean => rule === 'public' || rank[role] >= rank[rule];

export interface RouteRule {
  readonly method: string;
  readonly url: string;
  readonly auth: AuthRule;
}

/**
 * Authentication and role checks for every route. A route under /api/ without an `auth` rule
 * refuses to register, so nothing is ever exposed by omission. Returns the rule table (for tests).
 */
export function registerAuth(app: FastifyInstance, auth: AuthService, demo: boolean): RouteRule[] {
  const rules: RouteRule[] = [];
  app.decorateRequest('principal', null);

  app.addHook('onRoute', (route) => {
    const rule = route.config?.auth;
    const needsRule = route.url.startsWith('/api/') || route.url === '/metrics';
    if (needsRule && rule === undefined) throw new Error(`route ${String(route.method)} ${route.url} has no auth rule`);
    if (rule === undefined) return;
    for (const method of [route.method].flat()) if (method !== 'HEAD') rules.push({ method, url: route.url, auth: rule });
  });

  // Callback style with a synchronous path: a session or a verified token is checked from memory
  // without a promise; only an API token not yet verified waits for argon2.
  app.addHook('onRequest', (request, _reply, done) => {
    const rule = request.routeOptions.config.auth;
    if (rule === undefined) return done();
    const check = (principal: Principal | null): void => {
      request.principal = principal;
      done(refusal(principal, rule));
    };
    let known: Principal | null | undefined;
    try {
      known = principalFromMemory(request, auth, demo);
    } catch (error) {
      return done(error as Error);
    }
    if (known !== undefined) return check(known);
    auth.authenticate(bearerToken(request.headers.authorization)!).then(
      (principal) => (principal === null ? done(unknownToken()) : check(principal)),
      (error: unknown) => done(error as Error),
    );
  });
  return rules;
}

function refusal(principal: Principal | null, rule: AuthRule): GuardpostError | undefined {
  if (rule === 'public') return undefined;
  if (principal === null) return new GuardpostError('GP_ERR_UNAUTHORIZED', 'authentication required: send Authorization: Bearer <token>');
  if (!roleAllows(principal.role, rule)) return new GuardpostError('GP_ERR_FORBIDDEN', `the ${principal.role} role may not do this; it needs ${rule}`);
  return undefined;
}

const unknownToken = (): GuardpostError => new GuardpostError('GP_ERR_UNAUTHORIZED', 'the token is unknown, expired or revoked');

function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const match = /^Bearer\s+(\S+)$/i.exec(header);
  if (match === null) throw new GuardpostError('GP_ERR_UNAUTHORIZED', 'Authorization: expected "Bearer <token>"');
  return match[1]!;
}

/** The caller, or undefined when only argon2 can tell (an API token seen for the first time). */
function principalFromMemory(request: FastifyRequest, auth: AuthService, demo: boolean): Principal | null | undefined {
  const token = bearerToken(request.headers.authorization);
  if (token !== undefined) {
    const principal = auth.authenticateFromMemory(token);
    // A bad token is refused even in demo mode: it is a mistake worth reporting.
    if (principal === null) throw unknownToken();
    return principal;
  }
  return demo ? { kind: 'anonymous', id: 'anonymous', role: 'viewer' } : null;
}
