import { createHash } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventInput, JournalEvent } from '../../src/journal/index.js';
import type { IncidentReport } from '../../src/journal/incidentReport.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let tg: TestGateway | undefined;
afterEach(async () => {
  await tg?.stop();
  tg = undefined;
});

const MINUTE = 60_000;
const START = Date.parse('2026-05-04T22:00:00.000Z');

/** The night of an incident, minute by minute, on a hand-moved clock. */
async function night(): Promise<{ tg: TestGateway; at: Record<string, JournalEvent> }> {
  let nowMs = START;
  tg = await startTestGateway({ clock: () => nowMs });
  const journal = tg.gateway.journal;
  const at: Record<string, JournalEvent> = {};
  const add = (name: string, minute: number, input: EventInput): void => {
    nowMs = START + minute * MINUTE;
    at[name] = journal.append(input);
  };
  add('tooEarly', 0, { type: 'access.granted', door: 'main-entrance', cardholder: 'alice-adams' });
  add('before', 50, { type: 'access.denied', door: 'main-entrance', cardholder: 'bob-brown', reason: '<script>alert(1)</script>' });
  add('elsewhere', 55, { type: 'access.granted', door: 'server-room', cardholder: 'alice-adams' });
  add('raised', 60, { type: 'alarm.raised', door: 'main-entrance', device: 'reception-panic', reason: 'panic', data: { alarm: 'alarm-42', zone: 'lobby' } });
  add('camera', 60, { type: 'camera.triggered' as EventInput['type'], severity: 'info', device: 'lobby-camera', data: { alarm: 'alarm-42', reason: 'panic' } });
  add('zoneEvent', 61, { type: 'device.offline', device: 'lobby-sensor', data: { zone: 'lobby' } });
  add('escalated', 65, { type: 'alarm.escalated', data: { alarm: 'alarm-42', level: 2 } });
  add('acknowledged', 66, { type: 'alarm.acknowledged', data: { alarm: 'alarm-42', by: 'guard-1' } });
  add('during', 70, { type: 'access.granted', door: 'main-entrance', cardholder: 'carol-clark' });
  add('cleared', 80, { type: 'alarm.cleared', data: { alarm: 'alarm-42', by: 'supervisor-2' } });
  add('after', 90, { type: 'access.granted', door: 'main-entrance', cardholder: 'dave-davis' });
  add('tooLate', 200, { type: 'access.granted', door: 'main-entrance', cardholder: 'dave-davis' });
  return { tg, at };
}

describe('incident report', () => {
  it('lists the alarm lifecycle, who acknowledged and cleared it, camera triggers and every event at its doors and zone in the window', async () => {
    const { tg, at } = await night();
    const response = await fetch(`${tg.httpUrl}/api/v1/alarms/alarm-42/report?minutes=15`, { headers: await tg.adminHeaders() });
    expect(response.status).toBe(200);
    const report = (await response.json()) as IncidentReport;
    const seqs = (events: readonly JournalEvent[]): number[] => events.map((event) => event.seq);
    expect(report).toMatchObject({
      alarm: 'alarm-42',
      site: 'demo',
      windowMinutes: 15,
      window: { from: '2026-05-04T22:45:00.000Z', until: '2026-05-04T23:35:00.000Z' },
      raisedAt: at.raised?.time,
      acknowledgedAt: at.acknowledged?.time,
      acknowledgedBy: 'guard-1',
      clearedAt: at.cleared?.time,
      clearedBy: 'supervisor-2',
      escalations: 1,
      doors: ['main-entrance'],
      devices: ['reception-panic'],
      zone: 'lobby',
      truncated: false,
    });
    expect(seqs(report.lifecycle)).toEqual(seqs([at.raised!, at.escalated!, at.acknowledged!, at.cleared!]));
    // The demo's cameras react to the alarm too: the report lists those triggers beside the one appended here.
    expect(seqs(report.cameraTriggers)).toContain(at.camera?.seq);
    expect(report.cameraTriggers.every((event) => event.type.startsWith('camera.'))).toBe(true);
    expect(seqs(report.around)).toEqual(seqs([at.before!, at.zoneEvent!, at.during!, at.after!]));
    expect(report.sha256).toBe(createHash('sha256').update(JSON.stringify({ lifecycle: report.lifecycle, cameraTriggers: report.cameraTriggers, around: report.around })).digest('hex'));
  });

  it('prints as a self-contained HTML page with everything escaped', async () => {
    const { tg } = await night();
    const response = await fetch(`${tg.httpUrl}/api/v1/alarms/alarm-42/report?format=html&minutes=15`, { headers: await tg.adminHeaders() });
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const html = await response.text();
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<title>Incident report: alarm alarm-42</title>');
    expect(html).toContain('2026-05-04T23:06:00.000Z by guard-1');
    expect(html).toContain('2026-05-04T23:20:00.000Z by supervisor-2');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).not.toContain('<script');
    expect(html).toContain('@media print');
    expect(html).toMatch(/SHA-256 of the listed events: <code>[0-9a-f]{64}<\/code>/);
  });

  it('answers 404 for an alarm the journal does not know, and 400 for a bad window', async () => {
    const { tg } = await night();
    const missing = await fetch(`${tg.httpUrl}/api/v1/alarms/alarm-0/report`, { headers: await tg.adminHeaders() });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'GP_ERR_NOT_FOUND', message: 'no alarm alarm-0 in the journal' });
    const bad = await fetch(`${tg.httpUrl}/api/v1/alarms/alarm-42/report?minutes=-5`, { headers: await tg.adminHeaders() });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ code: 'GP_ERR_BAD_REQUEST', message: expect.stringContaining('minutes') });
  });
});
