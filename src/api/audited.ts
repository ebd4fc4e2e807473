import type { FastifyRequest } from 'fastify';
import { actorOf } from '../auth/service.js';
import type { ApiDeps } from './app.js';

/**
 * Runs an API command and writes its audit row in the same transaction [SAFE-AUDIT]: should the
 * command fail, neither its journal events nor the audit row are kept. The transaction is the
 * journal's durable one, so an alarm-class event inside it is still fsynced on commit.
 * `after` is what the row records as the outcome (never secrets).
 */
export function audited<T>(deps: Pick<ApiDeps, 'journal' | 'store' | 'clock'>, request: FastifyRequest, action: string, target: string | null, change: () => T, after?: (result: T) => unknown): T {
  return deps.journal.durableTransaction(() => {
    const result = change();
    const principal = request.principal ?? { kind: 'anonymous' as const, id: 'anonymous', role: 'viewer' as const };
    deps.store.audit.record({ ...actorOf(principal, request.ip), action, target, after: after === undefined ? (request.body ?? null) : after(result) }, (deps.clock ?? Date.now)());
    return result;
  });
}
