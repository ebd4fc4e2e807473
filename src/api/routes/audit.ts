import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';

const AuditQuery = Type.Object(
  { limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }), before: Type.Optional(Type.Integer({ minimum: 1 })) },
  { additionalProperties: false },
);

export function registerAuditRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: Static<typeof AuditQuery> }>('/api/v1/audit', { config: { auth: 'admin' }, schema: { querystring: AuditQuery } }, async (request) =>
    deps.store.audit.list({ limit: request.query.limit, beforeSeq: request.query.before }),
  );
}
