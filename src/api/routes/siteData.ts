import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Principal } from '../../auth/service.js';
import { actorOf } from '../../auth/service.js';
import { GuardpostError } from '../../errors.js';
import type { SiteCardholder, SiteData } from '../../config/siteSchema.js';
import { MASKED_PASSWORD, RuleCollections, SiteCollections, maskUrlPassword, shownCredential, type EditableCollection, type SiteService } from '../../site/siteService.js';
import type { Role } from '../../store/index.js';
import { storeChangeMark } from '../../store/apiQueries.js';
import { AnswerCache } from '../answerCache.js';
import type { ApiDeps } from '../app.js';
import { applyListQuery, fieldIs, listQuerySchema, parseSort, sendPage, type ListQuery, type ListSpec } from '../listQuery.js';

const Params = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64 }) });
const Body = Type.Object({}, { additionalProperties: true });

/** URL segments: the site file's keys in kebab case (`accessLevels` → `/api/v1/access-levels`). */
export const collectionPath = (collection: EditableCollection): string => collection.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`);

/** Who may read each collection: cardholders are personal data, for security staff and admins. */
const readRole: Record<EditableCollection, Role> = {
  devices: 'viewer',
  doors: 'viewer',
  groups: 'viewer',
  cardholders: 'security',
  zones: 'viewer',
  schedules: 'viewer',
  holidays: 'viewer',
  accessLevels: 'viewer',
  threatLevels: 'viewer',
  cameras: 'viewer',
  doorGroups: 'viewer',
  areas: 'viewer',
};

type Any = Record<string, unknown>;
const text = (item: Any): (string | undefined)[] => [String(item.id), item.name as string | undefined];
const named = { sortable: ['id', 'name'], text } as const;
const doorsInclude = (item: Any, door: string) => Array.isArray(item.doors) && (item.doors as string[]).includes(door);

/** What each list can be searched, filtered and sorted by. */
const listSpecs: Record<Exclude<EditableCollection, 'cardholders'>, ListSpec<Any>> = {
  devices: {
    sortable: ['id', 'name', 'kind', 'driver', 'location'],
    filters: { kind: fieldIs('kind'), driver: fieldIs('driver'), location: fieldIs('location') },
    text: (item) => [...text(item), item.location as string | undefined],
  },
  doors: {
    sortable: ['id', 'name', 'mode', 'unlockMs', 'failMode'],
    filters: { mode: fieldIs('mode'), device: (door, id) => [door.reader, door.strike, door.contact, door.exit].includes(id) },
    text,
  },
  groups: { ...named, filters: { door: doorsInclude, accessLevel: fieldIs('accessLevels') } },
  zones: { ...named, filters: { door: doorsInclude } },
  schedules: { ...named, filters: { holiday: fieldIs('holidays') } },
  holidays: { ...named, filters: { date: fieldIs('dates') } },
  accessLevels: { sortable: ['id', 'name', 'schedule'], text, filters: { door: doorsInclude, doorGroup: fieldIs('doorGroups'), schedule: fieldIs('schedule') } },
  threatLevels: { ...named, filters: { door: (level, door) => (level.doors as { door?: string }[]).some((entry) => entry.door === door), lockdownZone: fieldIs('lockdownZones') } },
  cameras: { sortable: ['id', 'name', 'kind'], text: (item) => [...text(item), item.camera as string | undefined], filters: { kind: fieldIs('kind'), door: doorsInclude, zone: fieldIs('zones') } },
  doorGroups: { ...named, filters: { door: doorsInclude } },
  areas: { sortable: ['id', 'name', 'passback'], text, filters: { passback: fieldIs('passback'), door: (area, door) => [...(area.entryDoors as string[]), ...(area.exitDoors as string[])].includes(door) } },
};

/** The cardholder list's sort fields and filters, for the querystring schema (the list itself is SQL: `cardholderPage`). */
const cardholderFilters: ListSpec<Any> = {
  sortable: ['id', 'name', 'status'],
  filters: Object.fromEntries(['group', 'status', 'state', 'credentialStatus', 'card'].map((name) => [name, () => true])),
  text: () => [],
};

/**
 * Cardholders, paged in SQL [SITE-LIST]: `q` finds a name or id, or the digits a masked card shows;
 * `card` finds the holder of a whole card number, by its digest [SEC-CARD-DIGEST] (no number is
 * kept to search through).
 */
function cardholderPage(site: SiteService, query: ListQuery, after: string | undefined): Promise<{ page: SiteCardholder[]; total: number; next?: string }> {
  const sort = parseSort(query.sort, cardholderFilters.sortable) as { field: 'id' | 'name' | 'status'; descending: boolean } | undefined;
  const text = (name: string): string | undefined => (query[name] === undefined ? undefined : String(query[name]));
  const [status, state] = [text('status'), text('state')];
  // `state` is another name for `status`: both given and different match nobody.
  if (status !== undefined && state !== undefined && status !== state) return Promise.resolve({ page: [], total: 0 });
  const filters = { status: status ?? state, group: text('group'), credentialStatus: text('credentialStatus'), card: text('card'), q: query.q };
  return site.listCardholders({
    limit: query.limit,
    offset: query.offset,
    ...(after === undefined ? {} : { after }),
    ...(sort === undefined ? {} : { sort }),
    ...Object.fromEntries(Object.entries(filters).filter(([, value]) => value !== undefined)),
  });
}

/**
 * Keyset paging of the cardholder list [SITE-LIST]: `after=` a page's `X-Next-Cursor` starts the
 * next page after that page's last row, along the sort's index (the same cost at the end of
 * millions as at the start; people added or removed meanwhile make nobody else skipped or shown
 * twice). `offset` works as before and its pages carry the cursor too; the two together are a 400.
 */
const CardholderCursor = Type.Optional(
  Type.String({ minLength: 1, maxLength: 4096, description: 'start after the last row of the page whose X-Next-Cursor header this is (same sort; instead of offset)' }),
);

/** The page's cursor in `X-Next-Cursor`; a page asked for by cursor links the next one by cursor. */
function sendCardholderPage<T>(reply: FastifyReply, url: string, query: ListQuery, after: string | undefined, page: readonly T[], total: number, next: string | undefined): readonly T[] {
  if (after === undefined) {
    sendPage(reply, url, query, page, total);
  } else {
    void reply.header('x-total-count', String(total));
    if (next !== undefined) {
      const [path, search = ''] = url.split('?');
      const params = new URLSearchParams(search);
      params.set('after', next);
      params.set('limit', String(query.limit));
      void reply.header('link', `<${path}?${params.toString()}>; rel="next"`);
    }
  }
  if (next !== undefined) void reply.header('x-next-cursor', next);
  return page;
}

/** What a caller sees of an item: never a password hash, never a whole card number or its digest. */
function present(collection: EditableCollection, item: unknown, principal: Principal | null, deps: ApiDeps): unknown {
  switch (collection) {
    case 'devices': {
      // Secrets never leave: a password hash or an OSDP key shows only as set or not.
      const { passwordHash, osdpKey, ...device } = item as SiteData['devices'][number];
      return { ...device, hasPassword: passwordHash !== undefined, hasOsdpKey: osdpKey !== undefined, availability: deps.runtime.deviceAvailability(device.id) };
    }
    case 'doors': {
      const door = item as SiteData['doors'][number];
      return { ...door, status: { reader: deps.runtime.deviceAvailability(door.reader), strike: deps.runtime.deviceAvailability(door.strike) } };
    }
    case 'cardholders': {
      // [SEC-PRIVACY] PIN digits never leave, not even to the admin who just set them (a write
      // answers with what it was given); stored PINs are digests and never shown at all.
      const { pin: _pin, duressPin: _duressPin, ...holder } = item as SiteCardholder;
      return { ...holder, credentials: holder.credentials.map(shownCredential) };
    }
    case 'cameras': {
      // A camera's password (in its URL) never leaves; the mask stands in for it on a PUT.
      const camera = item as SiteData['cameras'][number];
      return camera.url === undefined ? camera : { ...camera, url: maskUrlPassword(camera.url) };
    }
    case 'groups':
    case 'zones':
    case 'schedules':
    case 'holidays':
    case 'accessLevels':
    case 'threatLevels':
    case 'doorGroups':
    case 'areas':
      return item;
  }
}

/**
 * A camera URL sent back with the masked password keeps the stored one, so a console can edit a
 * camera without ever having been shown its password.
 */
function restoreCameraPassword(body: Any, stored: SiteData['cameras'][number] | undefined): Any {
  if (typeof body.url !== 'string') return body;
  let url: URL;
  try {
    url = new URL(body.url);
  } catch {
    return body;
  }
  if (url.password !== MASKED_PASSWORD && url.password !== encodeURIComponent(MASKED_PASSWORD)) return body;
  const old = stored?.url === undefined ? undefined : new URL(stored.url);
  if (old === undefined || old.password === '' || old.host !== url.host || old.username !== url.username) {
    throw new GuardpostError('GP_ERR_BAD_REQUEST', 'body.url: the password is the mask "********" but no stored password goes with this host and user; send the real password');
  }
  url.password = old.password;
  return { ...body, url: url.toString() };
}

/**
 * CRUD for site data, one route family per collection. Bodies have the site file's shape
 * (config/demo-site.yaml), checked by the same rules; every change is audited.
 */
export function registerSiteDataRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { site } = deps;
  const actor = (request: FastifyRequest) => actorOf(request.principal!, request.ip);
  // Doors and devices lists (what a console polls) are kept serialized against the site data
  // (the database's change mark) and the devices' availability they show.
  const storeVersion = storeChangeMark(deps.store.db);
  const cachedLists: Partial<Record<EditableCollection, AnswerCache>> = { doors: new AnswerCache({ depends: 'store,availability' }), devices: new AnswerCache({ depends: 'store,availability' }) };
  app.decorate('doorsCache', cachedLists.doors!);

  for (const collection of [...SiteCollections, ...RuleCollections]) {
    const base = `/api/v1/${collectionPath(collection)}`;
    const read = { auth: readRole[collection] };
    const write = { auth: 'admin' } as const;
    const listed = listQuerySchema<Any>(collection === 'cardholders' ? cardholderFilters : listSpecs[collection], collection);
    const querystring = collection === 'cardholders' ? Type.Object({ ...listed.properties, after: CardholderCursor }, { additionalProperties: false }) : listed;
    const description =
      collection === 'cardholders'
        ? 'The total before paging is in the X-Total-Count header. When more people follow, X-Next-Cursor holds an opaque cursor: pass it as after= (with the same sort and filters, without offset) for the next page, found along an index however deep.'
        : 'The total before paging is in the X-Total-Count header.'
    const prepare = (request: FastifyRequest<{ Body: Any }>, id: string): Any =>
      collection === 'cameras' ? restoreCameraPassword(request.body, site.list('cameras').find((camera) => camera.id === id)) : request.body;

    const cache = cachedLists[collection];
    app.get<{ Querystring: ListQuery }>(base, { config: read, schema: { querystring, description } }, async (request, reply) => {
      if (collection === 'cardholders') {
        // [SITE-LIST] paged in SQL (on the list's own thread): never every person loaded to show a page.
        const after = request.query.after === undefined ? undefined : String(request.query.after);
        // `offset` has a default: whether the caller gave one is read from the URL itself.
        if (after !== undefined && new URLSearchParams(request.url.split('?')[1] ?? '').has('offset')) {
          throw new GuardpostError('GP_ERR_BAD_REQUEST', 'querystring: give either after (a cursor) or offset, not both');
        }
        const { page, total, next } = await cardholderPage(site, request.query, after);
        return sendCardholderPage(reply, request.url, request.query, after, page.map((item) => present(collection, item, request.principal, deps)), total, next);
      }
      const answer = () => {
        const spec = listSpecs[collection];
        const { page, total } = applyListQuery(site.list(collection) as Any[], request.query, spec);
        return sendPage(reply, request.url, request.query, page.map((item) => present(collection, item, request.principal, deps)), total);
      };
      return cache === undefined ? answer() : cache.send(request, reply, `${storeVersion()}|${deps.runtime.availabilityGeneration}`, answer);
    });
    app.get<{ Params: Static<typeof Params> }>(`${base}/:id`, { config: read, schema: { params: Params } }, async (request) =>
      present(collection, site.get(collection, request.params.id), request.principal, deps),
    );
    app.post<{ Body: Any }>(base, { config: write, schema: { body: Body } }, async (request, reply) => {
      const id = request.body.id;
      if (typeof id !== 'string' || !/^[a-z0-9-]{1,64}$/.test(id)) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'body.id: expected an id of lowercase letters, digits and dashes');
      if (site.has(collection, id)) throw new GuardpostError('GP_ERR_CONFLICT', `${collection} "${id}" already exists; PUT ${base}/${id} replaces it`);
      const { item } = site.put(collection, id, prepare(request, id), actor(request));
      return reply.status(201).send(present(collection, item, request.principal, deps));
    });
    app.put<{ Params: Static<typeof Params>; Body: Any }>(`${base}/:id`, { config: write, schema: { params: Params, body: Body } }, async (request, reply) => {
      const { item, created } = site.put(collection, request.params.id, prepare(request, request.params.id), actor(request));
      return reply.status(created ? 201 : 200).send(present(collection, item, request.principal, deps));
    });
    app.delete<{ Params: Static<typeof Params> }>(`${base}/:id`, { config: write, schema: { params: Params } }, async (request, reply) => {
      if (collection === 'threatLevels' && deps.runtime.safety.threat.current().level === request.params.id) {
        throw new GuardpostError('GP_ERR_CONFLICT', `threat level "${request.params.id}" is the site's current level; set another level before deleting it`);
      }
      site.delete(collection, request.params.id, actor(request));
      return reply.status(204).send();
    });
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    /** The doors list's answer cache (tests read its hit count). */
    doorsCache: AnswerCache;
  }
}
