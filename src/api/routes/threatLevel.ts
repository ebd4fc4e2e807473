import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';
import { audited } from '../audited.js';
import { apiActor } from './commandActor.js';

const Body = Type.Object(
  {
    level: Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64 }),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
  },
  { additionalProperties: false },
);

export function registerThreatLevelRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/api/v1/threat-level', { config: { auth: 'viewer' } }, async () => deps.runtime.safety.threat.current());

  app.put<{ Body: Static<typeof Body> }>('/api/v1/threat-level', { config: { auth: 'security' }, schema: { body: Body } }, async (request) => {
    const before = deps.runtime.safety.threat.current().level;
    audited(deps, request, 'threatLevel.set', request.body.level, () => deps.runtime.safety.threat.set(request.body.level, apiActor(request), request.body.reason ?? null), () => ({ from: before, to: request.body.level, reason: request.body.reason ?? null }));
    return deps.runtime.safety.threat.current();
  });
}
