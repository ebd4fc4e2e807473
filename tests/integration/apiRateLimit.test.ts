import { afterEach, describe, expect, it } from 'vitest';
import { seedUser, startTestGateway, type TestGateway } from '../support/gateway.js';

describe('per-caller API rate limits', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('answers 429 with Retry-After once a caller sends more writes in a minute than allowed, and leaves other callers and reads alone', async () => {
    gw = await startTestGateway({ configYaml: ['demo: true', 'http:', '  rateLimits:', '    writePerMinute: 3'].join('\n') });
    await seedUser(gw.stateDir, 'sam', 'security', 'sam-password-1234');
    const admin = await gw.adminHeaders();
    const unlock = (headers: Record<string, string>) => fetch(`${gw!.httpUrl}/api/v1/doors/main-entrance/unlock`, { method: 'POST', headers });
    for (let i = 0; i < 3; i++) expect((await unlock(admin)).status).toBe(200);
    const refused = await unlock(admin);
    expect(refused.status).toBe(429);
    expect(Number(refused.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(await refused.json()).toMatchObject({ statusCode: 429, code: 'GP_ERR_RATE_LIMITED', message: expect.stringContaining('write requests a minute') });
    // Reading is another limit; another guard is another caller.
    expect((await fetch(`${gw.httpUrl}/api/v1/doors`, { headers: admin })).status).toBe(200);
    const sam = { authorization: `Bearer ${await gw.login('sam', 'sam-password-1234')}` };
    expect((await unlock(sam)).status).toBe(200);
  });
});
