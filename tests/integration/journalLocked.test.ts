import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { checkDatabaseLock } from '../../src/ops/doctor.js';
import { DATABASE_FILE, openDatabase } from '../../src/store/db.js';
import { connect, connectDevice, startTestGateway, tempDir, type TestClient, type TestGateway } from '../support/gateway.js';
import { WebhookReceiver } from '../support/webhookReceiver.js';

/**
 * [JRN-LOCKED] Another process (guardpost import in one long transaction, a sqlite3 shell) holds
 * the database's write lock while the gateway runs: doors keep working, and every event is
 * journalled and forwarded, in order, once the lock goes.
 */

const running: { stop(): Promise<void> }[] = [];
const clients: TestClient[] = [];
const foreigners: Database.Database[] = [];
afterEach(async () => {
  for (const db of foreigners.splice(0)) {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
  await Promise.all(clients.splice(0).map((client) => client.end()));
  for (const item of running.splice(0).reverse()) await item.stop();
});

const input = (device: string): string => `guardpost/devices/${device}/input`;
const card = (number: string): string => JSON.stringify({ type: 'card', card: number });

async function setup(): Promise<{ tg: TestGateway; hook: WebhookReceiver; observer: TestClient; reader: TestClient; strike: TestClient; otherReader: TestClient }> {
  const hook = new WebhookReceiver();
  await hook.start();
  running.push(hook);
  const tg = await startTestGateway({
    configYaml: ['demo: true', 'forwarders:', '  - id: incidents', '    kind: webhook', `    url: ${hook.url}`, '    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw', '    batchSize: 1', '    initialBackoffMs: 20', '    maxBackoffMs: 200'].join('\n'),
  });
  running.push(tg);
  const observer = await connect(tg.mqttUrl);
  expect(await observer.subscribe('guardpost/events')).toBe(1);
  const [reader, strike, otherReader] = await Promise.all([
    connectDevice(tg.mqttUrl, 'main-entrance-reader'),
    connectDevice(tg.mqttUrl, 'main-entrance-strike'),
    connectDevice(tg.mqttUrl, 'server-room-reader'),
  ]);
  clients.push(observer, reader, strike, otherReader);
  return { tg, hook, observer, reader, strike, otherReader };
}

/** A second real connection to the gateway's database, as `guardpost import` or a sqlite3 shell has. */
function foreignWriter(tg: TestGateway): { hold: () => void; release: () => void } {
  const db = new Database(path.join(tg.stateDir, DATABASE_FILE));
  foreigners.push(db);
  return { hold: () => void db.exec('BEGIN IMMEDIATE'), release: () => void db.exec('COMMIT') };
}

/** Everything settled: the forwarder has delivered (and saved its cursor for) every event so far. */
async function quiet(tg: TestGateway): Promise<void> {
  await tg.gateway.forwarders.caughtUp('incidents');
}

const eventsOnTopic = (observer: TestClient, after: number): JournalEvent[] =>
  observer.received.slice(after).filter((message) => message.topic === 'guardpost/events').map((message) => message.json as unknown as JournalEvent);

describe('the gateway while another process holds the database\'s write lock [JRN-LOCKED]', () => {
  it('opens the door at once, answers other readers meanwhile, and journals and forwards the grant in order once the lock goes', async () => {
    const { tg, hook, observer, reader, strike, otherReader } = await setup();
    const { gateway } = tg;

    const beforeMark = observer.mark();
    await reader.publish(input('main-entrance-reader'), card('1001'));
    const before = await observer.nextEvent((event) => event.type === 'access.granted', beforeMark);
    await hook.untilAccepted([before.id]);
    await quiet(tg);

    const foreign = foreignWriter(tg);
    foreign.hold();
    const lockedMark = observer.mark();
    const strikeMark = strike.mark();
    const ledMark = reader.mark();
    await reader.publish(input('main-entrance-reader'), card('1001'));
    // The strike leaves at once, and the reader shows green: the decision never waits for the disk.
    expect((await strike.next((message) => message.json.type === 'strike', strikeMark)).json).toEqual({ type: 'strike', action: 'pulse', durationMs: 5000 });
    expect((await reader.next((message) => message.json.type === 'led', ledMark)).json).toMatchObject({ color: 'green' });

    // The event loop is not frozen behind SQLite's busy wait: another reader's badge is answered
    // (a refusal at the server room) and the API answers, both while the lock is still held.
    const otherMark = otherReader.mark();
    await otherReader.publish(input('server-room-reader'), card('1001'));
    expect((await otherReader.next((message) => message.json.type === 'led', otherMark)).json).toMatchObject({ color: 'red' });
    const ready = await fetch(`${tg.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    const journalCheck = ((await ready.json()) as { checks: { name: string; ready: boolean; detail: string; data: { pending: number } }[] }).checks.find((check) => check.name === 'journal');
    expect(journalCheck?.ready).toBe(true);
    expect(journalCheck?.data.pending).toBeGreaterThanOrEqual(2);
    expect(journalCheck?.detail).toMatch(/^\d+ events waiting in memory for the database \(locked by another process/);

    // Nothing is journalled or told while the lock is held; the gauge counts what waits.
    expect(gateway.journal.query({ afterSeq: before.seq, limit: 100 })).toEqual([]);
    expect(eventsOnTopic(observer, lockedMark).filter((event) => event.type.startsWith('access.'))).toEqual([]);
    const pendingWhileLocked = gateway.metrics.read('guardpost_journal_pending_events');
    expect(pendingWhileLocked).toBeGreaterThanOrEqual(2);
    expect(gateway.metrics.get('guardpost_journal_busy_total')).toBeGreaterThanOrEqual(1);

    foreign.release();
    const granted = await observer.nextEvent((event) => event.type === 'access.granted', lockedMark);
    const denied = await observer.nextEvent((event) => event.type === 'access.denied' && event.device === 'server-room-reader', lockedMark);
    expect(granted).toMatchObject({ door: 'main-entrance', cardholder: 'alice-adams', reason: 'granted' });
    expect(granted.seq).toBeGreaterThan(before.seq);
    expect(denied.seq).toBeGreaterThan(granted.seq);

    const afterMark = observer.mark();
    await reader.publish(input('main-entrance-reader'), card('1001'));
    const after = await observer.nextEvent((event) => event.type === 'access.granted', afterMark);
    await hook.untilAccepted([granted.id, denied.id, after.id]);

    // In the journal, on the events topic and at the incident system: the same events, in seq order, each once.
    const journalled = gateway.journal.query({ afterSeq: before.seq - 1, limit: 1_000 });
    const ids = journalled.map((event) => event.id);
    expect(ids.indexOf(before.id)).toBeLessThan(ids.indexOf(granted.id));
    expect(ids.indexOf(granted.id)).toBeLessThan(ids.indexOf(denied.id));
    expect(ids.indexOf(denied.id)).toBeLessThan(ids.indexOf(after.id));
    const onTopic = eventsOnTopic(observer, beforeMark);
    expect(onTopic.map((event) => event.seq)).toEqual(journalled.map((event) => event.seq));
    const forwarded = hook.accepted().map((event) => event.data.seq).filter((seq) => seq >= before.seq);
    expect(forwarded).toEqual(journalled.map((event) => event.seq));
    expect(gateway.metrics.read('guardpost_journal_pending_events')).toBe(0);
    expect(tg.logs.some((line) => line.includes('the database is locked by another process'))).toBe(true);
    expect(tg.logs.some((line) => /the database is free again: \d+ events that waited/.test(line))).toBe(true);
  });

  it('says at stop how many events it could not write when the lock is still held', async () => {
    const { tg, observer, reader, strike } = await setup();
    const beforeMark = observer.mark();
    await reader.publish(input('main-entrance-reader'), card('1001'));
    await observer.nextEvent((event) => event.type === 'access.granted', beforeMark);
    await quiet(tg);

    const foreign = foreignWriter(tg);
    foreign.hold();
    const strikeMark = strike.mark();
    await reader.publish(input('main-entrance-reader'), card('1001'));
    await strike.next((message) => message.json.type === 'strike', strikeMark);
    expect(tg.gateway.journal.backlogStatus().pending).toBeGreaterThanOrEqual(1);

    await Promise.all(clients.splice(0).map((client) => client.end()));
    await tg.stop();
    running.splice(running.indexOf(tg), 1);
    const report = tg.logs.map((line) => JSON.parse(line) as { level: number; msg: string; unwritten?: number; types?: Record<string, number> }).find((line) => /journal events were NOT written at stop/.test(line.msg));
    expect(report?.level).toBeGreaterThanOrEqual(50);
    // The grant and system.stopped at least (and the device.offline events of the readers that left).
    expect(report?.unwritten).toBeGreaterThanOrEqual(2);
    expect(report?.types).toMatchObject({ 'access.granted': 1, 'system.stopped': 1 });
    expect(report?.msg).toMatch(/the database stayed locked by another process/);
  });
});

describe('a panic alarm while another process holds the write lock [SAFE-LOCKED]', () => {
  it('raises the alarm at once on MQTT, keeps opening doors, and saves and journals the alarm in order once the lock goes', async () => {
    const { tg, reader, strike, observer } = await setup();
    const panic = await connectDevice(tg.mqttUrl, 'reception-panic');
    clients.push(panic);
    expect(await observer.subscribe('guardpost/alarms/+')).toBe(1);
    await quiet(tg);
    const foreign = foreignWriter(tg);
    foreign.hold();
    const alarmMark = observer.mark();
    const strikeMark = strike.mark();
    await panic.publish(input('reception-panic'), JSON.stringify({ type: 'button', state: 'pressed' }));
    // Security staff see the alarm while the database is still locked.
    const raised = await observer.next((message) => message.topic.startsWith('guardpost/alarms/') && message.json.kind === 'panic', alarmMark);
    expect(raised.json).toMatchObject({ kind: 'panic', state: 'raised', source: { device: 'reception-panic' } });
    const alarmId = raised.topic.split('/').at(-1)!;
    await reader.publish(input('main-entrance-reader'), card('1001'));
    expect((await strike.next((message) => message.json.type === 'strike', strikeMark)).json).toMatchObject({ type: 'strike', action: 'pulse' });
    expect(tg.gateway.store.safety.getAlarm(alarmId)).toBeUndefined();
    expect(tg.logs.some((line) => line.includes('alarm: another process holds the database\'s write lock; in force now, saved when the lock goes'))).toBe(true);

    const saved = new Promise<void>((resolve) => {
      const check = () => (tg.gateway.store.safety.getAlarm(alarmId) !== undefined && tg.gateway.journal.backlogStatus().pending === 0 ? resolve() : setImmediate(check));
      tg.gateway.journal.onAppend((event) => event.type === 'access.granted' && setImmediate(check));
    });
    foreign.release();
    await saved;
    expect(JSON.parse(tg.gateway.store.safety.getAlarm(alarmId)!.record)).toMatchObject({ id: alarmId, state: 'raised' });
    const events = tg.gateway.journal.query({ afterSeq: 0, limit: 1_000 }).filter((event) => event.type === 'alarm.raised' || event.type === 'access.granted');
    expect(events.map((event) => event.type).slice(-2)).toEqual(['alarm.raised', 'access.granted']);
    expect(events.at(-2)!.data).toMatchObject({ alarm: alarmId });
  }, 30_000);
});

describe('guardpost doctor and a database another process holds [JRN-LOCKED]', () => {
  it('warns that the write lock is held, says what it means for a running gateway and how to find the holder', () => {
    const dir = tempDir();
    openDatabase(dir).close();
    const file = path.join(dir, DATABASE_FILE);
    expect(checkDatabaseLock(file)).toEqual({ status: 'ok', name: 'database lock', detail: 'no other process holds the write lock' });
    const holder = new Database(file);
    foreigners.push(holder);
    holder.exec('BEGIN IMMEDIATE');
    const check = checkDatabaseLock(file);
    expect(check?.status).toBe('warn');
    expect(check?.detail).toMatch(/another process has held .*guardpost\.db's write lock .* keeps its events in memory .* fuser -v /);
    holder.exec('COMMIT');
    expect(checkDatabaseLock(file)?.status).toBe('ok');
    expect(checkDatabaseLock(path.join(dir, 'none.db'))).toBeNull();
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
