import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CameraTriggers, triggerOf } from '../../../src/alarms/cameras.js';
import type { EventInput, JournalEvent } from '../../../src/journal/index.js';
import type { Journal } from '../../../src/journal/index.js';
import { createLogger } from '../../../src/logger.js';
import type { CameraRecord } from '../../../src/store/index.js';

interface Seen {
  method: string;
  url: string;
  authorization: string | undefined;
  body: string;
}

/** A real local HTTP server standing in for cameras; `status` decides its answers in turn. */
let server: http.Server;
let base = '';
const seen: Seen[] = [];
let statuses: number[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, body });
      res.writeHead(statuses.shift() ?? 200).end('OK');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

function event(partial: Partial<JournalEvent> & Pick<JournalEvent, 'type'>): JournalEvent {
  return { id: 'e1', seq: 1, time: '2026-01-01T00:00:00.000Z', severity: 'high', site: 'demo', door: null, device: null, cardholder: null, reason: null, data: {}, ...partial };
}

function camera(partial: Partial<CameraRecord> & Pick<CameraRecord, 'id' | 'kind'>): CameraRecord {
  return { label: 'guardpost', port: 1, method: 'POST', durationS: 30, doors: [], zones: [], on: ['panic', 'duress', 'forced'], ...partial };
}

function triggers() {
  const journalled: EventInput[] = [];
  const journal = { append: (input: EventInput) => journalled.push(input) } as unknown as Journal;
  const commands: unknown[] = [];
  const service = new CameraTriggers({
    journal,
    logger: createLogger('silent'),
    command: (deviceId, command, onSent) => {
      commands.push({ deviceId, command });
      onSent?.();
    },
    zonesOfDoor: (door) => (door === 'main-entrance' ? ['ground-floor'] : []),
    retryDelayMs: 1,
    timeoutMs: 1_000,
  });
  return { service, journalled, commands };
}

describe('camera triggers', () => {
  it('knows which events trigger cameras and why', () => {
    expect(triggerOf(event({ type: 'alarm.raised', data: { kind: 'panic', alarm: 'a1', zone: 'z' } }))).toMatchObject({ reason: 'panic', alarm: 'a1', zone: 'z' });
    expect(triggerOf(event({ type: 'alarm.raised', data: { kind: 'duress' } }))).toMatchObject({ reason: 'duress' });
    expect(triggerOf(event({ type: 'alarm.raised', door: 'lobby', data: { kind: 'tamper', alarm: 'a2' } }))).toMatchObject({ reason: 'tamper', door: 'lobby', alarm: 'a2' });
    expect(triggerOf(event({ type: 'door.forced', door: 'd' }))).toMatchObject({ reason: 'forced', door: 'd' });
    expect(triggerOf(event({ type: 'door.held', door: 'd' }))).toMatchObject({ reason: 'held' });
    expect(triggerOf(event({ type: 'access.denied', data: { watchlist: true } }))).toMatchObject({ reason: 'watchlist' });
    expect(triggerOf(event({ type: 'access.watchlist', door: 'front' }))).toMatchObject({ reason: 'watchlist', door: 'front' });
    expect(triggerOf(event({ type: 'access.granted' }))).toBeUndefined();
  });

  it('activates an Axis virtual input with the credentials written in its URL sent as a header', async () => {
    const { service, journalled } = triggers();
    seen.length = 0;
    const url = base.replace('http://', 'http://root:pa%3Ass@');
    await service.fire(camera({ id: 'lobby-axis', kind: 'axis', url, port: 3 }), triggerOf(event({ type: 'door.forced', door: 'main-entrance' }))!);
    expect(seen).toEqual([{ method: 'GET', url: '/axis-cgi/virtualinput/activate.cgi?schemaversion=1&port=3', authorization: `Basic ${Buffer.from('root:pa:ss').toString('base64')}`, body: '' }]);
    expect(journalled).toEqual([expect.objectContaining({ type: 'camera.triggered', door: 'main-entrance', reason: 'forced', data: expect.objectContaining({ camera: 'lobby-axis', attempts: 1, status: 200 }) })]);
  });

  it('sends a generic HTTP request with what happened and where', async () => {
    const { service } = triggers();
    seen.length = 0;
    await service.fire(camera({ id: 'vms', kind: 'http', url: `${base}/hooks/guardpost`, method: 'PUT' }), triggerOf(event({ type: 'alarm.raised', door: null, data: { kind: 'panic', alarm: 'a9', zone: 'ground-floor', drill: true } }))!);
    expect(seen[0]).toMatchObject({ method: 'PUT', url: '/hooks/guardpost' });
    expect(JSON.parse(seen[0]!.body)).toEqual({ reason: 'panic', door: null, zone: 'ground-floor', alarm: 'a9', drill: true, event: 'e1', time: '2026-01-01T00:00:00.000Z', durationS: 30 });
  });

  it('gives up after three attempts and journals camera.failed with the last error', async () => {
    const { service, journalled } = triggers();
    seen.length = 0;
    statuses = [500, 500, 500];
    await service.fire(camera({ id: 'nvr', kind: 'frigate', url: base }), triggerOf(event({ type: 'alarm.raised', data: { kind: 'panic' } }))!);
    expect(seen).toHaveLength(3);
    expect(journalled).toEqual([expect.objectContaining({ type: 'camera.failed', data: expect.objectContaining({ camera: 'nvr', attempts: 3, error: 'frigate answered 500 Internal Server Error' }) })]);
  });

  it('journals camera.failed when the camera cannot be reached at all', async () => {
    const { service, journalled } = triggers();
    await service.fire(camera({ id: 'gone', kind: 'http', url: 'http://127.0.0.1:1/x' }), triggerOf(event({ type: 'door.forced', door: 'x' }))!);
    expect(journalled).toEqual([expect.objectContaining({ type: 'camera.failed', data: expect.objectContaining({ attempts: 3 }) })]);
  });

  it('fires only cameras bound to the door or its zone, and only for the events they are set for', async () => {
    const { service, commands } = triggers();
    service.load([
      camera({ id: 'door-cam', kind: 'mqtt', device: 'door-cam', doors: ['main-entrance'] }),
      camera({ id: 'zone-cam', kind: 'mqtt', device: 'zone-cam', zones: ['ground-floor'], on: ['held'] }),
      camera({ id: 'elsewhere', kind: 'mqtt', device: 'elsewhere', doors: ['server-room'] }),
    ]);
    service.onEvent(event({ type: 'door.forced', door: 'main-entrance' }));
    service.onEvent(event({ type: 'door.held', door: 'main-entrance' }));
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(commands).toEqual([
      { deviceId: 'door-cam', command: { type: 'camera', action: 'trigger', reason: 'forced' } },
      { deviceId: 'zone-cam', command: { type: 'camera', action: 'trigger', reason: 'held' } },
    ]);
  });
});

describe('an Axis camera that asks for Digest authentication', () => {
  it('answers the challenge and activates the virtual input', async () => {
    const md5 = (text: string): string => createHash('md5').update(text).digest('hex');
    const authorizations: (string | undefined)[] = [];
    const axis = http.createServer((req, res) => {
      authorizations.push(req.headers.authorization);
      const header = req.headers.authorization ?? '';
      const fields = new Map([...header.matchAll(/(\w+)="?([^",]*)"?/g)].map((m) => [m[1]!, m[2]!]));
      const expected = md5(`${md5('root:AXIS_ACCC8E:p@ss')}:n0nce:${fields.get('nc')}:${fields.get('cnonce')}:auth:${md5(`GET:${req.url}`)}`);
      if (header.startsWith('Digest ') && fields.get('response') === expected && fields.get('uri') === req.url) {
        res.writeHead(200).end('OK');
        return;
      }
      res.writeHead(401, { 'www-authenticate': 'Digest realm="AXIS_ACCC8E", nonce="n0nce", algorithm=MD5, qop="auth"' }).end();
    });
    await new Promise<void>((resolve) => axis.listen(0, '127.0.0.1', resolve));
    try {
      const { service, journalled } = triggers();
      const url = `http://root:p%40ss@127.0.0.1:${(axis.address() as AddressInfo).port}`;
      await service.fire(camera({ id: 'door-axis', kind: 'axis', url, port: 2 }), triggerOf(event({ type: 'door.forced', door: 'main-entrance' }))!);
      expect(authorizations).toHaveLength(2);
      expect(authorizations[0]).toMatch(/^Basic /);
      expect(authorizations[1]).toMatch(/^Digest username="root", realm="AXIS_ACCC8E", nonce="n0nce", uri="\/axis-cgi\/virtualinput\/activate.cgi\?schemaversion=1&port=2"/);
      expect(journalled).toEqual([expect.objectContaining({ type: 'camera.triggered', data: expect.objectContaining({ camera: 'door-axis', attempts: 1, status: 200 }) })]);
    } finally {
      await new Promise<void>((resolve) => axis.close(() => resolve()));
    }
  });
});
