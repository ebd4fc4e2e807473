import path from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { JOURNAL_BUSY_WAIT_MS, Journal } from '../../../src/journal/journal.js';
import type { JournalEvent } from '../../../src/journal/events.js';
import type { Timers } from '../../../src/doors/timers.js';
import { DATABASE_FILE } from '../../../src/store/db.js';
import { useTempDatabase } from '../../support/tempDatabase.js';

const START = Date.parse('2026-03-02T09:00:00.000Z');
const temp = useTempDatabase();

/** Timers the test fires by hand: the backlog's retries happen exactly when the test says. */
function manualTimers(): { timers: Timers; fire: () => void; scheduled: () => number[] } {
  let due: { callback: () => void; delayMs: number }[] = [];
  return {
    timers: {
      set: (callback, delayMs) => {
        const handle = { callback, delayMs };
        due.push(handle);
        return handle;
      },
      clear: (handle) => {
        due = due.filter((entry) => entry !== handle);
      },
    },
    fire: () => {
      const now = due;
      due = [];
      for (const entry of now) entry.callback();
    },
    scheduled: () => due.map((entry) => entry.delayMs),
  };
}

interface LogEntry {
  readonly level: 'info' | 'warn' | 'error';
  readonly object: Record<string, unknown>;
  readonly message: string;
}

function captureLogger(): { logger: { info: (o: object, m: string) => void; warn: (o: object, m: string) => void; error: (o: object, m: string) => void }; lines: LogEntry[] } {
  const lines: LogEntry[] = [];
  const at = (level: LogEntry['level']) => (object: object, message: string) => void lines.push({ level, object: object as Record<string, unknown>, message });
  return { logger: { info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

/** Another process's connection (guardpost import, a sqlite3 shell) that takes the write lock. */
const foreigners: Database.Database[] = [];
function foreignWriter(): { hold: () => void; release: () => void } {
  const db = new Database(path.join(temp.dir, DATABASE_FILE));
  foreigners.push(db);
  return {
    hold: () => void db.exec('BEGIN IMMEDIATE'),
    release: () => void db.exec('COMMIT'),
  };
}
afterEach(() => {
  for (const db of foreigners.splice(0)) {
    if (db.inTransaction) db.exec('ROLLBACK');
    db.close();
  }
});

function setup(options: { maxPending?: number } = {}): { journal: Journal; timers: ReturnType<typeof manualTimers>; log: ReturnType<typeof captureLogger>; heard: JournalEvent[]; clock: { now: () => number; advance: (ms: number) => void } } {
  let nowMs = START;
  const clock = { now: () => nowMs, advance: (ms: number) => void (nowMs += ms) };
  const timers = manualTimers();
  const log = captureLogger();
  const journal = new Journal(temp.db, 'hq', clock.now, { timers: timers.timers, logger: log.logger, ...options });
  const heard: JournalEvent[] = [];
  journal.onAppend((event) => heard.push({ ...event }));
  return { journal, timers, log, heard, clock };
}

const storedIds = (): string[] => temp.db.prepare<[], { id: string }>('SELECT id FROM events ORDER BY seq').all().map((row) => row.id);

describe('Journal append while another process holds the write lock [JRN-LOCKED]', () => {
  it('keeps the event in memory, written and heard once the lock goes, with the seq filled in on the returned event', () => {
    const { journal, timers, heard } = setup();
    const foreign = foreignWriter();
    foreign.hold();
    const event = journal.append({ type: 'access.granted', door: 'front', device: 'reader-1', cardholder: 'alice', reason: 'granted' });
    expect(event.seq).toBe(0);
    expect(storedIds()).toEqual([]);
    expect(heard).toEqual([]);
    expect(journal.backlogStatus()).toMatchObject({ pending: 1, oldestMs: START, busyTotal: 1 });

    foreign.release();
    timers.fire();
    expect(storedIds()).toEqual([event.id]);
    expect(event.seq).toBeGreaterThan(0);
    expect(heard.map((e) => [e.id, e.seq])).toEqual([[event.id, event.seq]]);
    expect(journal.query({ limit: 1 })[0]).toMatchObject({ id: event.id, seq: event.seq, type: 'access.granted', cardholder: 'alice', time: new Date(START).toISOString() });
    expect(journal.backlogStatus()).toMatchObject({ pending: 0, oldestMs: null });
  });

  it('writes and fans out events in append order: a later append queues behind the waiting ones even once the lock is gone', () => {
    const { journal, timers, heard, clock } = setup();
    const before = journal.append({ type: 'system.started' });
    const foreign = foreignWriter();
    foreign.hold();
    const during = [journal.append({ type: 'access.granted' }), journal.append({ type: 'door.held', door: 'front' })];
    clock.advance(5);
    foreign.release();
    // The lock is free, but two events still wait: this one must not overtake them.
    const after = journal.append({ type: 'access.denied' });
    expect(after.seq).toBe(0);
    timers.fire();
    const all = [before, ...during, after];
    expect(storedIds()).toEqual(all.map((e) => e.id));
    expect(heard.map((e) => e.id)).toEqual(all.map((e) => e.id));
    const seqs = heard.map((e) => e.seq);
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(all.map((e) => e.seq)).toEqual(seqs);
    // Ids still sort in seq order, as the design promises.
    expect([...storedIds()].sort()).toEqual(storedIds());
  });

  it('keeps trying with growing waits while the lock is held, counting each refusal, and never loses the events', () => {
    const { journal, timers, heard } = setup();
    const foreign = foreignWriter();
    foreign.hold();
    const events = Array.from({ length: 5 }, (_, i) => journal.append({ type: 'device.online', device: `reader-${i}` }));
    const delays: number[] = [];
    for (let i = 0; i < 6; i++) {
      delays.push(...timers.scheduled());
      timers.fire();
    }
    expect(delays[0]).toBeLessThan(delays.at(-1)!);
    expect(journal.backlogStatus()).toMatchObject({ pending: 5, busyTotal: 7 });
    expect(heard).toEqual([]);
    foreign.release();
    timers.fire();
    expect(storedIds()).toEqual(events.map((e) => e.id));
    expect(journal.backlogStatus().pending).toBe(0);
  });

  it('leaves the connection\'s own busy wait (5000 ms) in place for every other write', () => {
    const { journal } = setup();
    const foreign = foreignWriter();
    foreign.hold();
    journal.append({ type: 'access.granted' });
    expect(temp.db.pragma('busy_timeout', { simple: true })).toBe(5000);
    expect(temp.db.pragma('synchronous', { simple: true })).toBe(1);
    journal.append({ type: 'alarm.raised', reason: 'forced' });
    expect(temp.db.pragma('synchronous', { simple: true })).toBe(1);
  });

  it('says when the backlog starts and when it has drained, with how many events and how long', () => {
    const { journal, timers, log, clock } = setup();
    const foreign = foreignWriter();
    foreign.hold();
    for (let i = 0; i < 3; i++) journal.append({ type: 'access.granted' });
    expect(log.lines.filter((line) => line.level === 'warn')).toHaveLength(1);
    expect(log.lines[0]!.message).toMatch(/locked by another process/);
    clock.advance(1_500);
    foreign.release();
    timers.fire();
    const drained = log.lines.find((line) => line.level === 'info');
    expect(drained?.object).toMatchObject({ written: 3, waitedMs: 1_500, dropped: 0 });
    expect(drained?.message).toMatch(/3 events that waited 1500 ms/);
  });

  it('drops ordinary events past the cap loudly, keeps alarm-class ones, and journals journal.overflowed once free', () => {
    const { journal, timers, log, heard } = setup({ maxPending: 3 });
    const dropped: number[] = [];
    journal.onDropped(() => dropped.push(1));
    const foreign = foreignWriter();
    foreign.hold();
    const kept = [journal.append({ type: 'access.granted' }), journal.append({ type: 'access.granted' }), journal.append({ type: 'access.denied' })];
    const lostOne = journal.append({ type: 'device.online', device: 'reader-9' });
    const alarm = journal.append({ type: 'alarm.raised', reason: 'forced', door: 'front' });
    expect(journal.backlogStatus()).toMatchObject({ pending: 4, droppedTotal: 1 });
    expect(dropped).toHaveLength(1);
    const errors = log.lines.filter((line) => line.level === 'error');
    expect(errors.some((line) => /reached its cap of 3/.test(line.message))).toBe(true);
    expect(errors.some((line) => /DROPPED \(1 so far\)/.test(line.message) && (line.object.event as { id: string }).id === lostOne.id)).toBe(true);

    foreign.release();
    timers.fire();
    const types = heard.map((e) => e.type);
    expect(types).toEqual(['access.granted', 'access.granted', 'access.denied', 'alarm.raised', 'journal.overflowed']);
    expect(storedIds().slice(0, 4)).toEqual([...kept, alarm].map((e) => e.id));
    expect(heard.at(-1)!.data).toMatchObject({ dropped: 1, types: { 'device.online': 1 }, firstDroppedAt: lostOne.time, lastDroppedAt: lostOne.time });
    expect(heard.at(-1)!.severity).toBe('high');
  });

  it('drops, loudly, only the one waiting event the table refuses, and writes the others in order', () => {
    const { journal, timers, log, heard } = setup();
    const foreign = foreignWriter();
    foreign.hold();
    const first = journal.append({ type: 'access.granted' });
    const bad = journal.append({ type: 'no.such_type' as never });
    const last = journal.append({ type: 'access.denied' });
    foreign.release();
    for (let i = 0; i < 5 && journal.backlogStatus().pending > 0; i++) timers.fire();
    expect(storedIds()).toEqual([first.id, last.id]);
    expect(heard.map((e) => e.id)).toEqual([first.id, last.id]);
    expect(journal.backlogStatus()).toMatchObject({ pending: 0, droppedTotal: 1 });
    const refusal = log.lines.find((line) => line.level === 'error');
    expect(refusal?.message).toMatch(/refused a journal event .* DROPPED/);
    expect(refusal?.object.event).toMatchObject({ id: bad.id, type: 'no.such_type' });
  });

  it('writes the waiting events first when a transaction appends, so they keep their place before its event', () => {
    const { journal, heard } = setup();
    const foreign = foreignWriter();
    foreign.hold();
    const waiting = journal.append({ type: 'access.granted' });
    foreign.release();
    const inside = journal.durableTransaction(() => journal.append({ type: 'alarm.acknowledged', reason: 'forced' }));
    expect(storedIds()).toEqual([waiting.id, inside.id]);
    expect(heard.map((e) => e.id)).toEqual([waiting.id, inside.id]);
    expect(waiting.seq).toBeLessThan(inside.seq);
    expect(journal.backlogStatus().pending).toBe(0);
  });

  it('queues the waiting events again when the transaction that wrote them rolls back', async () => {
    const { journal, timers } = setup();
    const foreign = foreignWriter();
    foreign.hold();
    const waiting = journal.append({ type: 'access.granted' });
    foreign.release();
    expect(() =>
      temp.db.transaction(() => {
        journal.append({ type: 'config.changed' });
        throw new Error('the change is refused');
      })(),
    ).toThrow('the change is refused');
    await Promise.resolve();
    expect(storedIds()).toEqual([]);
    expect(journal.backlogStatus().pending).toBe(1);
    timers.fire();
    expect(storedIds()).toEqual([waiting.id]);
  });

  it('at stop, writes what waits once the lock goes within the wait allowed', async () => {
    const { journal } = setup();
    const foreign = foreignWriter();
    foreign.hold();
    const event = journal.append({ type: 'system.stopped' });
    const drained = journal.drain(2_000);
    foreign.release();
    expect(await drained).toBe(0);
    expect(storedIds()).toEqual([event.id]);
  });

  it('at stop, says loudly how many events could not be written when the lock is still held', async () => {
    const { journal, log } = setup();
    const foreign = foreignWriter();
    foreign.hold();
    journal.append({ type: 'access.granted' });
    journal.append({ type: 'system.stopped' });
    expect(await journal.drain(100)).toBe(2);
    const error = log.lines.find((line) => line.level === 'error');
    expect(error?.object).toMatchObject({ unwritten: 2, types: { 'access.granted': 1, 'system.stopped': 1 } });
    expect(error?.message).toMatch(/2 journal events were NOT written at stop/);
  });

  it('says loudly what it could not write when the database is closed under a backlog without a drain', () => {
    const { journal, timers, log } = setup();
    const foreign = foreignWriter();
    foreign.hold();
    journal.append({ type: 'access.granted' });
    temp.db.close();
    timers.fire();
    expect(log.lines.find((line) => line.level === 'error')?.message).toMatch(/1 journal events were NOT written at stop: the database was closed/);
    expect(timers.scheduled()).toEqual([]);
  });

  it('lets a transaction of the caller keep the connection\'s wait and fail as before when the lock never goes', () => {
    // A short connection wait keeps the test quick; the journal keeps whatever the connection has.
    temp.db.pragma('busy_timeout = 20');
    const fresh = new Journal(temp.db, 'hq', () => START);
    const foreign = foreignWriter();
    foreign.hold();
    expect(() => fresh.durableTransaction(() => fresh.append({ type: 'alarm.acknowledged' }))).toThrow(/database is locked/);
    expect(fresh.backlogStatus().pending).toBe(0);
    expect(storedIds()).toEqual([]);
  });
});

describe('Journal pragmas around its own insert', () => {
  it('waits only the short journal wait on the first append after start, and the connection\'s wait again after it', () => {
    const journal = new Journal(temp.db, 'hq', () => START, { timers: manualTimers().timers });
    const during: unknown[] = [];
    journal.onBusy(() => during.push(temp.db.pragma('busy_timeout', { simple: true })));
    const foreign = foreignWriter();
    foreign.hold();
    journal.append({ type: 'access.granted' });
    expect(during).toEqual([JOURNAL_BUSY_WAIT_MS]);
    expect(temp.db.pragma('busy_timeout', { simple: true })).toBe(5000);
  });

});

describe('Journal order under any interleaving of a foreign lock [JRN-LOCKED]', () => {
  type Step = 'append' | 'alarm' | 'transaction' | 'hold' | 'release' | 'timer';
  const steps = fc.array(fc.constantFrom<Step>('append', 'alarm', 'transaction', 'hold', 'release', 'timer'), { minLength: 1, maxLength: 40 });

  it('writes every event once, in append order, heard by listeners once each in seq order with the seq the caller holds', () => {
    const { journal, timers, heard } = setup();
    const foreign = foreignWriter();
    let held = false;
    fc.assert(
      fc.property(steps, (plan) => {
        heard.length = 0;
        const appended: JournalEvent[] = [];
        for (const step of plan) {
          if (step === 'append') appended.push(journal.append({ type: 'access.granted' }));
          else if (step === 'alarm') appended.push(journal.append({ type: 'alarm.raised', reason: 'panic' }));
          // A transaction would wait the connection's 5 s under the lock (and fail): only without it.
          else if (step === 'transaction' && !held) appended.push(journal.durableTransaction(() => journal.append({ type: 'alarm.acknowledged' })));
          else if (step === 'hold' && !held) {
            foreign.hold();
            held = true;
          } else if (step === 'release' && held) {
            foreign.release();
            held = false;
          } else if (step === 'timer') timers.fire();
        }
        if (held) foreign.release();
        held = false;
        while (journal.backlogStatus().pending > 0) timers.fire();
        const ids = new Set(appended.map((event) => event.id));
        const stored = temp.db.prepare<[], { id: string; seq: number }>('SELECT id, seq FROM events ORDER BY seq').all().filter((row) => ids.has(row.id));
        expect(stored.map((row) => row.id)).toEqual(appended.map((event) => event.id));
        expect(appended.map((event) => event.seq)).toEqual(stored.map((row) => row.seq));
        expect(heard.map((event) => [event.id, event.seq])).toEqual(stored.map((row) => [row.id, row.seq]));
      }),
      { numRuns: 60 },
    );
  });
});
