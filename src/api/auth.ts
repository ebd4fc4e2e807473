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

  app.addHook('onRequest', async (request) => {
    const rule = request.routeOptions.config.auth;
    if (rule === undefined) return;
    request.principal = await principalOf(request, auth, demo);
    if (rule === 'public') return;
    if (request.principal === null) throw new GuardpostError('GP_ERR_UNAUTHORIZED', 'authentication required: send Authorization: Bearer <token>');
    if (!roleAllows(request.principal.role, rule)) {
      throw new GuardpostError('GP_ERR_FORBIDDEN', `the ${request.principal.role} role may not do this; it needs ${rule}`);
    }
  });
  return rules;
}

async function principalOf(request: FastifyRequest, auth: AuthService, demo: boolean): Promise<Principal | null> {
  const header = request.headers.authorization;
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (match === null) throw new GuardpostError('GP_ERR_UNAUTHORIZED', 'Authorization: expected "Bearer <token>"');
    const principal = await auth.authenticate(match[1]!);
    // A bad token is refused even in demo mode: it is a mistake worth reporting.
    if (principal === null) throw new GuardpostError('GP_ERR_UNAUTHORIZED', 'the token is unknown, expired or revoked');
    return principal;
  }
  return demo ? { kind: 'anonymous', id: 'anonymous', role: 'viewer' } : null;
}
