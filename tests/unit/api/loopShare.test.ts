import Fastify from 'fastify';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { registerLoopShare } from '../../../src/api/loopShare.js';

describe('the API\'s share of an event-loop turn', () => {
  it('starts at most two requests a turn, runs what was queued meanwhile (a broker write) before the rest, and answers every request', async () => {
    const app = Fastify();
    registerLoopShare(app, 2);
    const order: string[] = [];
    app.get<{ Params: { n: string } }>('/r/:n', (request, reply) => {
      order.push(`request ${request.params.n}`);
      // What aedes does with a strike command: write it from a setImmediate.
      if (request.params.n === '0') setImmediate(() => order.push('strike written'));
      void reply.send({ n: request.params.n });
    });
    await app.ready();
    // Six requests that reach the hook in the same turn, as a burst read in one poll phase does.
    const answers = await new Promise<Promise<{ statusCode: number; body: string }>[]>((resolve) =>
      setImmediate(() => resolve(Array.from({ length: 6 }, (_, n) => app.inject({ method: 'GET', url: `/r/${n}` })))),
    ).then((pending) => Promise.all(pending));
    expect(answers.map((answer) => answer.statusCode)).toEqual([200, 200, 200, 200, 200, 200]);
    expect(answers.map((answer) => JSON.parse(answer.body) as unknown)).toEqual([0, 1, 2, 3, 4, 5].map((n) => ({ n: String(n) })));
    const strike = order.indexOf('strike written');
    expect(strike).toBeGreaterThan(-1);
    expect(order.filter((entry, index) => entry.startsWith('request') && index < strike).length).toBeLessThanOrEqual(2);
    expect(order.filter((entry) => entry.startsWith('request'))).toEqual([0, 1, 2, 3, 4, 5].map((n) => `request ${n}`));
    await app.close();
  });

  describe('reads yield to device traffic [API-YIELD]', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    /** An app whose clock and last device signal the test sets; each answer records when it started. */
    async function appWithSignals(): Promise<{ app: ReturnType<typeof Fastify>; clock: { nowMs: number; signalMs: number }; started: string[] }> {
      vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
      const clock = { nowMs: 1_000, signalMs: Number.NEGATIVE_INFINITY };
      const started: string[] = [];
      const app = Fastify();
      registerLoopShare(app, 2, { lastSignalAtMs: () => clock.signalMs, quietMs: 2, maxWaitMs: 50, now: () => clock.nowMs });
      app.get('/read', (_request, reply) => {
        started.push(`read at ${clock.nowMs}`);
        void reply.send({ ok: true });
      });
      app.post('/command', (_request, reply) => {
        started.push(`command at ${clock.nowMs}`);
        void reply.send({ ok: true });
      });
      await app.ready();
      return { app, clock, started };
    }

    /** Moves the test's clock and fake timers on together. */
    async function advance(clock: { nowMs: number }, ms: number): Promise<void> {
      clock.nowMs += ms;
      await vi.advanceTimersByTimeAsync(ms);
    }

    it('starts a read at once when no device signalled lately', async () => {
      const { app, clock, started } = await appWithSignals();
      clock.signalMs = clock.nowMs - 10;
      expect((await app.inject({ method: 'GET', url: '/read' })).statusCode).toBe(200);
      expect(started).toEqual(['read at 1000']);
      await app.close();
    });

    it('holds a read that arrives just after a badge until devices have been quiet for 2 ms', async () => {
      const { app, clock, started } = await appWithSignals();
      clock.signalMs = clock.nowMs - 0.5;
      const answer = app.inject({ method: 'GET', url: '/read' });
      await advance(clock, 1);
      expect(started).toEqual([]);
      await advance(clock, 1);
      expect((await answer).statusCode).toBe(200);
      expect(started).toEqual(['read at 1002']);
      await app.close();
    });

    it('holds a read at most 50 ms under a steady stream of badges, then answers it', async () => {
      const { app, clock, started } = await appWithSignals();
      clock.signalMs = clock.nowMs;
      const answer = app.inject({ method: 'GET', url: '/read' });
      // A badge every millisecond, for longer than a read may wait.
      for (let step = 0; step < 60 && started.length === 0; step++) {
        clock.signalMs = clock.nowMs;
        await advance(clock, 1);
      }
      expect((await answer).statusCode).toBe(200);
      const startedAtMs = Number(started[0]!.replace('read at ', ''));
      expect(startedAtMs).toBeGreaterThanOrEqual(1_049);
      expect(startedAtMs).toBeLessThanOrEqual(1_051);
      await app.close();
    });

    it('never holds a door command, however busy the devices are', async () => {
      const { app, clock, started } = await appWithSignals();
      clock.signalMs = clock.nowMs;
      expect((await app.inject({ method: 'POST', url: '/command' })).statusCode).toBe(200);
      expect(started).toEqual(['command at 1000']);
      await app.close();
    });
  });
});
