import { Type, type Static, type TObject } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { GuardpostError } from '../../errors.js';
import type { JournalFilter } from '../../journal/index.js';
import { storeChangeMark } from '../../store/apiQueries.js';
import { AnswerCache } from '../answerCache.js';
import type { ApiDeps } from '../app.js';

/** The filters every journal query shares (listing, exports). */
export const EventFilterFields = {
  since: Type.Optional(Type.String({ format: 'date-time' })),
  until: Type.Optional(Type.String({ format: 'date-time' })),
  door: Type.Optional(Type.String({ pattern: '^[a-z0-9-]+$' })),
  device: Type.Optional(Type.String({ pattern: '^[a-z0-9-]+$' })),
  type: Type.Optional(Type.String({ pattern: '^[a-z_]+(\\.[a-z_]+)?$' })),
  cardholder: Type.Optional(Type.String({ pattern: '^[a-z0-9-]+$' })),
  alarm: Type.Optional(Type.String({ pattern: '^[a-z0-9-]+$' })),
};

export const EventsQuery = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    after: Type.Optional(Type.Integer({ minimum: 0, description: 'only events with seq above this, oldest first' })),
    before: Type.Optional(Type.Integer({ minimum: 1, description: 'only events with seq below this' })),
    ...EventFilterFields,
  },
  { additionalProperties: false },
);

export function parseTime(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new GuardpostError('GP_ERR_BAD_REQUEST', `${name}: expected an ISO-8601 date-time`);
  return ms;
}

/** The journal filter a query's shared fields describe. */
export function journalFilter(query: Static<TObject<typeof EventFilterFields>>): JournalFilter {
  return {
    sinceMs: parseTime('since', query.since),
    untilMs: parseTime('until', query.until),
    door: query.door,
    device: query.device,
    type: query.type,
    cardholder: query.cardholder,
    alarm: query.alarm,
  };
}

export function registerEventRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // A page of history changes only when the journal does (an append, a prune, another process's
  // commit): the serialized page is kept against the database's change mark.
  const cache = new AnswerCache();
  const version = storeChangeMark(deps.store.db);
  app.decorate('eventsCache', cache);
  app.get<{ Querystring: Static<typeof EventsQuery> }>('/api/v1/events', { config: { auth: 'viewer' }, schema: { querystring: EventsQuery } }, async (request, reply) =>
    cache.send(request, reply, version(), () => {
      const query = request.query;
      return deps.journal.queryJson({ limit: query.limit, afterSeq: query.after, beforeSeq: query.before, ...journalFilter(query) });
    }, String),
  );
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The events page's answer cache (tests read its hit count). */
    eventsCache: AnswerCache;
  }
}
