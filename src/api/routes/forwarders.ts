import type { FastifyInstance } from 'fastify';
import { GuardpostError } from '../../errors.js';
import type { Forwarders } from '../../forwarders/index.js';

/** Delivery to the incident system, per destination: lag in events and seconds, last error, last success. */
export function registerForwarderRoutes(app: FastifyInstance, forwarders: Forwarders): void {
  app.get('/api/v1/forwarders', { config: { auth: 'viewer' } }, async () => forwarders.statuses());

  app.get<{ Params: { id: string } }>('/api/v1/forwarders/:id', { config: { auth: 'viewer' } }, async (request) => {
    const status = forwarders.status(request.params.id);
    if (status === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no forwarder ${request.params.id.slice(0, 64)} in the config`);
    return status;
  });
}
