import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { stringify } from 'yaml';
import { actorOf } from '../../auth/service.js';
import { GuardpostError } from '../../errors.js';
import { exportSiteData } from '../../store/siteExport.js';
import type { ApiDeps } from '../app.js';

const ImportQuery = Type.Object({ dryRun: Type.Boolean({ default: false }) }, { additionalProperties: false });
const ExportQuery = Type.Object({ format: Type.Union([Type.Literal('json'), Type.Literal('yaml')], { default: 'json' }) }, { additionalProperties: false });

/** The whole site as code: export it, or replace it with a site file's content (dry-run first). */
export function registerSiteImportRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Cards are exported as `cardDigest`/`wiegandDigest` + `masked` [SEC-CARD-DIGEST]: only a gateway holding this pin.key can import them.
  app.get<{ Querystring: Static<typeof ExportQuery> }>('/api/v1/site/export', { config: { auth: 'admin' }, schema: { querystring: ExportQuery, description: 'The whole site in the site-file shape. Cards appear as cardDigest/wiegandDigest (keyed digests naming this gateway\'s key) and masked, never as numbers.' } }, async (request, reply) => {
    const data = exportSiteData(deps.store);
    if (request.query.format === 'yaml') return reply.type('application/yaml').send(stringify(data));
    return data;
  });

  // A spreadsheet's export, as it comes: text/csv.
  app.post<{ Querystring: Static<typeof ImportQuery>; Body: string }>(
    '/api/v1/cardholders/import',
    { config: { auth: 'admin' }, schema: { querystring: ImportQuery }, bodyLimit: 32 * 1024 * 1024 },
    async (request) => {
      if (typeof request.body !== 'string') throw new GuardpostError('GP_ERR_BAD_REQUEST', 'send the file as text/csv');
      return deps.site.importCardholdersCsv(request.body, actorOf(request.principal!, request.ip), request.query.dryRun);
    },
  );

  app.post<{ Querystring: Static<typeof ImportQuery>; Body: unknown }>(
    '/api/v1/site/import',
    { config: { auth: 'admin' }, schema: { querystring: ImportQuery, description: 'Replaces the site with a site file\'s content. Cards may be given by number (card, wiegand) or as exported by this gateway (cardDigest/wiegandDigest + masked); a digest made with another gateway\'s key is refused.' }, bodyLimit: 32 * 1024 * 1024 },
    async (request) => deps.site.replaceAll(request.body, actorOf(request.principal!, request.ip), request.query.dryRun),
  );
}
