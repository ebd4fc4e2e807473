import cors from '@fastify/cors';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { parse as parseYaml } from 'yaml';
import { DEFAULT_RATE_LIMITS, registerRateLimits, type RateLimits } from './rateLimit.js';
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { AuthService } from '../auth/service.js';
import { isGuardpostError, type ErrorCode } from '../errors.js';
import type { Forwarders } from '../forwarders/index.js';
import type { Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { SiteRuntime } from '../site/runtime.js';
import type { SiteService } from '../site/siteService.js';
import type { Store } from '../store/index.js';
import { registerAuth, type RouteRule } from './auth.js';
import type { TlsMaterial } from './tls.js';
import type { BodyLimits } from './front/protocol.js';
import { registerAuditRoutes } from './routes/audit.js';
import { registerAuthRoutes } from './routes/auth.js';
import { registerEventStreamRoutes } from './routes/eventStream.js';
import { registerPassbackRoutes } from './routes/passback.js';
import { registerSiteDataRoutes } from './routes/siteData.js';
import { registerCredentialRoutes } from './routes/credentials.js';
import { registerWatchListRoutes } from './routes/watchList.js';
import { registerSiteImportRoutes } from './routes/siteImport.js';
import { registerUserRoutes } from './routes/users.js';
import { registerAlarmRoutes } from './routes/alarms.js';
import { registerDoorCommandRoutes } from './routes/doorCommands.js';
import { registerEventRoutes } from './routes/events.js';
import { registerExportRoutes } from './routes/exports.js';
import { registerForwarderRoutes } from './routes/forwarders.js';
import { registerIncidentReportRoutes } from './routes/incidentReport.js';
import { registerHealthRoutes, type ReadinessCheck } from './routes/health.js';
import { registerThreatLevelRoutes } from './routes/threatLevel.js';
import { registerOccupancyRoutes } from './routes/occupancy.js';
import { registerReportRoutes } from './routes/reports.js';
import { registerVisitorRoutes } from './routes/visitors.js';
import type { ThreatManagement } from '../threat/service.js';
import { registerConsole } from './console.js';
import { registerSecurityHeaders } from './securityHeaders.js';
import { registerLoopShare } from './loopShare.js';

export interface ApiDeps {
  readonly store: Store;
  readonly auth: AuthService;
  readonly site: SiteService;
  readonly journal: Journal;
  readonly runtime: SiteRuntime;
  readonly metrics: Metrics;
  readonly logger: Logger;
  /** Demo mode lets anonymous visitors read (viewer); otherwise every /api route needs a token. */
  readonly demo: boolean;
  readonly readiness: () => readonly ReadinessCheck[];
  readonly forwarders?: Forwarders;
  /** Per-caller request limits (default DEFAULT_RATE_LIMITS). */
  readonly rateLimits?: RateLimits;
  /** HTTPS certificate and key (from `http.tls`); plain HTTP without. */
  readonly tls?: TlsMaterial;
  /** Browser origins allowed to call the API (`http.cors.origins`); none by default. */
  readonly corsOrigins?: readonly string[];
  /** Time of audit rows written by API commands (default Date.now). */
  readonly clock?: () => number;
  /** Threat management (issue 12): occupancy, evacuations, visitors, response times. */
  readonly threat?: ThreatManagement;
  /** The built web console (default `<repo>/dist/console`). */
  readonly consoleDir?: string;
  /**
   * Served behind the HTTP front (front/): the only client is the front's thread on a private
   * socket, so X-Forwarded-For is the caller's address, and reads are rate limited there.
   */
  readonly behindFront?: boolean;
}

/** A request body larger than this is refused (413), unless its route allows more (site import). */
const BODY_LIMIT_BYTES = 64 * 1024;

/** A read starts once devices have been quiet this long (a badge's work is done by then)… */
const READ_YIELD_QUIET_MS = 2;
/** …or once it has waited this long: people at a console do not notice 50 ms. */
const READ_YIELD_MAX_MS = 50;

/** Requests that start their work in one event-loop turn; the rest wait a turn. */
export const API_REQUESTS_PER_TURN = 2;

const statusCodes: Partial<Record<ErrorCode, number>> = {
  GP_ERR_BAD_REQUEST: 400,
  GP_ERR_UNAUTHORIZED: 401,
  GP_ERR_FORBIDDEN: 403,
  GP_ERR_NOT_FOUND: 404,
  GP_ERR_CONFLICT: 409,
  GP_ERR_TOO_MANY_ATTEMPTS: 429,
  GP_ERR_RATE_LIMITED: 429,
  GP_ERR_NOT_READY: 503,
};

declare module 'fastify' {
  interface FastifyInstance {
    /** Every route's auth rule, as registered. */
    routeRules: RouteRule[];
    /** Helmet's headers as every answer carries them (the HTTP front sets them on its own answers). */
    securityHeaders: ReadonlyArray<readonly [string, string]>;
    /** The largest body each route takes: the front refuses a larger one before passing it on. */
    bodyLimits: BodyLimits;
  }
}

/** Builds the HTTP API without listening, so tests drive it with inject() or a real port. */
export async function buildApp(deps: ApiDeps): Promise<FastifyInstance> {
  const app = Fastify({
    // Behind the front, TLS ends on the front's thread; the private socket carries plain HTTP.
    ...(deps.tls === undefined || deps.behindFront === true ? {} : { https: { cert: deps.tls.cert, key: deps.tls.key } }),
    loggerInstance: deps.logger.child({ module: 'api' }) as FastifyBaseLogger,
    logController: new LogController({ disableRequestLogging: true }),
    // No pino child per request: requests are not logged, and the API logs its errors itself.
    childLoggerFactory: (logger) => logger,
    bodyLimit: BODY_LIMIT_BYTES,
    trustProxy: deps.behindFront === true,
    // Unknown fields are an error, not something to drop silently; every problem is reported.
    ajv: { customOptions: { removeAdditional: false, allErrors: true } },
    schemaErrorFormatter: formatValidationErrors,
    // Errors the router raises before any route runs (a malformed URL, a path parameter over
    // fastify's length limit) answer in the catalogue's shape like every other error.
    frameworkErrors: (error, request, reply) => {
      const statusCode: 400 | 414 = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : 400;
      const message = error.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 'a path parameter is too long' : `malformed URL ${JSON.stringify(request.url.slice(0, 100))}`;
      void (reply as FastifyReply).code(statusCode).send({ statusCode, code: 'GP_ERR_BAD_REQUEST', error: httpReason(statusCode), message });
    },
  });

  // Errors always answer {statusCode, code, error, message}.
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const [statusCode, code] = isGuardpostError(error)
      ? [statusCodes[error.code] ?? 500, error.code]
      : error.validation !== undefined
        ? [400, 'GP_ERR_BAD_REQUEST']
        : [error.statusCode ?? 500, error.statusCode !== undefined && error.statusCode < 500 ? 'GP_ERR_BAD_REQUEST' : 'GP_ERR_INTERNAL'];
    if (statusCode >= 500) deps.logger.error({ err: error }, 'API request failed');
    const retryAfter = (error as { retryAfterSeconds?: number }).retryAfterSeconds;
    if (retryAfter !== undefined) void reply.header('retry-after', String(retryAfter));
    const message = statusCode >= 500 && !isGuardpostError(error) ? 'internal error' : error.message;
    const problems = isGuardpostError(error) && error.details.length > 0 ? { problems: error.details } : {};
    return reply.status(statusCode).send({ statusCode, code, error: httpReason(statusCode), message, ...problems });
  });
  app.setNotFoundHandler((request, reply) =>
    reply.status(404).send({ statusCode: 404, code: 'GP_ERR_NOT_FOUND', error: 'Not Found', message: `no route ${request.method} ${request.url.split('?')[0]}` }),
  );

  // Site files are YAML: accept them as they are.
  app.addContentTypeParser(['application/yaml', 'text/yaml'], { parseAs: 'string' }, (_request, body, done) => {
    try {
      done(null, parseYaml(body as string));
    } catch (error) {
      done(Object.assign(new Error(`body is not valid YAML: ${(error as Error).message.split('\n')[0]}`), { statusCode: 400 }), undefined);
    }
  });
  app.addContentTypeParser('text/csv', { parseAs: 'string' }, (_request, body, done) => done(null, body));
  // First hook of all: the API's share of each event-loop turn, so badges are not queued behind
  // a flood of requests (loopShare.ts; 2 measured best on the 2-core box, see design notes).
  // Reads also wait (at most READ_YIELD_MAX_MS) while devices are talking [API-YIELD].
  registerLoopShare(app, API_REQUESTS_PER_TURN, { lastSignalAtMs: () => deps.runtime.lastSignalAtMs ?? Number.NEGATIVE_INFINITY, quietMs: READ_YIELD_QUIET_MS, maxWaitMs: READ_YIELD_MAX_MS });
  // Helmet's default headers, computed once (see securityHeaders.ts).
  app.decorate('securityHeaders', await registerSecurityHeaders(app));
  const bodyLimits: BodyLimits = { defaultBytes: BODY_LIMIT_BYTES, routes: [] };
  app.decorate('bodyLimits', bodyLimits);
  app.addHook('onRoute', (route) => {
    if (route.bodyLimit !== undefined) for (const method of [route.method].flat()) bodyLimits.routes.push({ method, url: route.url, bytes: route.bodyLimit });
  });
  if (deps.corsOrigins !== undefined && deps.corsOrigins.length > 0) {
    // Only the listed origins; no cookies are used (bearer tokens), so no credentials mode.
    await app.register(cors, { origin: [...deps.corsOrigins], methods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'], exposedHeaders: ['x-total-count', 'link', 'retry-after', 'x-next-cursor'], maxAge: 600 });
  }
  // OpenAPI from the routes' TypeBox schemas: JSON at /docs/json, a browsable page at /docs.
  await app.register(swagger, {
    openapi: {
      info: { title: 'guardpost API', version: '1', description: 'Every /api route needs a bearer token (a session from /api/v1/auth/login or an API token), except in demo mode for reads.' },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true });
  app.decorate('routeRules', registerAuth(app, deps.auth, deps.demo));
  registerRateLimits(app, deps.rateLimits ?? DEFAULT_RATE_LIMITS, undefined, { readsLimitedByFront: deps.behindFront === true });

  registerHealthRoutes(app, deps);
  registerAuthRoutes(app, deps);
  registerUserRoutes(app, deps);
  registerAuditRoutes(app, deps);
  registerSiteDataRoutes(app, deps);
  registerCredentialRoutes(app, deps);
  registerWatchListRoutes(app, deps);
  registerPassbackRoutes(app, deps);
  registerSiteImportRoutes(app, deps);
  registerEventRoutes(app, deps);
  registerEventStreamRoutes(app, deps);
  registerDoorCommandRoutes(app, deps);
  registerAlarmRoutes(app, deps);
  registerThreatLevelRoutes(app, deps);
  if (deps.forwarders !== undefined) registerForwarderRoutes(app, deps.forwarders, deps);
  registerExportRoutes(app, deps);
  registerIncidentReportRoutes(app, deps);
  if (deps.threat !== undefined) registerOccupancyRoutes(app, deps.threat, deps);
  if (deps.threat !== undefined) registerVisitorRoutes(app, deps.threat, deps);
  if (deps.threat !== undefined) registerReportRoutes(app, { journal: deps.journal, threat: deps.threat, clock: deps.threat.clock });
  await registerConsole(app, deps.consoleDir);
  return app;
}

interface AjvError {
  readonly instancePath: string;
  readonly keyword: string;
  readonly message?: string;
  readonly params: Record<string, unknown>;
}

/** `body.role: must be equal to one of the allowed values`, one clause per problem, naming the field. */
function formatValidationErrors(errors: readonly AjvError[], dataVar: string): Error {
  const lines = errors.map((error) => {
    const path = `${dataVar}${error.instancePath.replace(/\//g, '.')}`;
    if (error.keyword === 'additionalProperties') return `${path}.${String(error.params.additionalProperty)}: unknown field`;
    if (error.keyword === 'required') return `${path}.${String(error.params.missingProperty)}: required`;
    return `${path}: ${error.message ?? error.keyword}`;
  });
  return new Error([...new Set(lines)].join('; '));
}

function httpReason(statusCode: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    401: 'Unauthorized',
    403: 'Forbidden',
    404: 'Not Found',
    409: 'Conflict',
    413: 'Payload Too Large',
    414: 'URI Too Long',
    415: 'Unsupported Media Type',
    429: 'Too Many Requests',
    503: 'Service Unavailable',
  };
  return reasons[statusCode] ?? (statusCode >= 500 ? 'Internal Server Error' : 'Error');
}
