import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { actorOf } from '../../auth/service.js';
import type { SiteCardholder, SiteCredential } from '../../config/siteSchema.js';
import { GuardpostError } from '../../errors.js';
import { shownCredential } from '../../site/siteService.js';
import type { ApiDeps } from '../app.js';

const Id = Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64 });
const HolderParams = Type.Object({ id: Id });
const CredentialParams = Type.Object({ id: Id, credential: Id });
const Status = Type.Union([Type.Literal('active'), Type.Literal('suspended'), Type.Literal('lost'), Type.Literal('expired')]);
/** A card as in the site file (`credentials:` of a cardholder); checked by the site rules on top. */
const NewCredential = Type.Object(
  {
    id: Type.Optional(Id),
    card: Type.Optional(Type.String({ pattern: '^[0-9]{1,20}$', description: 'The whole card number in decimal, as typed from the card. Kept only as a keyed digest; every answer shows it masked ("********42").' })),
    wiegand: Type.Optional(
      Type.Object({ format: Id, facility: Type.Integer({ minimum: 0 }), number: Type.Integer({ minimum: 0 }) }, { additionalProperties: false, description: 'A Wiegand card. Kept only as a keyed digest; answers show it as masked text ("h10301:12:****7").' }),
    ),
    status: Type.Optional(Status),
    validFrom: Type.Optional(Type.String({ format: 'date-time' })),
    validUntil: Type.Optional(Type.String({ format: 'date-time' })),
  },
  { additionalProperties: false },
);
const CredentialChange = Type.Object(
  {
    status: Type.Optional(Status),
    validFrom: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
    validUntil: Type.Optional(Type.Union([Type.String({ format: 'date-time' }), Type.Null()])),
  },
  { additionalProperties: false, minProperties: 1 },
);

/**
 * A cardholder's cards as a sub-resource: issue a card, or report one lost, suspend or
 * reactivate it in one request. Every change goes through the site service (validated by the
 * site rules, audited as `cardholder.updated`, patched into the live index at once). Card
 * numbers are taken whole and kept as keyed digests: every answer, an admin's too, shows the mask
 * [SEC-CARD-DIGEST].
 */
export function registerCredentialRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { site } = deps;
  const base = '/api/v1/cardholders/:id/credentials';
  const shown = (_request: FastifyRequest, credential: SiteCredential): SiteCredential => shownCredential(credential);
  const holderOf = (id: string): SiteCardholder => site.get('cardholders', id) as SiteCardholder;
  const find = (holder: SiteCardholder, credentialId: string): SiteCredential => {
    const credential = holder.credentials.find((candidate) => candidate.id === credentialId);
    if (credential === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `cardholder "${holder.id}" has no credential "${credentialId}"`);
    return credential;
  };
  /** Saves the holder with `credentials`; problems with them are reported as `body.…`. */
  const save = (request: FastifyRequest, holder: SiteCardholder, credentials: SiteCredential[], position: number): SiteCardholder => {
    try {
      return site.put('cardholders', holder.id, { ...holder, credentials } as unknown as Record<string, unknown>, actorOf(request.principal!, request.ip)).item as SiteCardholder;
    } catch (error) {
      if (error instanceof GuardpostError && error.code === 'GP_ERR_BAD_REQUEST') {
        const own = `body.credentials[${position}]`;
        const problems = error.details.map((problem) => (problem.startsWith(own) ? `body${problem.slice(own.length)}` : problem));
        throw new GuardpostError('GP_ERR_BAD_REQUEST', problems.join('; ') || error.message, problems);
      }
      throw error;
    }
  };

  app.get<{ Params: Static<typeof HolderParams> }>(base, { config: { auth: 'security' }, schema: { params: HolderParams } }, async (request) =>
    holderOf(request.params.id).credentials.map((credential) => shown(request, credential)),
  );

  app.get<{ Params: Static<typeof CredentialParams> }>(`${base}/:credential`, { config: { auth: 'security' }, schema: { params: CredentialParams } }, async (request) =>
    shown(request, find(holderOf(request.params.id), request.params.credential)),
  );

  app.post<{ Params: Static<typeof HolderParams>; Body: Static<typeof NewCredential> }>(
    base,
    { config: { auth: 'admin' }, schema: { params: HolderParams, body: NewCredential } },
    async (request, reply) => {
      const holder = holderOf(request.params.id);
      const taken = new Set(holder.credentials.map((credential) => credential.id));
      let id = request.body.id;
      if (id !== undefined && taken.has(id)) throw new GuardpostError('GP_ERR_CONFLICT', `cardholder "${holder.id}" already has a credential "${id}"`);
      // The site file's default id (`<holder>-card-<n>`), skipping numbers already used.
      for (let n = holder.credentials.length + 1; id === undefined; n++) if (!taken.has(`${holder.id}-card-${n}`)) id = `${holder.id}-card-${n}`;
      const saved = save(request, holder, [...holder.credentials, { ...request.body, id } as SiteCredential], holder.credentials.length);
      return reply.status(201).send(shown(request, find(saved, id)));
    },
  );

  // Security staff report a card lost or suspend it at the desk; admins may also change its validity.
  app.patch<{ Params: Static<typeof CredentialParams>; Body: Static<typeof CredentialChange> }>(
    `${base}/:credential`,
    { config: { auth: 'security' }, schema: { params: CredentialParams, body: CredentialChange } },
    async (request) => {
      const { validFrom, validUntil, status } = request.body;
      if ((validFrom !== undefined || validUntil !== undefined) && request.principal?.role !== 'admin') {
        throw new GuardpostError('GP_ERR_FORBIDDEN', 'the security role may change a card\'s status only; validity dates need admin');
      }
      const holder = holderOf(request.params.id);
      const old = find(holder, request.params.credential);
      const changed: SiteCredential = { ...old, ...(status === undefined ? {} : { status }) };
      if (validFrom !== undefined) (changed as { validFrom?: string }).validFrom = validFrom ?? undefined;
      if (validUntil !== undefined) (changed as { validUntil?: string }).validUntil = validUntil ?? undefined;
      const position = holder.credentials.indexOf(old);
      const credentials = holder.credentials.map((credential) => (credential === old ? (JSON.parse(JSON.stringify(changed)) as SiteCredential) : credential));
      return shown(request, find(save(request, holder, credentials, position), old.id));
    },
  );

  app.delete<{ Params: Static<typeof CredentialParams> }>(`${base}/:credential`, { config: { auth: 'admin' }, schema: { params: CredentialParams } }, async (request, reply) => {
    const holder = holderOf(request.params.id);
    const old = find(holder, request.params.credential);
    save(request, holder, holder.credentials.filter((credential) => credential !== old), -1);
    return reply.status(204).send();
  });
}
