import { beforeEach, describe, expect, it } from 'vitest';
import { Journal } from '../../../src/journal/journal.js';
import { pruneJournal } from '../../../src/journal/retention.js';
import type { Db } from '../../../src/store/db.js';
import { useTempDatabase } from '../../support/tempDatabase.js';

const DAY = 86_400_000;
const START = Date.parse('2026-01-01T00:00:00Z');

const temp = useTempDatabase();
let db: Db;
let nowMs = START;
let journal: Journal;

beforeEach(() => {
  db = temp.db;
  nowMs = START;
  journal = new Journal(db, 'hq', () => nowMs);
  // One event a day for 30 days: seq n was journalled on day n-1.
  for (let day = 0; day < 30; day++) {
    nowMs = START + day * DAY;
    journal.append({ type: 'access.granted', door: 'front', data: { day } });
  }
});

const seqs = (): number[] => journal.query({ afterSeq: 0, limit: 1_000 }).map((event) => event.seq);

describe('journal retention', () => {
  it('keeps everything when no limit is set', () => {
    expect(pruneJournal(db, { maxAgeMs: 0, maxEvents: 0 }, nowMs, Infinity)).toEqual({ deleted: 0, heldBack: 0 });
    expect(seqs()).toHaveLength(30);
  });

  it('deletes events older than the maximum age', () => {
    expect(pruneJournal(db, { maxAgeMs: 7 * DAY, maxEvents: 0 }, START + 29 * DAY, Infinity)).toEqual({ deleted: 22, heldBack: 0 });
    expect(seqs()).toEqual([23, 24, 25, 26, 27, 28, 29, 30]);
  });

  it('keeps at most the configured number of events', () => {
    expect(pruneJournal(db, { maxAgeMs: 0, maxEvents: 5 }, nowMs, Infinity)).toEqual({ deleted: 25, heldBack: 0 });
    expect(seqs()).toEqual([26, 27, 28, 29, 30]);
  });

  it('never deletes an event a forwarder has not delivered, and says how many it held back', () => {
    expect(pruneJournal(db, { maxAgeMs: 0, maxEvents: 5 }, nowMs, 10)).toEqual({ deleted: 10, heldBack: 15 });
    expect(seqs()[0]).toBe(11);
    expect(pruneJournal(db, { maxAgeMs: 0, maxEvents: 5 }, nowMs, 0)).toEqual({ deleted: 0, heldBack: 15 });
  });

  it('goes on numbering after a prune: seq never reuses a deleted number', () => {
    pruneJournal(db, { maxAgeMs: 0, maxEvents: 1 }, nowMs, Infinity);
    expect(journal.append({ type: 'access.denied' }).seq).toBe(31);
  });
});

describe('alarm-class appends', () => {
  it('append inside a caller\'s transaction too (SQLite refuses a synchronous switch there), and the connection stays on NORMAL', () => {
    const inside = db.transaction(() => journal.append({ type: 'alarm.raised', data: { alarm: 'a-1' } }))();
    const outside = journal.append({ type: 'alarm.cleared', data: { alarm: 'a-1' } });
    expect(journal.query({ alarm: 'a-1', afterSeq: 0, limit: 10 }).map((event) => event.seq)).toEqual([inside.seq, outside.seq]);
    expect(db.pragma('synchronous', { simple: true })).toBe(1);
  });
});
