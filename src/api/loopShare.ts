import type { FastifyInstance } from 'fastify';

/**
 * Bounds the API's share of each event-loop turn: the gateway's one thread also decides badges,
 * and a flood of API requests read in one poll phase would otherwise all run before the MQTT
 * packet that arrived among them. At most `perTurn` requests start their work per turn; the rest
 * wait a turn (setImmediate), behind whatever the broker queued meanwhile. Requests are never
 * refused, only spread over turns.
 */
export function registerLoopShare(app: FastifyInstance, perTurn: number): void {
  let started = 0;
  let resetQueued = false;
  const reset = (): void => {
    started = 0;
    resetQueued = false;
  };
  const admit = (resume: () => void): void => {
    if (!resetQueued) {
      resetQueued = true;
      setImmediate(reset);
    }
    if (started < perTurn) {
      started += 1;
      resume();
    } else setImmediate(admit, resume);
  };
  app.addHook('onRequest', (_request, _reply, done) => admit(() => done()));
}
