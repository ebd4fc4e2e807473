import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf } from '../../auth/service.js';
import type { WatchEntry } from '../../site/siteService.js';
import type { ApiDeps } from '../app.js';
import { applyListQuery, fieldIs, listQuerySchema, sendPage, type ListQuery, type ListSpec } from '../listQuery.js';

const Id = Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64 });
/** An entry is named by whom it watches: `cardholder:<id>` or `credential:<id>`. */
const Params = Type.Object({ key: Type.String({ pattern: '^(cardholder|credential):[a-z0-9-]+$', maxLength: 80 }) });
const Entry = Type.Object({ cardholder: Type.Optional(Id), credential: Type.Optional(Id), reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });
const Reason = Type.Object({ reason: Type.String({ minLength: 1, maxLength: 500 }) }, { additionalProperties: false });

const spec: ListSpec<WatchEntry> = {
  sortable: ['key', 'reason', 'cardholder', 'credential'],
  filters: { cardholder: fieldIs('cardholder'), credential: fieldIs('credential') },
  text: (entry) => [entry.key, entry.reason],
};

/**
 * The watch list is security's: security staff and admins read and change it. A badge by a
 * watched cardholder or card raises the watch-list event at once (the runtime reloads).
 */
export function registerWatchListRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { site } = deps;
  const security = { auth: 'security' } as const;
  const actor = (request: FastifyRequest) => actorOf(request.principal!, request.ip);
  const base = '/api/v1/watch-list';

  app.get<{ Querystring: ListQuery }>(base, { config: security, schema: { querystring: listQuerySchema(spec, 'watch-list entries') } }, async (request, reply) => {
    const { page, total } = applyListQuery(site.watchList(), request.query, spec);
    return sendPage(reply, request.url, request.query, page, total);
  });
  app.get<{ Params: Static<typeof Params> }>(`${base}/:key`, { config: security, schema: { params: Params } }, async (request) => site.watchEntry(request.params.key));
  app.post<{ Body: Static<typeof Entry> }>(base, { config: security, schema: { body: Entry } }, async (request, reply) => {
    const { entry, created } = site.putWatchEntry(request.body, actor(request));
    return reply.status(created ? 201 : 200).send(entry);
  });
  app.put<{ Params: Static<typeof Params>; Body: Static<typeof Reason> }>(`${base}/:key`, { config: security, schema: { params: Params, body: Reason } }, async (request) => {
    const current = site.watchEntry(request.params.key);
    const { key: _key, ...entry } = current;
    return site.putWatchEntry({ ...entry, reason: request.body.reason }, actor(request), request.params.key).entry;
  });
  app.delete<{ Params: Static<typeof Params> }>(`${base}/:key`, { config: security, schema: { params: Params } }, async (request, reply) => {
    site.deleteWatchEntry(request.params.key, actor(request));
    return reply.status(204).send();
  });
}
