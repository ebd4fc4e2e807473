import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { connect, connectDevice, demoSiteFile, startTestGateway, tempDir, type TestClient, type TestGateway } from '../support/gateway.js';

const input = (device: string): string => `guardpost/devices/${device}/input`;
const pressed = JSON.stringify({ type: 'button', state: 'pressed' });

interface ReceivedRequest {
  readonly method: string;
  readonly url: string;
  readonly body: unknown;
}

/** A real local HTTP server standing in for a Frigate NVR; answers 200 unless told to fail. */
async function startNvr(): Promise<{ url: string; requests: ReceivedRequest[]; next: () => Promise<ReceivedRequest>; failNext: (count: number) => void; close: () => Promise<void> }> {
  const requests: ReceivedRequest[] = [];
  let waiters: ((request: ReceivedRequest) => void)[] = [];
  let failures = 0;
  const server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      const received = { method: req.method ?? '', url: req.url ?? '', body: body === '' ? null : (JSON.parse(body) as unknown) };
      requests.push(received);
      if (failures > 0) {
        failures -= 1;
        res.writeHead(503).end('busy');
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ success: true, event_id: '1.0-abc' }));
      const pending = waiters;
      waiters = [];
      for (const waiter of pending) waiter(received);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    next: () => new Promise((resolve) => waiters.push(resolve)),
    failNext: (count) => (failures = count),
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** The demo site with a Frigate camera on the reception zone, a quick escalation chain and a supervised panic button. */
function alarmSite(nvrUrl: string, options: { supervisionMs?: number; escalation?: { to: string; afterMs: number }[] } = {}): string {
  const site = YAML.parse(fs.readFileSync(demoSiteFile, 'utf8')) as Record<string, unknown[] | Record<string, unknown>>;
  (site.cameras as unknown[]).push({ id: 'reception-frigate', kind: 'frigate', url: nvrUrl, camera: 'reception', label: 'panic', durationS: 60, zones: ['ground-floor'], on: ['panic', 'forced'] });
  site.alarms = { escalation: options.escalation ?? [{ to: 'floor-supervisor', afterMs: 60_000 }] };
  if (options.supervisionMs !== undefined) {
    const panic = (site.devices as Record<string, unknown>[]).find((device) => device.id === 'reception-panic')!;
    panic.supervisionMs = options.supervisionMs;
  }
  return YAML.stringify(site);
}

async function api(gw: TestGateway, method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(`${gw.httpUrl}${path}`, { method, headers: { ...(await gw.adminHeaders()), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

describe('panic alarms through the broker, the API and a real NVR', () => {
  let nvr: Awaited<ReturnType<typeof startNvr>>;
  let gw: TestGateway;
  let observer: TestClient;
  let panic: TestClient;
  let camera: TestClient;

  beforeAll(async () => {
    nvr = await startNvr();
    gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: alarmSite(nvr.url) });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    await observer.subscribe('guardpost/alarms/#');
    panic = await connectDevice(gw.mqttUrl, 'reception-panic');
    camera = await connectDevice(gw.mqttUrl, 'reception-camera');
  });

  afterAll(async () => {
    await Promise.all([observer, panic, camera].map((client) => client?.end()));
    await gw?.stop();
    await nvr?.close();
  });

  it('[SAFE-PANIC] raises an alarm at a press, fires the cameras, then is acknowledged and cleared with who and why', async () => {
    const mark = observer.mark();
    const frigate = nvr.next();
    await panic.publish(input('reception-panic'), pressed);
    const raised = await observer.nextEvent((event) => event.type === 'alarm.raised', mark);
    expect(raised).toMatchObject({ severity: 'critical', device: 'reception-panic', reason: 'panic', data: { kind: 'panic', zone: 'ground-floor', location: 'Reception desk', priority: 2, drill: false, via: 'button', by: 'reception-panic' } });
    const alarmId = raised.data.alarm as string;
    expect(alarmId).toMatch(/^[a-z0-9-]+$/);

    // The Frigate NVR received its event, with the zone as sub-label since a panic has no door.
    expect(await frigate).toEqual({ method: 'POST', url: '/api/events/reception/panic/create', body: { sub_label: 'ground-floor', duration: 60, include_recording: true, draw: {} } });
    // The MQTT camera bound to the zone got its trigger command.
    expect((await camera.next((m) => m.json.type === 'camera')).json).toEqual({ type: 'camera', action: 'trigger', reason: 'panic' });
    const triggered = await observer.nextEvent((event) => event.type === 'camera.triggered' && event.data.camera === 'reception-frigate', mark);
    expect(triggered).toMatchObject({ reason: 'panic', data: { alarm: alarmId, kind: 'frigate', attempts: 1, status: 200 } });

    const retained = await observer.next((m) => m.topic === `guardpost/alarms/${alarmId}`, mark);
    expect(retained.json).toMatchObject({ id: alarmId, state: 'raised', kind: 'panic' });

    // A second press adds to the open alarm.
    await panic.publish(input('reception-panic'), pressed);
    expect(await observer.nextEvent((event) => event.type === 'alarm.repeated', mark)).toMatchObject({ data: { alarm: alarmId, presses: 2 } });

    const cleared = await api(gw, 'POST', `/api/v1/alarms/${alarmId}/clear`, { resolution: 'too early' });
    expect(cleared).toMatchObject({ status: 409, json: { code: 'GP_ERR_CONFLICT', message: `alarm ${alarmId} must be acknowledged before it is cleared` } });

    const ack = await api(gw, 'POST', `/api/v1/alarms/${alarmId}/acknowledge`, { note: 'guard on the way' });
    expect(ack).toMatchObject({ status: 200, json: { state: 'acknowledged', acknowledged: { via: 'api', note: 'guard on the way' } } });
    expect(await observer.nextEvent((event) => event.type === 'alarm.acknowledged', mark)).toMatchObject({ data: { alarm: alarmId, note: 'guard on the way', via: 'api', address: '127.0.0.1' } });

    const done = await api(gw, 'POST', `/api/v1/alarms/${alarmId}/clear`, { resolution: 'caller escorted out' });
    expect(done).toMatchObject({ status: 200, json: { state: 'cleared', cleared: { note: 'caller escorted out' } } });
    expect(await observer.nextEvent((event) => event.type === 'alarm.cleared', mark)).toMatchObject({ data: { alarm: alarmId, resolution: 'caller escorted out' } });
    // Retained only while open: the clear removes it.
    expect((await observer.next((m) => m.topic === `guardpost/alarms/${alarmId}` && m.json.raw === '', mark)).json).toEqual({ raw: '' });
    expect((await api(gw, 'GET', '/api/v1/alarms')).json).toEqual([]);
  });

  it('retries a camera that answers with an error and journals the trigger once it takes', async () => {
    nvr.failNext(1);
    const mark = observer.mark();
    const before = nvr.requests.length;
    const { json } = await api(gw, 'POST', '/api/v1/alarms', { location: 'Desk 14', zone: 'ground-floor', silent: true });
    const triggered = await observer.nextEvent((event) => event.type === 'camera.triggered' && event.data.camera === 'reception-frigate', mark);
    expect(triggered).toMatchObject({ data: { alarm: json.id, attempts: 2 } });
    expect(nvr.requests.length - before).toBe(2);
    await api(gw, 'POST', `/api/v1/alarms/${String(json.id)}/acknowledge`, {});
    await api(gw, 'POST', `/api/v1/alarms/${String(json.id)}/clear`, { resolution: 'test' });
  });

  it('marks alarms raised during a drill as drill, end to end', async () => {
    expect((await api(gw, 'POST', '/api/v1/drills', { durationMs: 600_000 })).status).toBe(201);
    const mark = observer.mark();
    await panic.publish(input('reception-panic'), pressed);
    const raised = await observer.nextEvent((event) => event.type === 'alarm.raised', mark);
    expect(raised.data).toMatchObject({ drill: true });
    expect(await observer.nextEvent((event) => event.type === 'camera.triggered', mark)).toMatchObject({ data: { drill: true } });
    expect((await api(gw, 'DELETE', '/api/v1/drills/current')).json).toEqual({ running: false });
    const id = String(raised.data.alarm);
    await api(gw, 'POST', `/api/v1/alarms/${id}/acknowledge`, {});
    await api(gw, 'POST', `/api/v1/alarms/${id}/clear`, { resolution: 'drill over' });
  });

  it('answers 404 for an unknown alarm and 400 for a clear without a resolution', async () => {
    expect(await api(gw, 'POST', '/api/v1/alarms/nope/acknowledge', {})).toMatchObject({ status: 404, json: { code: 'GP_ERR_NOT_FOUND', message: 'no alarm "nope"' } });
    expect((await api(gw, 'POST', '/api/v1/alarms/nope/clear', {})).json).toMatchObject({ statusCode: 400, code: 'GP_ERR_BAD_REQUEST' });
  });
});

describe('alarms nobody answers, restarts and silent devices', () => {
  it('escalates an unacknowledged alarm up the chain, keeps it over a restart and goes on escalating', async () => {
    const nvr = await startNvr();
    const stateDir = tempDir();
    const siteYaml = alarmSite(nvr.url, { escalation: [{ to: 'floor-supervisor', afterMs: 1_000 }, { to: 'security-manager', afterMs: 1_500 }] });
    let gw = await startTestGateway({ stateDir, configYaml: 'demo: true', siteYaml });
    let observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    const panic = await connectDevice(gw.mqttUrl, 'reception-panic');
    await panic.publish(input('reception-panic'), pressed);
    const raised = await observer.nextEvent((event) => event.type === 'alarm.raised');
    const alarmId = String(raised.data.alarm);
    const first = await observer.nextEvent((event) => event.type === 'alarm.escalated');
    expect(first).toMatchObject({ severity: 'critical', data: { alarm: alarmId, level: 1, to: 'floor-supervisor', priority: 1 } });
    await Promise.all([observer.end(), panic.end()]);
    await gw.stop();

    // [SAFE-ALARM-DURABLE] the alarm is still open after a restart and escalates to the next step.
    gw = await startTestGateway({ stateDir, configYaml: 'demo: true', siteYaml });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    await observer.subscribe('guardpost/alarms/#');
    expect((await observer.next((m) => m.topic === `guardpost/alarms/${alarmId}`)).json).toMatchObject({ state: 'raised', escalations: 1 });
    const second = await observer.nextEvent((event) => event.type === 'alarm.escalated');
    expect(second).toMatchObject({ data: { alarm: alarmId, level: 2, to: 'security-manager' } });
    const open = (await api(gw, 'GET', '/api/v1/alarms')).json as unknown as { id: string }[];
    expect(open.map((alarm) => alarm.id)).toEqual([alarmId]);
    await observer.end();
    await gw.stop();
    await nvr.close();
  });

  it('[SAFE-SUPERVISION] raises device.trouble when a panic button misses its heartbeat, and clears it when it is heard again', async () => {
    const nvr = await startNvr();
    const gw = await startTestGateway({ configYaml: 'demo: true', siteYaml: alarmSite(nvr.url, { supervisionMs: 1_000 }) });
    const observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    const panic = await connectDevice(gw.mqttUrl, 'reception-panic');
    await panic.publish(input('reception-panic'), JSON.stringify({ type: 'heartbeat' }));
    const trouble = await observer.nextEvent((event) => event.type === 'device.trouble');
    expect(trouble).toMatchObject({ device: 'reception-panic', severity: 'high', data: { cause: 'silent', supervisionMs: 1_000 } });
    const mark = observer.mark();
    await panic.publish(input('reception-panic'), JSON.stringify({ type: 'heartbeat' }));
    expect(await observer.nextEvent((event) => event.type === 'device.trouble_cleared', mark)).toMatchObject({ device: 'reception-panic' });
    await Promise.all([observer.end(), panic.end()]);
    await gw.stop();
    await nvr.close();
  });
});
