import type { FastifyInstance } from 'fastify';

/** Reads wait while devices are talking ([API-YIELD]): how long, and how to tell. */
export interface ReadYield {
  /** When the last device signal (a badge, a button) was handled, in `now()`'s milliseconds. */
  readonly lastSignalAtMs: () => number;
  /** A read starts once no signal came for this long… */
  readonly quietMs: number;
  /** …or once it has waited this long, so a steady stream of signals never starves the API. */
  readonly maxWaitMs: number;
  /** Monotonic milliseconds (default performance.now). */
  readonly now?: () => number;
}

/**
 * Bounds the API's share of each event-loop turn: the gateway's one thread also decides badges,
 * and a flood of API requests read in one poll phase would otherwise all run before the MQTT
 * packet that arrived among them. At most `perTurn` requests start their work per turn; the rest
 * wait a turn (setImmediate), behind whatever the broker queued meanwhile. Requests are never
 * refused, only spread over turns.
 *
 * [API-YIELD] With `yieldTo`, a read (GET, HEAD) that arrives while devices are talking also
 * waits until they have been quiet for `quietMs` (at most `maxWaitMs`): a badge's journal write
 * invalidates the hot answers the HTTP front keeps, and their recomputation (half a millisecond)
 * would otherwise sit in front of the next badge. Writes (door commands, acknowledgements) never
 * wait.
 */
export function registerLoopShare(app: FastifyInstance, perTurn: number, yieldTo?: ReadYield): void {
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
  const now = yieldTo?.now ?? (() => performance.now());
  const afterQuiet = (arrivedMs: number, resume: () => void): void => {
    const nowMs = now();
    const quietForMs = nowMs - yieldTo!.lastSignalAtMs();
    const waitedMs = nowMs - arrivedMs;
    if (!(quietForMs < yieldTo!.quietMs) || waitedMs >= yieldTo!.maxWaitMs) return admit(resume);
    setTimeout(afterQuiet, Math.max(1, Math.min(yieldTo!.quietMs - quietForMs, yieldTo!.maxWaitMs - waitedMs)), arrivedMs, resume);
  };
  app.addHook('onRequest', (request, _reply, done) => {
    if (yieldTo !== undefined && (request.method === 'GET' || request.method === 'HEAD')) afterQuiet(now(), () => done());
    else admit(() => done());
  });
}
