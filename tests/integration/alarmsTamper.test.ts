import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGpio } from '../../src/transports/gpioFake.js';
import { startNvr } from '../support/nvr.js';
import { connect, connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';

const TAMPER_PIN = 5;

const site = (nvrUrl: string): string => `
site: { id: tamper-site, name: Tamper test floor, timezone: Europe/London }
devices:
  - { id: lobby-reader, kind: reader, location: Lobby }
  - { id: lobby-strike, kind: strike }
  - { id: comms-cabinet, kind: tamper-switch, driver: gpio-input, pin: ${TAMPER_PIN}, activeLow: true, debounceMs: 5, location: Comms cabinet }
doors:
  - { id: lobby, name: Lobby, reader: lobby-reader, strike: lobby-strike }
zones:
  - { id: ground, name: Ground floor, doors: [lobby] }
cameras:
  - { id: lobby-cam, kind: frigate, url: "${nvrUrl}", camera: lobby, label: tamper, doors: [lobby], on: [tamper] }
  - { id: lobby-panic-cam, kind: frigate, url: "${nvrUrl}", camera: lobby-wide, label: panic, doors: [lobby], on: [panic] }
alarms:
  escalation:
    - { to: floor-supervisor, afterMs: 60000 }
`;

const tamper = (state: 'tampered' | 'normal'): string => JSON.stringify({ type: 'tamper', state });

describe('tamper inputs raise tamper alarms [SAFE-TAMPER]', () => {
  let gw: TestGateway;
  let nvr: Awaited<ReturnType<typeof startNvr>>;
  let gpio: FakeGpio;
  let observer: TestClient;
  let reader: TestClient;

  beforeAll(async () => {
    gpio = new FakeGpio();
    gpio.drive(TAMPER_PIN, 0); // lid on: the switch holds the circuit made (active low)
    nvr = await startNvr();
    gw = await startTestGateway({ gpio, siteYaml: site(nvr.url), configYaml: 'demo: true' });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    await observer.subscribe('guardpost/alarms/#');
    reader = await connectDevice(gw.mqttUrl, 'lobby-reader');
  });

  afterAll(async () => {
    await Promise.all([observer, reader].map((client) => client?.end()));
    await gw?.stop();
    await nvr?.close();
  });

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${gw.httpUrl}${path}`, { method, headers: { ...(await gw.adminHeaders()), ...(body === undefined ? {} : { 'content-type': 'application/json' }) }, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  it('raises a tamper alarm at the reader\'s door once, keeps it open when the tamper is restored, and needs security to acknowledge and clear it', async () => {
    const mark = observer.mark();
    const cameraRequest = nvr.next();
    await reader.publish('guardpost/devices/lobby-reader/input', tamper('tampered'));
    expect(await observer.nextEvent((event) => event.type === 'device.tamper', mark)).toMatchObject({ device: 'lobby-reader', door: 'lobby', severity: 'high', data: { kind: 'reader', location: 'Lobby' } });
    const raised = await observer.nextEvent((event) => event.type === 'alarm.raised', mark);
    expect(raised).toMatchObject({ severity: 'critical', device: 'lobby-reader', door: 'lobby', reason: 'tamper', data: { kind: 'tamper', zone: 'ground', location: 'Lobby', priority: 2, silent: false } });
    const alarmId = raised.data.alarm as string;
    expect((await observer.next((m) => m.topic === `guardpost/alarms/${alarmId}`, mark)).json).toMatchObject({ id: alarmId, kind: 'tamper', state: 'raised' });
    // The camera set for tamper records it; the one set for panic does not fire.
    expect(await cameraRequest).toMatchObject({ method: 'POST', url: '/api/events/lobby/tamper/create', body: { sub_label: 'lobby' } });
    expect(await observer.nextEvent((event) => event.type === 'camera.triggered', mark)).toMatchObject({ data: { camera: 'lobby-cam', cause: raised.id } });
    expect(nvr.requests.map((request) => request.url)).toEqual(['/api/events/lobby/tamper/create']);

    // A reader repeating its status is one tamper, not a flood.
    await reader.publish('guardpost/devices/lobby-reader/input', tamper('tampered'));
    await reader.publish('guardpost/devices/lobby-reader/input', tamper('normal'));
    expect(await observer.nextEvent((event) => event.type === 'device.tamper_restored', mark)).toMatchObject({ device: 'lobby-reader', severity: 'medium' });
    expect(observer.received.slice(mark).filter((m) => m.json.type === 'device.tamper')).toHaveLength(1);
    // Restored is not resolved: the alarm is still open.
    expect((await api('GET', `/api/v1/alarms/${alarmId}`)).json).toMatchObject({ state: 'raised' });

    // Tampered again while the alarm is open: added to it.
    await reader.publish('guardpost/devices/lobby-reader/input', tamper('tampered'));
    expect(await observer.nextEvent((event) => event.type === 'alarm.repeated', mark)).toMatchObject({ data: { alarm: alarmId, presses: 2 } });

    expect((await api('POST', `/api/v1/alarms/${alarmId}/clear`, { resolution: 'nothing' })).status).toBe(409);
    expect((await api('POST', `/api/v1/alarms/${alarmId}/acknowledge`, { note: 'guard on the way' })).status).toBe(200);
    expect((await api('POST', `/api/v1/alarms/${alarmId}/clear`, { resolution: 'cover refitted, reader inspected' })).status).toBe(200);
    expect(await observer.nextEvent((event) => event.type === 'alarm.cleared', mark)).toMatchObject({ reason: 'tamper', data: { alarm: alarmId, resolution: 'cover refitted, reader inspected' } });

    // Once cleared, a reader that reports tamper again raises a new alarm.
    const again = observer.mark();
    await reader.publish('guardpost/devices/lobby-reader/input', tamper('tampered'));
    const second = await observer.nextEvent((event) => event.type === 'alarm.raised', again);
    expect(second.data.alarm).not.toBe(alarmId);
  });

  it('raises a tamper alarm when a GPIO tamper switch opens (the cabinet lid comes off)', async () => {
    const mark = observer.mark();
    gpio.drive(TAMPER_PIN, 1);
    expect(await observer.nextEvent((event) => event.type === 'alarm.raised' && event.device === 'comms-cabinet', mark)).toMatchObject({ reason: 'tamper', door: null, data: { kind: 'tamper', location: 'Comms cabinet' } });
    gpio.drive(TAMPER_PIN, 0);
    expect(await observer.nextEvent((event) => event.type === 'device.tamper_restored', mark)).toMatchObject({ device: 'comms-cabinet' });
  });
});
