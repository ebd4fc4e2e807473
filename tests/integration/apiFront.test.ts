import fs from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { seedUser, startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * The HTTP front [API-FRONT]: the API's sockets and hot answers on their own thread, in front of
 * fastify on the gateway's thread. These tests look at what a caller sees through it.
 */
describe('the HTTP front', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('tells the API the caller’s real address, whatever X-Forwarded-For the caller sent', async () => {
    gw = await startTestGateway({ configYaml: 'demo: false' });
    const refused = await fetch(`${gw.httpUrl}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '10.9.9.9' },
      body: JSON.stringify({ user: 'admin', password: 'not-the-password-1' }),
    });
    expect(refused.status).toBe(401);
    const [failed] = gw.gateway.journal.query({ limit: 1, type: 'auth.login_failed' });
    expect((failed!.data as { address: string }).address).toMatch(/^(::ffff:)?127\.0\.0\.1$/);
  });

  it('limits reads per caller even when the front answers them all from what it keeps', async () => {
    gw = await startTestGateway({ configYaml: ['demo: false', 'http:', '  rateLimits:', '    readPerMinute: 5'].join('\n') });
    await seedUser(gw.stateDir, 'vera', 'viewer', 'vera-password-1234');
    const admin = await gw.adminHeaders();
    const doors = (headers: Record<string, string>): Promise<Response> => fetch(`${gw!.httpUrl}/api/v1/doors`, { headers });
    const asked = gw.gateway.app.doorsCache.hits + gw.gateway.app.doorsCache.misses;
    for (let i = 0; i < 5; i++) expect((await doors(admin)).status).toBe(200);
    // One answer computed; the other four came from the front.
    expect(gw.gateway.app.doorsCache.hits + gw.gateway.app.doorsCache.misses).toBe(asked + 1);
    const refused = await doors(admin);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(refused.headers.get('x-content-type-options')).toBe('nosniff');
    expect(await refused.json()).toEqual({ statusCode: 429, code: 'GP_ERR_RATE_LIMITED', error: 'Too Many Requests', message: expect.stringMatching(/^more than 5 read requests a minute from this caller; retry in \d+ s$/) });
    // Another caller has a budget of its own.
    const vera = { authorization: `Bearer ${await gw.login('vera', 'vera-password-1234')}` };
    expect((await doors(vera)).status).toBe(200);
  });

  it('refuses a logged-out session at once, though the front kept an answer for it', async () => {
    gw = await startTestGateway({ configYaml: 'demo: false' });
    const admin = await gw.adminHeaders();
    expect((await fetch(`${gw.httpUrl}/api/v1/events?limit=2`, { headers: admin })).status).toBe(200);
    expect((await fetch(`${gw.httpUrl}/api/v1/events?limit=2`, { headers: admin })).status).toBe(200);
    expect((await fetch(`${gw.httpUrl}/api/v1/auth/logout`, { method: 'POST', headers: admin })).status).toBeLessThan(300);
    const after = await fetch(`${gw.httpUrl}/api/v1/events?limit=2`, { headers: admin });
    expect(after.status).toBe(401);
    expect(await after.json()).toMatchObject({ code: 'GP_ERR_UNAUTHORIZED' });
  });

  it('answers 503 in the error catalogue’s shape when the API behind it is not answering', async () => {
    gw = await startTestGateway({ configYaml: 'demo: false' });
    await gw.gateway.app.close();
    const answer = await fetch(`${gw.httpUrl}/api/v1/doors`);
    expect(answer.status).toBe(503);
    expect(await answer.json()).toMatchObject({ statusCode: 503, code: 'GP_ERR_NOT_READY', error: 'Service Unavailable', message: expect.stringContaining('the API is not answering') });
    expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('runs on its own thread at a lower CPU priority than the gateway’s, so badges win the CPU under a flood', async () => {
    gw = await startTestGateway();
    // This process is the gateway (tests run it in-process): its threads and their nice values.
    const nicenessOf = (stat: string): number => Number(stat.split(') ')[1]!.split(' ')[16]);
    const own = nicenessOf(fs.readFileSync('/proc/self/stat', 'utf8'));
    const threads = fs.readdirSync('/proc/self/task').map((tid) => nicenessOf(fs.readFileSync(`/proc/self/task/${tid}/stat`, 'utf8')));
    expect(threads).toContain(Math.min(19, own + 10));
  });

  it('starts its thread again on the same port when it dies, and counts it', async () => {
    gw = await startTestGateway({ configYaml: 'demo: false' });
    const admin = await gw.adminHeaders();
    const thread = gw.gateway.front.thread!;
    const restarted = new Promise<void>((resolve) => {
      const check = (): void => {
        if (gw!.gateway.front.thread !== thread) resolve();
        else setImmediate(check);
      };
      thread.once('exit', check);
    });
    await thread.terminate();
    await restarted;
    await gw.gateway.front.ready();
    expect((await fetch(`${gw.httpUrl}/api/v1/doors`, { headers: admin })).status).toBe(200);
    expect(gw.gateway.metrics.get('guardpost_api_front_restarts_total')).toBe(1);
  });

  it('keeps the API’s private socket in a directory only the gateway’s user may enter, and removes it at stop', async () => {
    gw = await startTestGateway();
    const address = gw.gateway.app.server.address();
    expect(typeof address).toBe('string');
    const socketDir = (address as string).replace(/\/api\.sock$/, '');
    expect(fs.statSync(socketDir).mode & 0o777).toBe(0o700);
    await gw.stop();
    gw = undefined;
    expect(fs.existsSync(socketDir)).toBe(false);
  });
});
