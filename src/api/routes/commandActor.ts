import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../doors/actor.js';

/**
 * Who sent an API command, for the journal [SAFE-AUDIT]: the authenticated user or API token
 * (`token:<id>`), with the remote address; anonymous only in demo mode.
 */
export function apiActor(request: FastifyRequest): Actor {
  const principal = request.principal;
  if (principal === null || principal.kind === 'anonymous') return { via: 'api', by: null, address: request.ip };
  return { via: 'api', by: principal.kind === 'token' ? `token:${principal.id}` : principal.id, address: request.ip };
}
