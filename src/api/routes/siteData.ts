import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { maskCardNumber } from '../../access/credentials.js';
import type { Principal } from '../../auth/service.js';
import { actorOf } from '../../auth/service.js';
import { GuardpostError } from '../../errors.js';
import type { SiteCardholder, SiteData } from '../../config/siteSchema.js';
import { SiteCollections, type SiteCollection } from '../../site/siteService.js';
import type { Role } from '../../store/index.js';
import type { ApiDeps } from '../app.js';

const Params = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64 }) });
const Body = Type.Object({}, { additionalProperties: true });

/** Who may read each collection: cardholders are personal data, for security staff and admins. */
const readRole: Record<SiteCollection, Role> = { devices: 'viewer', doors: 'viewer', groups: 'viewer', cardholders: 'security' };

/** What a caller sees of an item: never a password hash; whole card numbers for admins only. */
function present(collection: SiteCollection, item: unknown, principal: Principal | null, deps: ApiDeps): unknown {
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
      if (principal?.role === 'admin') return holder;
      return { ...holder, credentials: holder.credentials.map((credential) => (credential.card === undefined ? credential : { ...credential, card: maskCardNumber(credential.card) })) };
    }
    case 'groups':
      return item;
  }
}

/**
 * CRUD for site data, one route family per collection. Bodies have the site file's shape
 * (config/demo-site.yaml), checked by the same rules; every change is audited.
 */
export function registerSiteDataRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { site } = deps;
  const actor = (request: FastifyRequest) => actorOf(request.principal!, request.ip);

  for (const collection of SiteCollections) {
    const base = `/api/v1/${collection}`;
    const read = { auth: readRole[collection] };
    const write = { auth: 'admin' } as const;

    app.get(base, { config: read }, async (request) => site.list(collection).map((item) => present(collection, item, request.principal, deps)));
    app.get<{ Params: Static<typeof Params> }>(`${base}/:id`, { config: read, schema: { params: Params } }, async (request) =>
      present(collection, site.get(collection, request.params.id), request.principal, deps),
    );
    app.post<{ Body: Record<string, unknown> }>(base, { config: write, schema: { body: Body } }, async (request, reply) => {
      const id = request.body.id;
      if (typeof id !== 'string' || !/^[a-z0-9-]{1,64}$/.test(id)) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'body.id: expected an id of lowercase letters, digits and dashes');
      if (site.list(collection).some((item) => item.id === id)) throw new GuardpostError('GP_ERR_CONFLICT', `${collection} "${id}" already exists; PUT ${base}/${id} replaces it`);
      const { item } = site.put(collection, id, request.body, actor(request));
      return reply.status(201).send(present(collection, item, request.principal, deps));
    });
    app.put<{ Params: Static<typeof Params>; Body: Record<string, unknown> }>(`${base}/:id`, { config: write, schema: { params: Params, body: Body } }, async (request, reply) => {
      const { item, created } = site.put(collection, request.params.id, request.body, actor(request));
      return reply.status(created ? 201 : 200).send(present(collection, item, request.principal, deps));
    });
    app.delete<{ Params: Static<typeof Params> }>(`${base}/:id`, { config: write, schema: { params: Params } }, async (request, reply) => {
      site.delete(collection, request.params.id, actor(request));
      return reply.status(204).send();
    });
  }
}
