import { afterEach, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

let tg: TestGateway | undefined;
afterEach(async () => {
  await tg?.stop();
  tg = undefined;
});

/** A clock the test moves by hand, so time ranges are exact. */
function manualClock(startMs: number): { now: () => number; advance: (ms: number) => void } {
  let current = startMs;
  return { now: () => current, advance: (ms) => void (current += ms) };
}

const START = Date.parse('2026-03-02T08:00:00.000Z');

async function gatewayWithHistory(): Promise<{ tg: TestGateway; events: JournalEvent[] }> {
  const clock = manualClock(START);
  tg = await startTestGateway({ clock: clock.now });
  const journal = tg.gateway.journal;
  const events: JournalEvent[] = [];
  const add = (input: Parameters<typeof journal.append>[0]): void => {
    clock.advance(60_000);
    events.push(journal.append(input));
  };
  add({ type: 'access.granted', door: 'main-entrance', device: 'main-entrance-reader', cardholder: 'alice-adams', reason: 'granted' });
  add({ type: 'access.denied', door: 'server-room', device: 'server-room-reader', cardholder: 'bob-brown', reason: 'outside_schedule', data: { note: '=HYPERLINK("http://evil")', quote: 'he said "no", twice' } });
  add({ type: 'alarm.raised', device: 'reception-panic', reason: 'panic', data: { alarm: 'alarm-1' } });
  add({ type: 'access.granted', door: 'main-entrance', cardholder: 'alice-adams', reason: 'granted' });
  add({ type: 'alarm.acknowledged', data: { alarm: 'alarm-1', by: 'guard-1' } });
  return { tg, events };
}

describe('journal queries and exports', () => {
  it('finds events by cardholder and by alarm through the API', async () => {
    const { tg, events } = await gatewayWithHistory();
    const byCardholder = (await (await fetch(`${tg.httpUrl}/api/v1/events?cardholder=alice-adams`)).json()) as JournalEvent[];
    expect(byCardholder.map((e) => e.seq)).toEqual([events[3]?.seq, events[0]?.seq]);
    const byAlarm = (await (await fetch(`${tg.httpUrl}/api/v1/events?alarm=alarm-1&after=0`)).json()) as JournalEvent[];
    expect(byAlarm.map((e) => e.type)).toEqual(['alarm.raised', 'alarm.acknowledged']);
  });

  it('exports a time range as CSV that a spreadsheet opens safely', async () => {
    const { tg, events } = await gatewayWithHistory();
    const since = new Date(START + 90_000).toISOString();
    const until = new Date(START + 4 * 60_000 + 1).toISOString();
    const response = await fetch(`${tg.httpUrl}/api/v1/events/export?format=csv&since=${since}&until=${until}`, { headers: await tg.adminHeaders() });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/csv; charset=utf-8');
    expect(response.headers.get('content-disposition')).toMatch(/^attachment; filename="guardpost-events-.*\.csv"$/);
    const lines = (await response.text()).split('\r\n');
    expect(lines[0]).toBe('seq,id,time,type,severity,site,door,device,cardholder,reason,data');
    expect(lines.slice(1, -1).map((line) => Number(line.split(',')[0]))).toEqual([events[1]?.seq, events[2]?.seq, events[3]?.seq]);
    expect(lines[1]).toBe(
      `${events[1]?.seq},${events[1]?.id},2026-03-02T08:02:00.000Z,access.denied,low,demo,server-room,server-room-reader,bob-brown,outside_schedule,"{""note"":""=HYPERLINK(\\""http://evil\\"")"",""quote"":""he said \\""no\\"", twice""}"`,
    );
    expect(lines.at(-1)).toBe('');
  });

  it('prefixes a cell that would run as a spreadsheet formula', async () => {
    const { csvCell } = await import('../../src/api/routes/exports.js');
    expect(csvCell('=1+1')).toBe("'=1+1");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvCell('-2')).toBe("'-2");
    expect(csvCell('a,b')).toBe('"a,b"');
    expect(csvCell(null)).toBe('');
  });

  it('exports JSON with exactly the events the filters select, oldest first', async () => {
    const { tg } = await gatewayWithHistory();
    const response = await fetch(`${tg.httpUrl}/api/v1/events/export?format=json&type=alarm`, { headers: await tg.adminHeaders() });
    expect(response.headers.get('content-type')).toBe('application/json; charset=utf-8');
    const exported = (await response.json()) as JournalEvent[];
    expect(exported).toEqual(tg.gateway.journal.query({ type: 'alarm', afterSeq: 0, limit: 100 }));
    expect(exported.map((e) => e.type)).toEqual(['alarm.raised', 'alarm.acknowledged']);
  });

  it('answers a bad export request with a clear 400', async () => {
    const { tg } = await gatewayWithHistory();
    const response = await fetch(`${tg.httpUrl}/api/v1/events/export?format=xls`, { headers: await tg.adminHeaders() });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ code: 'GP_ERR_BAD_REQUEST', message: expect.stringContaining('format') });
  });
});
