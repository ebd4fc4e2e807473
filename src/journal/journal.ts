import { v7 as uuidv7 } from 'uuid';
import type Database from 'better-sqlite3';
import type { Db } from '../store/db.js';
import { isPriorityType } from './priority.js';
import { EventTypes, type EventInput, type EventType, type JournalEvent, type Severity } from './events.js';
import { Backlog, isLockedError, type BacklogLogger, type BacklogStatus, type PendingEvent, type WritableEvent } from './backlog.js';
import type { Timers } from '../doors/timers.js';

export type Clock = () => number;
export type AppendListener = (event: JournalEvent) => void;
export type { BacklogStatus } from './backlog.js';

/**
 * How long the journal's own insert waits for a write lock another process holds (guardpost
 * import, a sqlite3 shell, a backup tool) before the event waits in memory instead. SQLite's busy
 * handler sleeps on the event loop's thread; measured with better-sqlite3 it gives up after the
 * wait asked for (0 ms: 0.07 ms, 10 ms: ~10.5 ms), and setting and resetting the pragma around
 * each insert costs ~1.6 µs (bench/journalLocked). 10 ms rides out a neighbour's short commit.
 */
export const JOURNAL_BUSY_WAIT_MS = 10;

export interface JournalOptions {
  /** Where the backlog says it started, drained, overflowed, or was left unwritten at stop. */
  readonly logger?: BacklogLogger;
  /** The backlog's retry timer (unref'd in production); tests may drive it by hand. */
  readonly timers?: Timers;
  /** Ordinary events kept in memory while the database is locked (alarm-class events always are). */
  readonly maxPending?: number;
  readonly busyWaitMs?: number;
}

export interface EventQuery {
  /** At most this many events, newest first unless `afterSeq` is given (then oldest first). */
  readonly limit: number;
  readonly afterSeq?: number;
  readonly beforeSeq?: number;
  readonly sinceMs?: number;
  readonly untilMs?: number;
  readonly door?: string;
  readonly device?: string;
  readonly type?: string;
  readonly cardholder?: string;
  /** Events whose data.alarm is this alarm id (its lifecycle, camera triggers). */
  readonly alarm?: string;
}

/** The filters of a query without paging: for exports, which walk every match oldest first. */
export type EventFilter = Omit<EventQuery, 'limit' | 'afterSeq' | 'beforeSeq'>;

export interface EventRow {
  seq: number;
  id: string;
  time_ms: number;
  type: EventType;
  severity: Severity;
  site: string;
  door: string | null;
  device: string | null;
  cardholder: string | null;
  reason: string | null;
  data: string;
}

/** The last millisecond turned into ISO text: events of a burst share it, and a backlog is read by the thousand. */
let isoCache = { ms: Number.NaN, iso: '' };
function isoTime(ms: number): string {
  if (ms !== isoCache.ms) isoCache = { ms, iso: new Date(ms).toISOString() };
  return isoCache.iso;
}

export const fromRow = (row: EventRow): JournalEvent => ({
  id: row.id,
  seq: row.seq,
  time: isoTime(row.time_ms),
  type: row.type,
  severity: row.severity,
  site: row.site,
  door: row.door,
  device: row.device,
  cardholder: row.cardholder,
  reason: row.reason,
  data: JSON.parse(row.data) as Record<string, unknown>,
});

const jsonOrNull = (text: string | null): string => (text === null ? 'null' : JSON.stringify(text));

/**
 * The JSON text `JSON.stringify(fromRow(row))` gives, built around the stored `data` text (which
 * append() wrote with JSON.stringify) instead of parsing it and writing it again: what an events
 * page costs when it has to be computed afresh.
 */
export function eventJsonFromRow(row: EventRow): string {
  return (
    `{"id":${JSON.stringify(row.id)},"seq":${row.seq},"time":"${isoTime(row.time_ms)}","type":${JSON.stringify(row.type)},"severity":${JSON.stringify(row.severity)},` +
    `"site":${JSON.stringify(row.site)},"door":${jsonOrNull(row.door)},"device":${jsonOrNull(row.device)},"cardholder":${jsonOrNull(row.cardholder)},` +
    `"reason":${jsonOrNull(row.reason)},"data":${row.data}}`
  );
}

/**
 * The append-only journal, which is also the outbox: forwarders read forward from their own
 * cursor by `seq`. Appends are synchronous so the critical path knows the event is durable —
 * except while another process holds the write lock: then events wait in memory, in order, and
 * are written (and only then heard by listeners) once it goes [JRN-LOCKED].
 */
export class Journal {
  private readonly insert;
  private readonly syncFull;
  private readonly syncNormal;
  private readonly listeners = new Set<AppendListener>();
  /** Query statements by SQL text, prepared once: one per combination of filters in use (bounded). */
  private readonly queryStatements = new Map<string, Database.Statement<(string | number)[], EventRow>>();
  /** Last id's time and sequence, so ids sort in append order even within one millisecond. */
  private lastIdMs = 0;
  private lastIdSeq = 0;
  /** Events met by a foreign write lock, in append order, written before any later one [JRN-LOCKED]. */
  private readonly backlog: Backlog;
  private readonly busyShort;
  private readonly busyConnection;
  private readonly flushBatch;

  constructor(
    readonly db: Db,
    private readonly siteId: string,
    private readonly clock: Clock = Date.now,
    options: JournalOptions = {},
  ) {
    // The connection's own wait (5000 ms from openDatabase) is what every other write keeps.
    const connectionBusyMs = db.pragma('busy_timeout', { simple: true }) as number;
    this.busyShort = db.prepare(`PRAGMA busy_timeout = ${Math.max(0, Math.floor(options.busyWaitMs ?? JOURNAL_BUSY_WAIT_MS))}`);
    this.busyConnection = db.prepare(`PRAGMA busy_timeout = ${connectionBusyMs}`);
    this.backlog = new Backlog({
      clock,
      ...(options.timers === undefined ? {} : { timers: options.timers }),
      ...(options.logger === undefined ? {} : { logger: options.logger }),
      ...(options.maxPending === undefined ? {} : { maxPending: options.maxPending }),
      writeBatch: (batch) => this.writeBatch(batch),
      written: (event) => this.fanOut(event),
      canWrite: () => db.open && !db.inTransaction,
      closed: () => !db.open,
      inTransaction: () => db.open && db.inTransaction,
      isWritten: (id) => this.isWritten(id),
      lost: (summary) => this.append({ type: 'journal.overflowed', data: { ...summary } }),
    });
    this.insert = db.prepare<[string, number, string, string, string, string | null, string | null, string | null, string | null, string], never>(
      `INSERT INTO events (id, time_ms, type, severity, site, door, device, cardholder, reason, data)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.syncFull = db.prepare('PRAGMA synchronous = FULL');
    this.syncNormal = db.prepare('PRAGMA synchronous = NORMAL');
    // SQLite applies a PRAGMA when it is prepared; a prepared PRAGMA's first run does nothing and
    // each later run prepares it again (and so applies it). Run each once now, ending with the
    // connection's own values, so every run from here on takes effect (the first alarm included).
    for (const statement of [this.syncFull, this.syncNormal, this.busyShort, this.busyConnection]) statement.run();
    // One BEGIN IMMEDIATE for a batch of the backlog: the lock is taken (or refused) up front.
    this.flushBatch = db.transaction((batch: readonly PendingEvent[], seqs: number[]) => {
      for (const pending of batch) seqs.push(this.insertRow(pending));
    });
  }

  /**
   * Journals one event. Outside a transaction it never waits more than JOURNAL_BUSY_WAIT_MS for a
   * write lock held elsewhere: the event (id and time already given) then waits in memory, with
   * every later append behind it, and is written from a timer once the lock goes [JRN-LOCKED].
   * The returned event's `seq` is 0 until it is written (then the same object carries it);
   * listeners hear every event once, after it is written, in `seq` order.
   */
  append(input: EventInput): JournalEvent {
    const timeMs = this.clock();
    const id = this.nextId(timeMs);
    const severity = input.severity ?? EventTypes[input.type];
    const data = input.data ?? {};
    const event: WritableEvent = {
      id,
      seq: 0,
      time: new Date(timeMs).toISOString(),
      type: input.type,
      severity,
      site: this.siteId,
      door: input.door ?? null,
      device: input.device ?? null,
      cardholder: input.cardholder ?? null,
      reason: input.reason ?? null,
      data,
    };
    const pending: PendingEvent = { event, timeMs, dataText: JSON.stringify(data) };
    if (this.db.inTransaction) {
      // Part of the caller's transaction (a state change and its event commit together): it keeps
      // the connection's wait and throws as before. Anything waiting goes first, inside it.
      if (this.backlog.size > 0) this.backlog.flushInto((batch) => batch.map((item) => this.insertRow(item)));
      event.seq = this.insertRow(pending);
      // Fan-out after the insert; inside a transaction that is before its commit (see design notes).
      this.fanOut(event);
      return event;
    }
    if (this.backlog.size > 0) {
      this.backlog.add(pending);
      return event;
    }
    // An alarm acknowledged anywhere must already be on disk: FULL fsyncs the WAL on this one
    // commit; every other event keeps NORMAL (durable across a crash of the process).
    // Inside a transaction the pragma cannot change: durableTransaction() makes that commit FULL.
    const durable = isPriorityType(input.type);
    if (durable) this.syncFull.run();
    this.busyShort.run();
    try {
      event.seq = this.insertRow(pending);
    } catch (error) {
      if (!isLockedError(error)) throw error;
      this.backlog.add(pending, error);
      return event;
    } finally {
      this.busyConnection.run();
      if (durable) this.syncNormal.run();
    }
    this.fanOut(event);
    return event;
  }

  private insertRow({ event, timeMs, dataText }: PendingEvent): number {
    const result = this.insert.run(event.id, timeMs, event.type, event.severity, event.site, event.door, event.device, event.cardholder, event.reason, dataText);
    return Number(result.lastInsertRowid);
  }

  /** Writes a batch of the backlog in one short-waiting BEGIN IMMEDIATE; FULL if it holds an alarm-class event. */
  private writeBatch(batch: readonly PendingEvent[]): number[] {
    const durable = batch.some((pending) => isPriorityType(pending.event.type));
    const seqs: number[] = [];
    if (durable) this.syncFull.run();
    this.busyShort.run();
    try {
      this.flushBatch.immediate(batch, seqs);
    } finally {
      this.busyConnection.run();
      if (durable) this.syncNormal.run();
    }
    return seqs;
  }

  private isWritten(id: string): boolean {
    return this.db.prepare<[string], { seq: number }>('SELECT seq FROM events WHERE id = ?').get(id) !== undefined;
  }

  /** How many events wait for the database, since when, and what the backlog has met so far. */
  backlogStatus(): BacklogStatus {
    return this.backlog.status();
  }

  /** Called whenever an append or a retry meets the database locked by another process. */
  onBusy(listener: () => void): () => void {
    return this.backlog.onBusy(listener);
  }

  /** Called for each ordinary event dropped because the backlog was full (each also logged). */
  onDropped(listener: () => void): () => void {
    return this.backlog.onDropped(listener);
  }

  /**
   * At stop: writes what waits, trying until `maxWaitMs` has passed; resolves to how many events
   * could not be written (logged loudly). The retry timer is stopped either way.
   */
  drain(maxWaitMs: number): Promise<number> {
    return this.backlog.drain(maxWaitMs);
  }

  private fanOut(event: JournalEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch {
        // listeners own their errors; the journal's job is done
      }
    }
  }

  /**
   * Runs `fn` waiting at most the journal's short wait (not the connection's 5 s) for a write lock
   * another process holds; SQLITE_BUSY then comes back at once, for callers that have somewhere
   * else to keep what they could not write (alarms, [SAFE-LOCKED]).
   */
  waitingBriefly<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.busyShort.run();
    try {
      return fn();
    } finally {
      this.busyConnection.run();
    }
  }

  /**
   * Runs `fn` as one transaction committed with synchronous=FULL: for a state change saved
   * together with the alarm-class event that records it, so both are on disk once it returns.
   */
  durableTransaction<T>(fn: () => T): T {
    if (this.db.inTransaction) return fn();
    this.syncFull.run();
    try {
      return this.db.transaction(fn)();
    } finally {
      this.syncNormal.run();
    }
  }

  private nextId(timeMs: number): string {
    if (timeMs > this.lastIdMs) {
      this.lastIdMs = timeMs;
      // Start low in a random place so ids stay unguessable yet leave room to count up.
      this.lastIdSeq = Math.floor(Math.random() * 0x7fffffff);
    } else {
      // Same millisecond, or a clock that stepped back: count on from the last id.
      this.lastIdSeq += 1;
    }
    return uuidv7({ msecs: this.lastIdMs, seq: this.lastIdSeq });
  }

  onAppend(listener: AppendListener): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  query(query: EventQuery): JournalEvent[] {
    return this.queryRows(query).map(fromRow);
  }

  /** What `JSON.stringify(query(query))` gives, without parsing each event's data. */
  queryJson(query: EventQuery): string {
    return `[${this.queryRows(query).map(eventJsonFromRow).join(',')}]`;
  }

  private queryRows(query: EventQuery): EventRow[] {
    const { where, params } = this.whereOf(query);
    const order = query.afterSeq !== undefined ? 'ASC' : 'DESC';
    const sql = `SELECT * FROM events ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY seq ${order} LIMIT ?`;
    let statement = this.queryStatements.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare<(string | number)[], EventRow>(sql);
      this.queryStatements.set(sql, statement);
    }
    return statement.all(...params, query.limit);
  }

  /** Every event matching `filter`, oldest first, read a page at a time so memory stays flat. */
  *iterate(filter: EventFilter, pageSize = 1_000): Generator<JournalEvent> {
    let afterSeq = 0;
    for (;;) {
      const page = this.query({ ...filter, afterSeq, limit: pageSize });
      yield* page;
      const last = page.at(-1);
      if (last === undefined || page.length < pageSize) return;
      afterSeq = last.seq;
    }
  }

  private whereOf(query: EventQuery): { where: string[]; params: (string | number)[] } {
    const where: string[] = [];
    const params: (string | number)[] = [];
    const add = (clause: string, value: string | number | undefined): void => {
      if (value === undefined) return;
      where.push(clause);
      params.push(value);
    };
    add('seq > ?', query.afterSeq);
    add('seq < ?', query.beforeSeq);
    add('time_ms >= ?', query.sinceMs);
    add('time_ms < ?', query.untilMs);
    add('door = ?', query.door);
    add('device = ?', query.device);
    if (query.type !== undefined) {
      // "access" matches every access.* type; "access.denied" matches exactly.
      where.push(query.type.includes('.') ? 'type = ?' : "(type = ? OR substr(type, 1, length(?) + 1) = ? || '.')");
      params.push(query.type);
      if (!query.type.includes('.')) params.push(query.type, query.type);
    }
    add('cardholder = ?', query.cardholder);
    add("json_extract(data, '$.alarm') = ?", query.alarm);
    return { where, params };
  }

  lastSeq(): number {
    return this.db.prepare<[], { seq: number | null }>('SELECT MAX(seq) AS seq FROM events').get()?.seq ?? 0;
  }
}
