import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { EventEmitter } from 'node:events';
import { actorOf } from '../../auth/service.js';
import { GuardpostError } from '../../errors.js';
import { SiteExportStream, type SiteExportProgress } from '../../site/siteExportStream.js';
import type { ApiDeps } from '../app.js';

const ImportQuery = Type.Object({ dryRun: Type.Boolean({ default: false }) }, { additionalProperties: false });
const ExportQuery = Type.Object({ format: Type.Union([Type.Literal('json'), Type.Literal('yaml')], { default: 'json' }) }, { additionalProperties: false });

/** The whole site as code: export it, or replace it with a site file's content (dry-run first). */
export function registerSiteImportRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Cards are exported as `cardDigest`/`wiegandDigest` + `masked` [SEC-CARD-DIGEST]: only a gateway holding this pin.key can import them.
  const exports = new SiteExports();
  app.decorate('siteExports', exports);
  app.get<{ Querystring: Static<typeof ExportQuery> }>('/api/v1/site/export', { config: { auth: 'admin' }, schema: { querystring: ExportQuery, description: 'The whole site in the site-file shape, streamed (the people a page at a time, as of the moment the export began). Cards appear as cardDigest/wiegandDigest (keyed digests naming this gateway\'s key) and masked, never as numbers.' } }, async (request, reply) => {
    if (!deps.store.hasSiteData()) throw new GuardpostError('GP_ERR_NOT_FOUND', 'the store has no site data yet');
    // [SITE-STREAM] never the whole site in memory: a page of people per event-loop turn, as fast as the client reads.
    const stream = new SiteExportStream(deps.store, request.query.format);
    exports.started(stream);
    return reply.type(request.query.format === 'yaml' ? 'application/yaml; charset=utf-8' : 'application/json; charset=utf-8').send(stream);
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

  // [SITE-IMPORT-SLICES] The body is parsed on the import's own thread, not here: kept as it came.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser(['application/json', 'application/yaml', 'text/yaml'], { parseAs: 'buffer' }, (_request, body, done) => done(null, body));
    scope.post<{ Querystring: Static<typeof ImportQuery>; Body: Buffer }>(
      '/api/v1/site/import',
      { config: { auth: 'admin' }, schema: { querystring: ImportQuery, description: 'Replaces the site with a site file\'s content (JSON or YAML). Everything is checked first (nothing changes on a problem), then written in short transactions on a thread of its own while doors are served. Cards may be given by number (card, wiegand) or as exported by this gateway (cardDigest/wiegandDigest + masked); a digest made with another gateway\'s key is refused. 409 while another import runs.' }, bodyLimit: 32 * 1024 * 1024 },
      async (request) => {
        if (!Buffer.isBuffer(request.body) || request.body.length === 0) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'send the site file as the body, as application/json or application/yaml');
        const format = /yaml/i.test(request.headers['content-type'] ?? '') ? 'yaml' : 'json';
        return deps.site.importOffThread(request.body, format, actorOf(request.principal!, request.ip), request.query.dryRun);
      },
    );
  });
}

/**
 * Site exports under way, for metrics and tests: 'waiting' when a client stopped reading and the
 * export stopped reading pages with it, 'closed' when an export's read snapshot is let go.
 */
export class SiteExports extends EventEmitter<{ waiting: [SiteExportProgress]; closed: [SiteExportProgress] }> {
  private readonly streams = new Set<SiteExportStream>();
  private waits = 0;

  /** Exports whose read snapshot is still held. */
  get running(): number {
    return this.streams.size;
  }

  /** How far each running export got. */
  progress(): SiteExportProgress[] {
    return [...this.streams].map((stream) => stream.progress);
  }

  /** How many times an export waited for a slow client. */
  get waited(): number {
    return this.waits;
  }

  started(stream: SiteExportStream): void {
    this.streams.add(stream);
    stream.on('waiting', (progress: SiteExportProgress) => {
      this.waits++;
      this.emit('waiting', progress);
    });
    stream.once('close', () => {
      this.streams.delete(stream);
      this.emit('closed', stream.progress);
    });
  }
}

declare module 'fastify' {
  interface FastifyInstance {
    siteExports: SiteExports;
  }
}
