import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { LockdownTarget } from '../../doors/lockdown.js';
import { GuardpostError } from '../../errors.js';
import type { ApiDeps } from '../app.js';
import { audited } from '../audited.js';
import { apiActor } from './commandActor.js';

const Params = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64 }) });

/** Commands take an optional body `{ reason }`; a bare POST (curl -X POST) is fine too. */
function reasonOf(body: unknown): string | null {
  if (body === undefined || body === null) return null;
  if (typeof body !== 'object' || Array.isArray(body)) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'body: expected a JSON object such as {"reason": "…"}');
  const { reason, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new GuardpostError('GP_ERR_BAD_REQUEST', `body.${unknown[0]}: unknown key (allowed: reason)`);
  if (reason === undefined) return null;
  if (typeof reason !== 'string' || reason.length === 0 || reason.length > 500) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'body.reason: expected text of 1 to 500 characters');
  return reason;
}

/** Door commands: momentary unlock, lockdown and release per door, zone or site; live door state. */
export function registerDoorCommandRoutes(app: FastifyInstance, deps: ApiDeps): void {
  const { runtime } = deps;
  const door = (id: string): string => {
    if (!runtime.doors.has(id)) throw new GuardpostError('GP_ERR_NOT_FOUND', `no door "${id}"`);
    return id;
  };

  app.get<{ Params: Static<typeof Params> }>('/api/v1/doors/:id/state', { config: { auth: 'viewer' }, schema: { params: Params } }, async (request) => runtime.doors.snapshot(door(request.params.id)));

  app.post<{ Params: Static<typeof Params> }>('/api/v1/doors/:id/unlock', { config: { auth: 'security' }, schema: { params: Params } }, async (request) => {
    const reason = reasonOf(request.body);
    audited(deps, request, 'door.unlock', request.params.id, () => runtime.doors.unlock(door(request.params.id), apiActor(request), reason), () => ({ reason }));
    return runtime.doors.snapshot(request.params.id);
  });

  const lockRoutes = (path: string, target: (id: string) => LockdownTarget): void => {
    const params = path.includes(':id') ? { params: Params } : {};
    app.post<{ Params: Static<typeof Params> }>(path, { config: { auth: 'security' }, schema: params }, async (request, reply) => {
      const reason = reasonOf(request.body);
      const scope = target(request.params?.id ?? '');
      const before = runtime.safety.lockdown.list().length;
      const lockdown = audited(deps, request, 'lockdown.started', request.params?.id ?? 'site', () => runtime.safety.lockdown.lock(scope, apiActor(request), reason), () => ({ scope, reason }));
      // Asking again for a lockdown in force changes nothing: 200 with the one in force.
      const created = runtime.safety.lockdown.list().length > before;
      return reply.status(created ? 201 : 200).send({ lockdown, lockedDownDoors: [...runtime.safety.lockdown.doors()].sort() });
    });
    app.delete<{ Params: Static<typeof Params> }>(path, { config: { auth: 'security' }, schema: params }, async (request) => {
      const scope = target(request.params?.id ?? '');
      const reason = reasonOf(request.body);
      const released = audited(deps, request, 'lockdown.released', request.params?.id ?? 'site', () => runtime.safety.lockdown.release(scope, apiActor(request), reason), (result) => ({ scope, reason, released: result }));
      return { released, lockedDownDoors: [...runtime.safety.lockdown.doors()].sort() };
    });
  };
  lockRoutes('/api/v1/doors/:id/lockdown', (id) => ({ scope: 'door', door: door(id) }));
  lockRoutes('/api/v1/zones/:id/lockdown', (id) => ({ scope: 'zone', zone: id }));
  lockRoutes('/api/v1/lockdown', () => ({ scope: 'site' }));

  app.get('/api/v1/lockdowns', { config: { auth: 'viewer' } }, async () => ({ lockdowns: runtime.safety.lockdown.list(), lockedDownDoors: [...runtime.safety.lockdown.doors()].sort() }));
}
