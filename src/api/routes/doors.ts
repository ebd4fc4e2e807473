import type { FastifyInstance } from 'fastify';
import type { ApiDeps } from '../app.js';

export function registerDoorRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get('/api/v1/doors', { config: { auth: 'viewer' } }, async () => {
    const { runtime } = deps;
    return [...runtime.site.doors.values()].map((door) => ({
      id: door.id,
      name: door.name,
      mode: door.mode,
      unlockMs: door.unlockMs,
      reader: door.readerDeviceId === null ? null : { id: door.readerDeviceId, availability: runtime.deviceAvailability(door.readerDeviceId) },
      strike: door.strikeDeviceId === null ? null : { id: door.strikeDeviceId, availability: runtime.deviceAvailability(door.strikeDeviceId) },
    }));
  });
}
