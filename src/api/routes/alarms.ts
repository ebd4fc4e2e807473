import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Alarm } from '../../alarms/lifecycle.js';
import { alarmView } from '../../alarms/service.js';
import { queryAlarms } from '../../store/apiQueries.js';
import { PageFields, parseSort, sendPage } from '../listQuery.js';
import { GuardpostError } from '../../errors.js';
import type { ApiDeps } from '../app.js';
import { audited } from '../audited.js';
import { apiActor } from './commandActor.js';

const Id = Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64 });
const Params = Type.Object({ id: Id });

const RaiseBody = Type.Object(
  {
    location: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    zone: Type.Optional(Id),
    door: Type.Optional(Id),
    silent: Type.Boolean({ default: false }),
  },
  { additionalProperties: false },
);
const AckBody = Type.Object({ note: Type.String({ maxLength: 2000, default: '' }) }, { additionalProperties: false });
const ClearBody = Type.Object({ resolution: Type.String({ minLength: 1, maxLength: 2000 }) }, { additionalProperties: false });
const DrillBody = Type.Object({ durationMs: Type.Integer({ minimum: 60_000, maximum: 24 * 3_600_000 }) }, { additionalProperties: false });

const AlarmsQuery = Type.Object(
  {
    ...PageFields,
    state: Type.Union([Type.Literal('open'), Type.Literal('closed'), Type.Literal('all'), Type.Literal('raised'), Type.Literal('acknowledged'), Type.Literal('cleared')], {
      default: 'open',
      description: 'open (raised or acknowledged, the default), closed (cleared), all, or one state',
    }),
    sort: Type.Optional(Type.String({ maxLength: 16, description: 'raisedAt; "-raisedAt" for newest first' })),
  },
  { additionalProperties: false },
);

export function registerAlarmRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const safety = () => deps.runtime.safety;

  app.get<{ Querystring: Static<typeof AlarmsQuery> }>('/api/v1/alarms', { config: { auth: 'viewer' }, schema: { querystring: AlarmsQuery } }, async (request, reply) => {
    const query = request.query;
    const sort = parseSort(query.sort, ['raisedAt']);
    if (query.state === 'open') {
      // Open alarms as the alarm service holds them now (escalation timers included).
      const open = safety().alarms.list().sort((a, b) => a.raisedAtMs - b.raisedAtMs || (a.id < b.id ? -1 : 1));
      if (sort?.descending === true) open.reverse();
      return sendPage(reply, request.url, query, open.slice(query.offset, query.offset + query.limit).map(alarmView), open.length);
    }
    // Closed alarms are history: read page by page from SQLite.
    const { records, total } = queryAlarms(deps.store.db, { state: query.state, limit: query.limit, offset: query.offset, descending: sort?.descending === true });
    return sendPage(reply, request.url, query, records.map((record) => alarmView(JSON.parse(record) as Alarm)), total);
  });

  app.get<{ Params: Static<typeof Params> }>('/api/v1/alarms/:id', { config: { auth: 'viewer' }, schema: { params: Params } }, async (request) => {
    const alarm = safety().alarms.get(request.params.id);
    if (alarm === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no alarm "${request.params.id}"`);
    return alarmView(alarm);
  });

  // A software panic button: an agent's desk or the console.
  // A software panic button on any agent's desk: every signed-in user may raise one.
  app.post<{ Body: Static<typeof RaiseBody> }>('/api/v1/alarms', { config: { auth: 'viewer' }, schema: { body: RaiseBody } }, async (request, reply) => {
    const { zone, door, location, silent } = request.body;
    if (zone !== undefined && !safety().zoneIds().includes(zone)) throw new GuardpostError('GP_ERR_BAD_REQUEST', `zone: no zone "${zone}"`);
    if (door !== undefined && !deps.runtime.site.doors.has(door)) throw new GuardpostError('GP_ERR_BAD_REQUEST', `door: no door "${door}"`);
    const outcome = audited(deps, request, 'alarm.raised', null, () => safety().softwarePanic(apiActor(request), { zone: zone ?? null, door: door ?? null, location: location ?? null, silent }), (result) => ({ alarm: result.alarm.id, zone: zone ?? null, door: door ?? null, location: location ?? null, silent, repeated: result.repeated }));
    return reply.status(outcome.repeated ? 200 : 201).send(alarmView(outcome.alarm));
  });

  app.post<{ Params: Static<typeof Params>; Body: Static<typeof AckBody> }>(
    '/api/v1/alarms/:id/acknowledge',
    { config: { auth: 'security' }, schema: { params: Params, body: AckBody } },
    async (request) => alarmView(audited(deps, request, 'alarm.acknowledged', request.params.id, () => safety().alarms.acknowledge(request.params.id, apiActor(request), request.body.note))),
  );

  app.post<{ Params: Static<typeof Params>; Body: Static<typeof ClearBody> }>(
    '/api/v1/alarms/:id/clear',
    { config: { auth: 'security' }, schema: { params: Params, body: ClearBody } },
    async (request) => alarmView(audited(deps, request, 'alarm.cleared', request.params.id, () => safety().alarms.clear(request.params.id, apiActor(request), request.body.resolution))),
  );

  app.get('/api/v1/drills/current', { config: { auth: 'viewer' } }, async () => {
    const drill = safety().alarms.currentDrill();
    return drill === null ? { running: false } : { running: true, until: new Date(drill.untilMs).toISOString(), startedBy: drill.startedBy };
  });

  app.post<{ Body: Static<typeof DrillBody> }>('/api/v1/drills', { config: { auth: 'security' }, schema: { body: DrillBody } }, async (request, reply) => {
    const drill = audited(deps, request, 'drill.started', null, () => safety().alarms.startDrill(apiActor(request), request.body.durationMs));
    return reply.status(201).send({ running: true, until: new Date(drill.untilMs).toISOString(), startedBy: drill.startedBy });
  });

  app.delete('/api/v1/drills/current', { config: { auth: 'security' } }, async (request) => {
    audited(deps, request, 'drill.ended', null, () => safety().alarms.endDrill(apiActor(request)), () => null);
    return { running: false };
  });
}
