import type { FastifyRequest } from 'fastify';
import type { Actor } from '../../doors/actor.js';

/**
 * Who sent an API command, for the journal [SAFE-AUDIT]. The authenticated user once the auth
 * hook (issue 8) sets `request.user`; until then only demo mode reaches commands, and the record
 * keeps the remote address.
 */
export function apiActor(request: FastifyRequest): Actor {
  const user = (request as FastifyRequest & { user?: { id?: string; username?: string } }).user;
  const by = user?.username ?? user?.id ?? null;
  return by === null ? { via: 'api', by: null, address: request.ip } : { via: 'api', by };
}
