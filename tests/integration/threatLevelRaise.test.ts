import { afterEach, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

describe('raising the threat level through the API', () => {
  let gw: TestGateway | undefined;
  afterEach(async () => {
    await gw?.stop();
    gw = undefined;
  });

  it('raises the level for a system that may only raise it, and never lowers it', async () => {
    gw = await startTestGateway();
    const headers = { ...(await gw.adminHeaders()), 'content-type': 'application/json' };
    const raise = async (level: string): Promise<{ status: number; body: { level: string; changed: boolean } }> => {
      const response = await fetch(`${gw!.httpUrl}/api/v1/threat-level/raise`, { method: 'POST', headers, body: JSON.stringify({ level, reason: 'call monitoring flagged a caller' }) });
      return { status: response.status, body: (await response.json()) as { level: string; changed: boolean } };
    };
    expect(await raise('elevated')).toMatchObject({ status: 200, body: { level: 'elevated', changed: true } });
    expect(await raise('lockdown')).toMatchObject({ status: 200, body: { level: 'lockdown', changed: true } });
    // Asking for a lower level is no way to lower it.
    expect(await raise('elevated')).toMatchObject({ status: 200, body: { level: 'lockdown', changed: false } });
    expect(await raise('no-such-level')).toMatchObject({ status: 400 });
    const changes = gw.gateway.journal.query({ limit: 10, type: 'threat.changed' });
    expect(changes.map((event) => event.reason).sort()).toEqual(['elevated', 'lockdown']);
  });
});
