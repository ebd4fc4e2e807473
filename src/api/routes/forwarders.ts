import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { actorOf } from '../../auth/service.js';
import { GuardpostError } from '../../errors.js';
import type { Forwarders } from '../../forwarders/index.js';
import type { ApiDeps } from '../app.js';

const Params = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64 }) });
const ResendBody = Type.Object(
  {
    fromSeq: Type.Optional(Type.Integer({ minimum: 1, description: 'send again every event from this journal seq on' })),
    fromTime: Type.Optional(Type.String({ format: 'date-time', description: 'send again every event journalled at or after this time' })),
  },
  { additionalProperties: false },
);

/** Delivery to the incident system, per destination: lag in events and seconds, last error, last success. */
export function registerForwarderRoutes(app: FastifyInstance, forwarders: Forwarders, deps?: Pick<ApiDeps, 'store' | 'journal'>): void {
  app.get('/api/v1/forwarders', { config: { auth: 'viewer' } }, async () => forwarders.statuses());

  app.get<{ Params: { id: string } }>('/api/v1/forwarders/:id', { config: { auth: 'viewer' } }, async (request) => {
    const status = forwarders.status(request.params.id);
    if (status === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no forwarder ${request.params.id.slice(0, 64)} in the config`);
    return status;
  });

  if (deps === undefined) return;
  const { store, journal } = deps;
  // The incident system lost a range (a restore, a bug on its side): it gets it again, in order.
  app.post<{ Params: Static<typeof Params>; Body: Static<typeof ResendBody> }>(
    '/api/v1/forwarders/:id/resend',
    { config: { auth: 'admin' }, schema: { params: Params, body: ResendBody, description: 'Moves the destination\'s cursor back; audited and journalled (forwarder.resend).' } },
    async (request, reply) => {
      const { fromSeq, fromTime } = request.body;
      if ((fromSeq === undefined) === (fromTime === undefined)) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'body: give exactly one of fromSeq or fromTime');
      const from = fromSeq !== undefined ? { fromSeq } : { fromTimeMs: Date.parse(fromTime!) };
      const by = actorOf(request.principal!, request.ip);
      const result = journal.durableTransaction(() => {
        const moved = forwarders.resend(request.params.id, from);
        const event = journal.append({ type: 'forwarder.resend', data: { destination: moved.forwarder, fromSeq: moved.fromSeq, previousCursorSeq: moved.previousCursorSeq, events: moved.events, by: by.actor } });
        // The audit row carries the journal's clock, like the event it goes with.
        store.audit.record({ ...by, action: 'forwarder.resend', target: moved.forwarder, before: { cursorSeq: moved.previousCursorSeq }, after: { cursorSeq: moved.fromSeq - 1, fromSeq: moved.fromSeq } }, Date.parse(event.time));
        return moved;
      });
      return reply.status(202).send(result);
    },
  );
}
