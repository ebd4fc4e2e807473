import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
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
});
