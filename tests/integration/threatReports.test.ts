import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/** Response-time KPIs through the API, CSV and Prometheus, on a gateway with a fake clock. */

const START = Date.parse('2026-03-02T09:15:00Z');

describe('response-time reports', () => {
  let gw: TestGateway;
  let nowMs = START;

  beforeAll(async () => {
    gw = await startTestGateway({ configYaml: 'demo: false', clock: () => nowMs });
  });
  afterAll(() => gw.stop());

  async function api(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${gw.httpUrl}${path}`, { method, headers: { ...(await gw.adminHeaders()), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  }

  it('reports time to acknowledge and clear with who did it, as JSON, CSV and Prometheus series', async () => {
    const raised = (await (await api('POST', '/api/v1/alarms', { location: 'desk 12' })).json()) as { id: string };
    nowMs += 45_000;
    expect((await api('POST', `/api/v1/alarms/${raised.id}/acknowledge`, { note: 'coming' })).status).toBe(200);
    nowMs += 255_000;
    expect((await api('POST', `/api/v1/alarms/${raised.id}/clear`, { resolution: 'caller calmed down' })).status).toBe(200);

    const range = `from=${new Date(START - 60_000).toISOString()}&to=${new Date(START + 3_600_000).toISOString()}`;
    const json = (await (await api('GET', `/api/v1/reports/response-times?${range}`)).json()) as { alarms: Record<string, unknown>[]; real: { total: unknown; byHour: Record<string, unknown> } };
    expect(json.alarms).toEqual([expect.objectContaining({ alarm: raised.id, kind: 'panic', acknowledgedBy: 'admin', acknowledgeSeconds: 45, clearedBy: 'admin', clearSeconds: 300, drill: false })]);
    expect(json.real.total).toMatchObject({ count: 1, acknowledgeSeconds: { median: 45, p90: 45 } });
    expect(Object.keys(json.real.byHour)).toEqual(['09']);

    const csv = await api('GET', `/api/v1/reports/response-times?${range}&format=csv`);
    expect(csv.headers.get('content-type')).toContain('text/csv');
    const lines = (await csv.text()).trim().split('\r\n');
    expect(lines[0]).toBe('alarm,kind,drill,door,zone,device,raisedAt,acknowledgedAt,acknowledgedBy,acknowledgeSeconds,clearedAt,clearedBy,clearSeconds,escalations,hour,period');
    expect(lines[1]).toContain(`${raised.id},panic,false,`);
    expect(lines[1]).toContain(',admin,45,');

    const metrics = await (await api('GET', '/metrics')).text();
    expect(metrics).toContain('guardpost_alarm_acknowledge_seconds_bucket{kind="panic",drill="false",le="60"} 1');
    expect(metrics).toContain('guardpost_alarm_clear_seconds_sum{kind="panic",drill="false"} 300');
    expect(metrics).not.toContain('guardpost_alarm_acknowledge_seconds_bucket{kind="panic",drill="false",le="30"}');
  });

  it('refuses a range that ends before it starts, naming the parameter', async () => {
    const response = await api('GET', `/api/v1/reports/response-times?from=${new Date(START).toISOString()}&to=${new Date(START - 1000).toISOString()}`);
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toBe('querystring.from: must be before to');
  });
});
