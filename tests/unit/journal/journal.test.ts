import { describe, expect, it } from 'vitest';
import { Journal } from '../../../src/journal/journal.js';
import type { EventInput, JournalEvent } from '../../../src/journal/events.js';
import { openDatabase, type Db } from '../../../src/store/db.js';
import { useTempDatabase } from '../../support/tempDatabase.js';

const START = Date.parse('2025-06-02T09:00:00.000Z');
const SECOND = 1_000;

/** A clock the test moves by hand. */
function manualClock(startMs = START): { now: () => number; set: (ms: number) => void; advance: (ms: number) => void } {
  let current = startMs;
  return { now: () => current, set: (ms) => void (current = ms), advance: (ms) => void (current += ms) };
}

const temp = useTempDatabase();

const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** The millisecond timestamp in the first 48 bits of a UUIDv7. */
const uuidTimeMs = (id: string): number => parseInt(id.replace(/-/g, '').slice(0, 12), 16);

describe('Journal.append', () => {
  it('numbers events with a strictly increasing sequence', () => {
    const journal = new Journal(temp.db, 'hq', manualClock().now);
    const seqs = Array.from({ length: 20 }, () => journal.append({ type: 'access.granted' }).seq);
    for (let i = 1; i < seqs.length; i++) expect(seqs[i]).toBeGreaterThan(seqs[i - 1]!);
    expect(journal.lastSeq()).toBe(seqs.at(-1));
  });

  it('gives ids that sort in append order even when many events share one millisecond', () => {
    const journal = new Journal(temp.db, 'hq', manualClock().now);
    const ids = Array.from({ length: 200 }, () => journal.append({ type: 'access.granted' }).id);
    expect([...ids].sort()).toEqual(ids);
  });

  it('reports lastSeq 0 for an empty journal', () => {
    expect(new Journal(temp.db, 'hq', manualClock().now).lastSeq()).toBe(0);
  });

  it('gives every event a UUIDv7 id carrying the time it was observed', () => {
    const clock = manualClock();
    const journal = new Journal(temp.db, 'hq', clock.now);
    const ids = new Set<string>();
    for (let i = 0; i < 10; i++) {
      const event = journal.append({ type: 'device.online', device: `reader-${i}` });
      expect(event.id).toMatch(UUID_V7);
      expect(uuidTimeMs(event.id)).toBe(clock.now());
      ids.add(event.id);
      clock.advance(1);
    }
    expect(ids.size).toBe(10);
  });

  it('gives ids that sort in time order when events are observed at different times', () => {
    const clock = manualClock();
    const journal = new Journal(temp.db, 'hq', clock.now);
    const events: JournalEvent[] = [];
    for (let i = 0; i < 25; i++) {
      events.push(journal.append({ type: 'access.denied' }));
      clock.advance(1 + (i % 3) * 1000);
    }
    const byId = [...events].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)).map((event) => event.seq);
    expect(byId).toEqual(events.map((event) => event.seq));
  });

  it('stamps each event with the injected clock’s time as ISO-8601 UTC', () => {
    const clock = manualClock(Date.parse('2031-12-31T23:59:59.123Z'));
    const journal = new Journal(temp.db, 'hq', clock.now);
    expect(journal.append({ type: 'system.started' }).time).toBe('2031-12-31T23:59:59.123Z');
    clock.set(Date.parse('2032-01-01T00:00:00.000Z'));
    expect(journal.append({ type: 'system.stopped' }).time).toBe('2032-01-01T00:00:00.000Z');
  });

  it('keeps the clock’s time even when the clock goes backwards, and still increases seq', () => {
    const clock = manualClock();
    const journal = new Journal(temp.db, 'hq', clock.now);
    const first = journal.append({ type: 'access.granted' });
    clock.set(START - 60 * SECOND);
    const second = journal.append({ type: 'access.granted' });
    expect(second.time).toBe(new Date(START - 60 * SECOND).toISOString());
    expect(second.seq).toBeGreaterThan(first.seq);
  });

  it('returns the full event: site, default severity, optional fields as null and empty data', () => {
    const journal = new Journal(temp.db, 'hq', manualClock().now);
    const event = journal.append({ type: 'alarm.raised' });
    expect(event).toMatchObject({
      type: 'alarm.raised',
      severity: 'critical',
      site: 'hq',
      door: null,
      device: null,
      cardholder: null,
      reason: null,
      data: {},
    });
  });

  it('keeps a severity given explicitly instead of the type’s default', () => {
    const journal = new Journal(temp.db, 'hq', manualClock().now);
    expect(journal.append({ type: 'access.denied', severity: 'high' }).severity).toBe('high');
    expect(journal.query({ limit: 1 })[0]?.severity).toBe('high');
  });

  it('reads back exactly what append returned', () => {
    const journal = new Journal(temp.db, 'hq', manualClock().now);
    const appended = journal.append({
      type: 'access.denied',
      door: 'front',
      device: 'reader-front',
      cardholder: 'alice',
      reason: 'credential_expired',
      data: { card: '******78', credential: 'alice-1', nested: { list: [1, 2] } },
    });
    expect(journal.query({ limit: 10 })).toEqual([appended]);
  });
});

describe('Journal.onAppend', () => {
  it('tells each listener of every event, after the event can already be read back', () => {
    const journal = new Journal(temp.db, 'hq', manualClock().now);
    const seen: { event: JournalEvent; stored: JournalEvent[] }[] = [];
    journal.onAppend((event) => seen.push({ event, stored: journal.query({ limit: 1, afterSeq: event.seq - 1 }) }));
    const a = journal.append({ type: 'device.online', device: 'reader-1' });
    const b = journal.append({ type: 'device.offline', device: 'reader-1' });
    expect(seen.map((entry) => entry.event)).toEqual([a, b]);
    expect(seen.map((entry) => entry.stored)).toEqual([[a], [b]]);
  });

  it('still stores the event and tells later listeners when one listener throws', () => {
    const journal = new Journal(temp.db, 'hq', manualClock().now);
    const later: number[] = [];
    journal.onAppend(() => {
      throw new Error('console disconnected');
    });
    journal.onAppend((event) => later.push(event.seq));
    const event = journal.append({ type: 'alarm.raised', device: 'panic-1' });
    expect(event.seq).toBeGreaterThan(0);
    expect(later).toEqual([event.seq]);
    expect(journal.query({ limit: 10 }).map((stored) => stored.id)).toEqual([event.id]);
  });

  it('stops telling a listener once it unsubscribes', () => {
    const journal = new Journal(temp.db, 'hq', manualClock().now);
    const seen: string[] = [];
    const unsubscribe = journal.onAppend((event) => seen.push(event.type));
    journal.append({ type: 'system.started' });
    unsubscribe();
    journal.append({ type: 'system.stopped' });
    expect(seen).toEqual(['system.started']);
  });
});

describe('Journal.query', () => {
  /** A morning at the front door and the lab, one event per second. */
  function morning(): { journal: Journal; events: JournalEvent[] } {
    const clock = manualClock();
    const journal = new Journal(temp.db, 'hq', clock.now);
    const inputs: EventInput[] = [
      { type: 'system.started' },
      { type: 'device.online', device: 'reader-front' },
      { type: 'access.granted', door: 'front', device: 'reader-front', cardholder: 'alice', reason: 'granted' },
      { type: 'access.denied', door: 'front', device: 'reader-front', reason: 'unknown_credential' },
      { type: 'access.denied', door: 'lab', device: 'reader-lab', cardholder: 'alice', reason: 'not_in_group' },
      { type: 'access.error', door: 'lab', device: 'reader-lab', reason: 'error' },
      { type: 'alarm.raised', device: 'panic-1' },
      { type: 'access.granted', door: 'lab', device: 'reader-lab', cardholder: 'carol', reason: 'granted' },
      { type: 'device.bad_input', device: 'reader-front', reason: 'not_json' },
    ];
    const events = inputs.map((input) => {
      const event = journal.append(input);
      clock.advance(SECOND);
      return event;
    });
    return { journal, events };
  }

  const seqs = (events: readonly JournalEvent[]): number[] => events.map((event) => event.seq);

  it('returns the newest events first by default', () => {
    const { journal, events } = morning();
    expect(seqs(journal.query({ limit: 100 }))).toEqual(seqs(events).reverse());
  });

  it('returns at most limit events, the newest ones', () => {
    const { journal, events } = morning();
    expect(seqs(journal.query({ limit: 3 }))).toEqual(seqs(events.slice(-3)).reverse());
  });

  it('reads forward from a cursor oldest first, as a forwarder does', () => {
    const { journal, events } = morning();
    const cursor = events[3]!.seq;
    expect(seqs(journal.query({ limit: 100, afterSeq: cursor }))).toEqual(seqs(events.slice(4)));
    expect(seqs(journal.query({ limit: 2, afterSeq: cursor }))).toEqual(seqs(events.slice(4, 6)));
    expect(seqs(journal.query({ limit: 100, afterSeq: 0 }))).toEqual(seqs(events));
    expect(journal.query({ limit: 100, afterSeq: events.at(-1)!.seq })).toEqual([]);
  });

  it('pages backwards with beforeSeq, newest first', () => {
    const { journal, events } = morning();
    expect(seqs(journal.query({ limit: 2, beforeSeq: events[5]!.seq }))).toEqual([events[4]!.seq, events[3]!.seq]);
  });

  it('filters by door', () => {
    const { journal, events } = morning();
    const lab = journal.query({ limit: 100, door: 'lab' });
    expect(seqs(lab)).toEqual(seqs(events.filter((event) => event.door === 'lab')).reverse());
    expect(lab).toHaveLength(3);
  });

  it('filters by device', () => {
    const { journal, events } = morning();
    const front = journal.query({ limit: 100, device: 'reader-front' });
    expect(seqs(front)).toEqual(seqs(events.filter((event) => event.device === 'reader-front')).reverse());
    expect(front).toHaveLength(4);
  });

  it('matches every access.* event when asked for the type "access"', () => {
    const { journal } = morning();
    const types = journal.query({ limit: 100, type: 'access' }).map((event) => event.type);
    expect(types.sort()).toEqual(['access.denied', 'access.denied', 'access.error', 'access.granted', 'access.granted']);
  });

  it('matches one exact type when asked for "access.denied"', () => {
    const { journal } = morning();
    const denied = journal.query({ limit: 100, type: 'access.denied' });
    expect(denied.map((event) => event.reason)).toEqual(['not_in_group', 'unknown_credential']);
  });

  it('matches a type only by whole dotted words, never by a partial prefix', () => {
    const { journal } = morning();
    expect(journal.query({ limit: 100, type: 'acc' })).toEqual([]);
    expect(journal.query({ limit: 100, type: 'access.den' })).toEqual([]);
    expect(journal.query({ limit: 100, type: 'device' }).map((event) => event.type).sort()).toEqual(['device.bad_input', 'device.online']);
  });

  it('treats a type filter literally: no wildcards and no case folding', () => {
    const { journal } = morning();
    expect(journal.query({ limit: 100, type: 'acc_ss' })).toEqual([]);
    expect(journal.query({ limit: 100, type: 'ACCESS' })).toEqual([]);
    expect(journal.query({ limit: 100, type: '%' })).toEqual([]);
  });

  it('filters by time: since is inclusive, until is exclusive', () => {
    const { journal, events } = morning();
    const since = START + 2 * SECOND;
    const until = START + 5 * SECOND;
    const window = journal.query({ limit: 100, sinceMs: since, untilMs: until });
    expect(seqs(window)).toEqual(seqs(events.slice(2, 5)).reverse());
    expect(seqs(journal.query({ limit: 100, sinceMs: START + 7 * SECOND }))).toEqual(seqs(events.slice(7)).reverse());
    expect(seqs(journal.query({ limit: 100, untilMs: START + SECOND }))).toEqual([events[0]!.seq]);
  });

  it('combines filters: denied access at the lab after a cursor, oldest first', () => {
    const { journal, events } = morning();
    const result = journal.query({ limit: 100, afterSeq: events[0]!.seq, door: 'lab', type: 'access', device: 'reader-lab' });
    expect(result.map((event) => event.type)).toEqual(['access.denied', 'access.error', 'access.granted']);
  });

  it('returns nothing for a door with no events', () => {
    const { journal } = morning();
    expect(journal.query({ limit: 100, door: 'roof' })).toEqual([]);
  });
});

describe('Journal durability', () => {
  it('keeps every event, with its id and sequence, across closing and reopening the database', () => {
    const clock = manualClock();
    const journal = new Journal(temp.db, 'hq', clock.now);
    const before: JournalEvent[] = [];
    for (let i = 0; i < 5; i++) {
      before.push(journal.append({ type: 'access.granted', door: 'front', data: { n: i } }));
      clock.advance(SECOND);
    }
    temp.db.close();

    temp.db = openDatabase(temp.dir);
    const reopened = new Journal(temp.db, 'hq', clock.now);
    expect(reopened.query({ limit: 100, afterSeq: 0 })).toEqual(before);
    expect(reopened.lastSeq()).toBe(before.at(-1)!.seq);
    const next = reopened.append({ type: 'system.started' });
    expect(next.seq).toBeGreaterThan(before.at(-1)!.seq);
  });
});
