import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { GuardpostError } from '../../errors.js';
import type { ThreatManagement } from '../../threat/service.js';
import type { ApiDeps } from '../app.js';
import { audited } from '../audited.js';
import { apiActor } from './commandActor.js';
import { csvCell } from './exports.js';

/** Occupancy per area and evacuations with their mustering list (issue 12). Where people are is for security staff. */

const EvacuationParams = Type.Object({ id: Type.String({ pattern: '^[0-9a-f-]{36}$' }) });
const StartBody = Type.Object({ reason: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })) }, { additionalProperties: false });
const EvacuationQuery = Type.Object(
  { format: Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json', description: 'csv: the mustering list, one row per person, for the incident file' }) },
  { additionalProperties: false },
);
/** The mustering list as exported: who, where last seen, and how each was accounted for. */
export const MUSTER_CSV_COLUMNS = ['cardholder', 'name', 'areas', 'lastSeenAt', 'lastSeenDoor', 'status', 'safeAt', 'safeBy', 'safeVia', 'safePoint'] as const;
const SafeBody = Type.Object({ cardholder: Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64 }) }, { additionalProperties: false });

export function registerOccupancyRoutes(app: FastifyInstance, threat: ThreatManagement, deps: Pick<ApiDeps, 'journal' | 'store' | 'clock'>): void {
  // Names for the console: the list is read by people, not by ids.
  const nameOf = (cardholder: string): string => deps.store.cardholders.get(cardholder)?.name ?? cardholder;
  app.get('/api/v1/occupancy', { config: { auth: 'security' } }, async () => {
    threat.flush();
    const areas = threat.presence.snapshot();
    return {
      total: new Set(areas.flatMap((area) => area.people.map((person) => person.cardholder))).size,
      areas: areas.map((area) => ({
        area: area.area,
        name: area.name,
        count: area.count,
        max: area.max,
        people: area.people.map((person) => ({ cardholder: person.cardholder, name: nameOf(person.cardholder), enteredAt: new Date(person.enteredAtMs).toISOString(), enteredBy: person.enteredBy, lastSeenAt: new Date(person.lastSeen.atMs).toISOString(), lastSeenDoor: person.lastSeen.door })),
      })),
    };
  });

  app.post<{ Body: Static<typeof StartBody> }>('/api/v1/evacuations', { config: { auth: 'security' }, schema: { body: StartBody } }, async (request, reply) => {
    threat.flush();
    const evacuation = audited(deps, request, 'evacuation.started', null, () => threat.presence.start({ kind: 'api' }, apiActor(request).by, request.body.reason ?? null), (started) => ({ evacuation: started.id, people: started.people.length }));
    return reply.status(201).send(evacuation);
  });

  app.get('/api/v1/evacuations/current', { config: { auth: 'security' } }, async () => {
    threat.flush();
    const current = threat.presence.current();
    if (current === null) throw new GuardpostError('GP_ERR_NOT_FOUND', 'no evacuation is under way');
    return current;
  });

  app.get<{ Params: Static<typeof EvacuationParams>; Querystring: Static<typeof EvacuationQuery> }>(
    '/api/v1/evacuations/:id',
    { config: { auth: 'security' }, schema: { params: EvacuationParams, querystring: EvacuationQuery } },
    async (request, reply) => {
      threat.flush();
      const found = threat.presence.find(request.params.id);
      if (found === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no evacuation "${request.params.id}"`);
      if (request.query.format === 'json') return found;
      const rows = found.people.map((person) => {
        const row: Record<(typeof MUSTER_CSV_COLUMNS)[number], unknown> = {
          cardholder: person.cardholder,
          name: person.name,
          areas: person.areas.join(' '),
          lastSeenAt: person.lastSeenAt,
          lastSeenDoor: person.lastSeenDoor,
          status: person.safe === null ? 'missing' : 'safe',
          safeAt: person.safe?.at,
          safeBy: person.safe?.by,
          safeVia: person.safe?.via,
          safePoint: person.safe?.point,
        };
        return `${MUSTER_CSV_COLUMNS.map((column) => csvCell(row[column])).join(',')}\r\n`;
      });
      return reply
        .header('content-type', 'text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="mustering-${found.startedAt.slice(0, 10)}-${found.id}.csv"`)
        .send([`${MUSTER_CSV_COLUMNS.join(',')}\r\n`, ...rows].join(''));
    },
  );

  app.post<{ Params: Static<typeof EvacuationParams>; Body: Static<typeof SafeBody> }>(
    '/api/v1/evacuations/:id/safe',
    { config: { auth: 'security' }, schema: { params: EvacuationParams, body: SafeBody } },
    async (request) => {
      threat.flush();
      return audited(deps, request, 'evacuation.marked_safe', request.params.id, () => threat.presence.markSafe(request.params.id, request.body.cardholder, apiActor(request).by, 'api', null));
    },
  );

  app.post<{ Params: Static<typeof EvacuationParams> }>('/api/v1/evacuations/:id/end', { config: { auth: 'security' }, schema: { params: EvacuationParams } }, async (request) => {
    threat.flush();
    return audited(deps, request, 'evacuation.ended', request.params.id, () => threat.presence.end(request.params.id, apiActor(request).by), (ended) => ({ total: ended.summary.total, missing: ended.summary.missing }));
  });
}
