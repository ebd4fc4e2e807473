import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import { isGuardpostError, type ErrorCode } from '../errors.js';
import type { Forwarders } from '../forwarders/index.js';
import type { Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { SiteRuntime } from '../site/runtime.js';
import { registerDoorRoutes } from './routes/doors.js';
import { registerEventRoutes } from './routes/events.js';
import { registerExportRoutes } from './routes/exports.js';
import { registerForwarderRoutes } from './routes/forwarders.js';
import { registerIncidentReportRoutes } from './routes/incidentReport.js';
import { registerHealthRoutes, type ReadinessCheck } from './routes/health.js';

export interface ApiDeps {
  readonly journal: Journal;
  readonly runtime: SiteRuntime;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Demo mode lets anonymous visitors read; otherwise every /api route needs credentials. */
  readonly demo: boolean;
  readonly readiness: () => readonly ReadinessCheck[];
  readonly forwarders?: Forwarders;
}

const statusCodes: Partial<Record<ErrorCode, number>> = {
  GP_ERR_BAD_REQUEST: 400,
  GP_ERR_UNAUTHORIZED: 401,
  GP_ERR_FORBIDDEN: 403,
  GP_ERR_NOT_FOUND: 404,
  GP_ERR_NOT_READY: 503,
};

/** Builds the HTTP API without listening, so tests drive it with inject() or a real port. */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({ loggerInstance: deps.logger.child({ module: 'api' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), bodyLimit: 64 * 1024 });

  // Errors always answer {statusCode, code, error, message}.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const [statusCode, code] = isGuardpostError(error)
      ? [statusCodes[error.code] ?? 500, error.code]
      : error.validation !== undefined
        ? [400, 'GP_ERR_BAD_REQUEST']
        : [error.statusCode ?? 500, error.statusCode !== undefined && error.statusCode < 500 ? 'GP_ERR_BAD_REQUEST' : 'GP_ERR_INTERNAL'];
    if (statusCode >= 500) deps.logger.error({ err: error }, 'API request failed');
    const message = statusCode >= 500 && !isGuardpostError(error) ? 'internal error' : error.message;
    return reply.status(statusCode).send({ statusCode, code, error: httpReason(statusCode), message });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ statusCode: 404, code: 'GP_ERR_NOT_FOUND', error: 'Not Found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  app.addHook('onRequest', async (request, reply) => {
    if (!request.url.startsWith('/api/')) return;
    if (deps.demo) return;
    // Users, roles and tokens arrive with the admin API; until then only demo mode reads.
    return reply.status(401).send({ statusCode: 401, code: 'GP_ERR_UNAUTHORIZED', error: 'Unauthorized', message: 'authentication required' });
  });

  registerHealthRoutes(app, deps);
  registerDoorRoutes(app, deps);
  registerEventRoutes(app, deps);
  if (deps.forwarders !== undefined) registerForwarderRoutes(app, deps.forwarders);
  registerExportRoutes(app, deps);
  registerIncidentReportRoutes(app, deps);
  return app;
}

function httpReason(statusCode: number): string {
  const reasons: Record<number, string> = { 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 503: 'Service Unavailable' };
  return reasons[statusCode] ?? (statusCode >= 500 ? 'Internal Server Error' : 'Error');
}
