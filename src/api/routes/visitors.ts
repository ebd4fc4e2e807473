import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { ThreatManagement } from '../../threat/service.js';
import type { ApiDeps } from '../app.js';
import { audited } from '../audited.js';
import { apiActor } from './commandActor.js';

/** Visitors and security's watch list of people (issue 12): security staff (and admins) only. */

const VisitorParams = Type.Object({ id: Type.String({ pattern: '^visitor-[0-9a-f]{10}$' }) });
const WatchParams = Type.Object({ id: Type.String({ pattern: '^watch-[0-9a-f]{10}$' }) });
const Name = Type.String({ minLength: 1, maxLength: 200, pattern: '\\S' });

const RegisterBody = Type.Object(
  {
    name: Name,
    company: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    /** Who they visit: a name or a cardholder id. */
    host: Name,
    expectedAt: Type.String({ format: 'date-time' }),
    photoUrl: Type.Optional(Type.String({ pattern: '^https?://\\S+$', maxLength: 2000 })),
    escorted: Type.Optional(Type.Boolean()),
    identifiers: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 10 })),
    card: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}$' })),
  },
  { additionalProperties: false },
);
const ListQuery = Type.Object(
  {
    status: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('blocked'), Type.Literal('checked_out'), Type.Literal('expired')])),
    date: Type.Optional(Type.String({ pattern: '^[0-9]{4}-[0-9]{2}-[0-9]{2}$' })),
  },
  { additionalProperties: false },
);
const ApproveBody = Type.Object({ note: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });
const WatchBody = Type.Object(
  {
    name: Type.Optional(Name),
    identifiers: Type.Optional(Type.Array(Type.String({ minLength: 1, maxLength: 200 }), { maxItems: 20 })),
    reason: Type.String({ minLength: 1, maxLength: 2000 }),
  },
  { additionalProperties: false },
);

export function registerVisitorRoutes(app: FastifyInstance, threat: ThreatManagement, deps: Pick<ApiDeps, 'journal' | 'store' | 'clock'>): void {
  const visitors = threat.visitors;

  app.post<{ Body: Static<typeof RegisterBody> }>('/api/v1/visitors', { config: { auth: 'security' }, schema: { body: RegisterBody } }, async (request, reply) => {
    // Identifiers are screened, never kept: the audit row records the visit without them.
    const visitor = audited(deps, request, 'visitor.registered', null, () => visitors.register(request.body, apiActor(request)), (registered) => ({ visitor: registered.id, host: registered.host, status: registered.status, card: registered.card }));
    return reply.status(201).send(visitor);
  });
  app.get<{ Querystring: Static<typeof ListQuery> }>('/api/v1/visitors', { config: { auth: 'security' }, schema: { querystring: ListQuery } }, async (request) => visitors.list(request.query));
  app.get<{ Params: Static<typeof VisitorParams> }>('/api/v1/visitors/:id', { config: { auth: 'security' }, schema: { params: VisitorParams } }, async (request) => visitors.get(request.params.id));
  app.post<{ Params: Static<typeof VisitorParams> }>('/api/v1/visitors/:id/check-out', { config: { auth: 'security' }, schema: { params: VisitorParams } }, async (request) =>
    audited(deps, request, 'visitor.checked_out', request.params.id, () => visitors.checkOut(request.params.id, apiActor(request)), () => null),
  );
  app.post<{ Params: Static<typeof VisitorParams>; Body: Static<typeof ApproveBody> }>(
    '/api/v1/visitors/:id/approve',
    { config: { auth: 'security' }, schema: { params: VisitorParams, body: ApproveBody } },
    async (request) => audited(deps, request, 'visitor.approved', request.params.id, () => visitors.approve(request.params.id, apiActor(request), request.body.note)),
  );

  app.get('/api/v1/watch-list/people', { config: { auth: 'security' } }, async () => visitors.watchList());
  app.post<{ Body: Static<typeof WatchBody> }>('/api/v1/watch-list/people', { config: { auth: 'security' }, schema: { body: WatchBody } }, async (request, reply) => {
    return reply.status(201).send(visitors.addWatched(request.body, apiActor(request)));
  });
  app.delete<{ Params: Static<typeof WatchParams> }>('/api/v1/watch-list/people/:id', { config: { auth: 'security' }, schema: { params: WatchParams } }, async (request, reply) => {
    visitors.removeWatched(request.params.id, apiActor(request));
    return reply.status(204).send();
  });
}
