import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectDevice, startTestGateway, type TestGateway } from '../support/gateway.js';

describe('the HTTP API in demo mode', () => {
  let gw: TestGateway;

  beforeAll(async () => {
    gw = await startTestGateway();
  });
  afterAll(async () => {
    await gw?.stop();
  });

  it('answers liveness and readiness as JSON', async () => {
    const health = await fetch(`${gw.httpUrl}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const ready = await fetch(`${gw.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toMatchObject({ status: 'ready', checks: [{ name: 'mqtt', ready: true }, { name: 'store', ready: true }, { name: 'journal', ready: true, detail: 'every event written' }] });
  });

  it('lists the demo doors with their reader and strike and whether each is online', async () => {
    const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    // The availability event is journalled once the gateway has seen it.
    const seenOnline = new Promise<void>((resolve) => {
      const off = gw.gateway.journal.onAppend((event) => {
        if (event.type === 'device.online') {
          off();
          resolve();
        }
      });
    });
    await reader.publish('guardpost/devices/main-entrance-reader/availability', 'online');
    await seenOnline;
    const response = await fetch(`${gw.httpUrl}/api/v1/doors`);
    expect(response.status).toBe(200);
    const doors = (await response.json()) as { id: string }[];
    expect(doors.map((door) => door.id)).toEqual(['main-entrance', 'server-room']);
    expect(doors[0]).toMatchObject({
      name: 'Main entrance',
      mode: 'card',
      unlockMs: 5000,
      reader: 'main-entrance-reader',
      strike: 'main-entrance-strike',
      status: { reader: 'online', strike: 'unknown' },
    });
    await reader.end();
  });

  it('returns events newest first with a limit, and oldest first after a sequence number', async () => {
    const newest = (await (await fetch(`${gw.httpUrl}/api/v1/events?limit=2`)).json()) as { seq: number }[];
    expect(newest.length).toBeLessThanOrEqual(2);
    expect(newest[0]!.seq).toBeGreaterThan(newest[1]?.seq ?? 0);
    const forward = (await (await fetch(`${gw.httpUrl}/api/v1/events?after=0&limit=1`)).json()) as { seq: number; type: string }[];
    expect(forward[0]).toMatchObject({ seq: 1, type: 'system.started' });
  });

  it('answers a bad query with a clear 400 error naming the parameter', async () => {
    const response = await fetch(`${gw.httpUrl}/api/v1/events?limit=abc`);
    expect(response.status).toBe(400);
    const body = (await response.json()) as { code: string; message: string };
    expect(body).toMatchObject({ statusCode: 400, code: 'GP_ERR_BAD_REQUEST', error: 'Bad Request' });
    expect(body.message).toContain('limit');
  });

  it('answers an unknown route with a 404 in the same error shape', async () => {
    const response = await fetch(`${gw.httpUrl}/api/v1/nothing-here`);
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ statusCode: 404, code: 'GP_ERR_NOT_FOUND' });
  });
});

describe('the HTTP API outside demo mode', () => {
  it('refuses anonymous requests to the API but still answers health checks', async () => {
    const gw = await startTestGateway({ configYaml: 'demo: false' });
    try {
      const response = await fetch(`${gw.httpUrl}/api/v1/events`);
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'GP_ERR_UNAUTHORIZED' });
      expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
    } finally {
      await gw.stop();
    }
  });
});
