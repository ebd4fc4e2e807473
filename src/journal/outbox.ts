import type { Db } from '../store/db.js';
import { fromRow, type EventRow } from './journal.js';
import type { JournalEvent } from './events.js';
import { PRIORITY_SQL } from './priority.js';

export { isPriorityType } from './priority.js';

/**
 * The journal read as an outbox: each forwarder destination owns a durable cursor and reads
 * forward from it. Nothing about delivery is held only in memory.
 */

export interface Cursor {
  readonly destination: string;
  /** Every event up to and including this seq is delivered (or rejected for good, or filtered out). */
  readonly lastSeq: number;
  /** The newest alarm-class event delivered ahead of the backlog; always ≥ lastSeq once used. */
  readonly prioritySeq: number;
  readonly updatedMs: number;
}

interface CursorRow {
  destination: string;
  last_seq: number;
  priority_seq: number;
  updated_ms: number;
}

export class Outbox {
  private readonly afterStatement;
  private readonly priorityStatement;
  private readonly cursorStatement;
  private readonly saveStatement;
  private readonly countStatement;
  private readonly oldestStatement;
  private readonly lastSeqStatement;

  constructor(private readonly db: Db) {
    this.afterStatement = db.prepare<[number, number], EventRow>('SELECT * FROM events WHERE seq > ? ORDER BY seq ASC LIMIT ?');
    this.priorityStatement = db.prepare<[number, number], EventRow>(`SELECT * FROM events WHERE seq > ? AND ${PRIORITY_SQL} ORDER BY seq ASC LIMIT ?`);
    this.cursorStatement = db.prepare<[string], CursorRow>('SELECT * FROM forwarder_cursors WHERE destination = ?');
    this.saveStatement = db.prepare<[string, number, number, number], never>(
      `INSERT INTO forwarder_cursors (destination, last_seq, priority_seq, updated_ms) VALUES (?, ?, ?, ?)
       ON CONFLICT (destination) DO UPDATE SET last_seq = excluded.last_seq, priority_seq = excluded.priority_seq, updated_ms = excluded.updated_ms`,
    );
    this.countStatement = db.prepare<[number], { n: number }>('SELECT COUNT(*) AS n FROM events WHERE seq > ?');
    this.oldestStatement = db.prepare<[number], { time_ms: number }>('SELECT time_ms FROM events WHERE seq > ? ORDER BY seq ASC LIMIT 1');
    this.lastSeqStatement = db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM events');
  }

  /** Events after `seq`, oldest first. */
  readAfter(seq: number, limit: number): JournalEvent[] {
    return this.afterStatement.all(seq, limit).map(fromRow);
  }

  /** Alarm-class events after `seq`, oldest first: the priority lane. */
  readPriorityAfter(seq: number, limit: number): JournalEvent[] {
    return this.priorityStatement.all(seq, limit).map(fromRow);
  }

  /** A destination seen for the first time starts at the beginning of the journal. */
  cursor(destination: string): Cursor {
    const row = this.cursorStatement.get(destination);
    if (row === undefined) return { destination, lastSeq: 0, prioritySeq: 0, updatedMs: 0 };
    return { destination, lastSeq: row.last_seq, prioritySeq: row.priority_seq, updatedMs: row.updated_ms };
  }

  saveCursor(cursor: Cursor): void {
    this.saveStatement.run(cursor.destination, cursor.lastSeq, cursor.prioritySeq, cursor.updatedMs);
  }

  /** Every cursor row, including those of destinations no longer configured. */
  cursors(): Cursor[] {
    return this.db
      .prepare<[], CursorRow>('SELECT * FROM forwarder_cursors ORDER BY destination')
      .all()
      .map((row) => ({ destination: row.destination, lastSeq: row.last_seq, prioritySeq: row.priority_seq, updatedMs: row.updated_ms }));
  }

  /** How many events wait after `seq`, and the time of the oldest (null when none wait). */
  lag(seq: number): { events: number; oldestMs: number | null } {
    const events = this.countStatement.get(seq)?.n ?? 0;
    return { events, oldestMs: events === 0 ? null : (this.oldestStatement.get(seq)?.time_ms ?? null) };
  }

  lastSeq(): number {
    return this.lastSeqStatement.get()?.seq ?? 0;
  }
}

