import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { queryAudit } from '../../store/apiQueries.js';
import type { ApiDeps } from '../app.js';
import { parseSort, sendPage } from '../listQuery.js';
import { parseTime } from './events.js';

const AUDIT_SORT = ['seq', 'time'] as const;

const AuditQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100, description: 'entries per page; the total is in the X-Total-Count header' }),
    offset: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0 }),
    before: Type.Optional(Type.Integer({ minimum: 1, description: 'only entries with seq below this (a cursor: the last seq of the previous page)' })),
    actor: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'who: a user id, token:<id>, cli' })),
    action: Type.Optional(Type.String({ pattern: '^[A-Za-z]+(\\.[a-z_]*)?$', maxLength: 64, description: 'door.updated, or door. for every door change' })),
    target: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    since: Type.Optional(Type.String({ format: 'date-time' })),
    until: Type.Optional(Type.String({ format: 'date-time' })),
    q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: 'text in actor, action or target' })),
    sort: Type.Optional(Type.String({ maxLength: 16, description: 'seq or time, "-" for newest first (the default)' })),
  },
  { additionalProperties: false },
);

/** The audit log, newest first: who changed what, from where, before and after. */
export function registerAuditRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: Static<typeof AuditQuery> }>('/api/v1/audit', { config: { auth: 'admin' }, schema: { querystring: AuditQuery } }, async (request, reply) => {
    const query = request.query;
    const sort = parseSort(query.sort, AUDIT_SORT) ?? { field: 'seq', descending: true };
    const { entries, total } = queryAudit(deps.store.db, {
      limit: query.limit,
      offset: query.offset,
      beforeSeq: query.before,
      actor: query.actor,
      action: query.action,
      target: query.target,
      sinceMs: parseTime('since', query.since),
      untilMs: parseTime('until', query.until),
      q: query.q,
      // seq and time order alike: entries are numbered as they are written.
      ascending: !sort.descending,
    });
    return sendPage(reply, request.url, query, entries, total);
  });
}
