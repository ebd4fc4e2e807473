import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';

export interface ReadinessCheck {
  readonly name: string;
  readonly ready: boolean;
  readonly detail?: string;
  /** Structured detail, e.g. a forwarder's lag and last error. */
  readonly data?: unknown;
}

export function registerHealthRoutes(app: FastifyInstance, deps: ApiDeps): void {
  // Liveness: the process answers. Readiness: the parts a door depends on are up.
  app.get('/healthz', async () => ({ status: 'ok' }));

  app.get('/readyz', async (_request, reply) => {
    const checks = deps.readiness();
    const ready = checks.every((check) => check.ready);
    return reply.status(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not_ready', checks });
  });

  app.get('/metrics', { config: { auth: 'viewer' } }, async (_request, reply) => reply.type('text/plain; version=0.0.4').send(deps.metrics.render()));
}
