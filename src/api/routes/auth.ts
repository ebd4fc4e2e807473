import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { audited } from '../audited.js';

const LoginBody = Type.Object({ user: Type.String({ minLength: 1, maxLength: 64 }), password: Type.String({ minLength: 1, maxLength: 1024 }) }, { additionalProperties: false });

export function registerAuthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.post<{ Body: Static<typeof LoginBody> }>('/api/v1/auth/login', { config: { auth: 'public' }, schema: { body: LoginBody } }, async (request) =>
    deps.auth.login(request.body.user, request.body.password, request.ip),
  );

  app.post('/api/v1/auth/logout', { config: { auth: 'viewer' } }, async (request, reply) => {
    const token = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '')?.[1];
    // A session ended is recorded like any other change made through the API.
    if (token !== undefined) audited(deps, request, 'session.ended', null, () => deps.auth.logout(token), () => null);
    return reply.status(204).send();
  });

  app.get('/api/v1/auth/me', { config: { auth: 'viewer' } }, async (request) => request.principal);
}
