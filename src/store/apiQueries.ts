import { auditEntryFromRow, type AuditEntry, type AuditRow } from './audit.js';
import type { Db } from './db.js';

/**
 * Paged, filtered reads for the API's history lists (audit log, alarms), done in SQL: both grow
 * without bound, so they are never loaded whole to filter in memory.
 */

export interface AuditQuery {
  readonly limit: number;
  readonly offset: number;
  readonly beforeSeq?: number;
  readonly actor?: string;
  /** `door.updated`, or a prefix ending in a dot: `door.` */
  readonly action?: string;
  readonly target?: string;
  readonly sinceMs?: number;
  readonly untilMs?: number;
  /** Text in actor, action or target. */
  readonly q?: string;
  /** Newest first unless `ascending`. */
  readonly ascending?: boolean;
}

/** `%` and `_` in user text match themselves. */
const likeText = (text: string): string => `%${text.replace(/[\\%_]/g, (char) => `\\${char}`)}%`;

export function queryAudit(db: Db, query: AuditQuery): { entries: AuditEntry[]; total: number } {
  const where: string[] = [];
  const params: (string | number)[] = [];
  const add = (sql: string, ...values: (string | number)[]): void => {
    where.push(sql);
    params.push(...values);
  };
  if (query.beforeSeq !== undefined) add('seq < ?', query.beforeSeq);
  if (query.actor !== undefined) add('actor = ?', query.actor);
  if (query.action !== undefined) {
    if (query.action.endsWith('.')) add('substr(action, 1, ?) = ?', query.action.length, query.action);
    else add('action = ?', query.action);
  }
  if (query.target !== undefined) add('target = ?', query.target);
  if (query.sinceMs !== undefined) add('time_ms >= ?', query.sinceMs);
  if (query.untilMs !== undefined) add('time_ms < ?', query.untilMs);
  if (query.q !== undefined) {
    const text = likeText(query.q);
    add("(actor LIKE ? ESCAPE '\\' OR action LIKE ? ESCAPE '\\' OR target LIKE ? ESCAPE '\\')", text, text, text);
  }
  const clause = where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`;
  const total = db.prepare<(string | number)[], { n: number }>(`SELECT COUNT(*) AS n FROM audit ${clause}`).get(...params)?.n ?? 0;
  const rows = db
    .prepare<(string | number)[], AuditRow>(`SELECT * FROM audit ${clause} ORDER BY seq ${query.ascending === true ? 'ASC' : 'DESC'} LIMIT ? OFFSET ?`)
    .all(...params, query.limit, query.offset);
  const entries = rows.map(auditEntryFromRow);
  return { entries, total };
}

export type AlarmStateFilter = 'open' | 'closed' | 'all' | 'raised' | 'acknowledged' | 'cleared';

export interface AlarmQuery {
  readonly state: AlarmStateFilter;
  readonly limit: number;
  readonly offset: number;
  /** Oldest first unless `descending`. */
  readonly descending?: boolean;
}

/** Stored alarm records (JSON) matching the state filter, by the time they were raised. */
export function queryAlarms(db: Db, query: AlarmQuery): { records: string[]; total: number } {
  const clause: Record<AlarmStateFilter, string> = {
    open: "WHERE state <> 'cleared'",
    closed: "WHERE state = 'cleared'",
    all: '',
    raised: "WHERE state = 'raised'",
    acknowledged: "WHERE state = 'acknowledged'",
    cleared: "WHERE state = 'cleared'",
  };
  const where = clause[query.state];
  const total = db.prepare<[], { n: number }>(`SELECT COUNT(*) AS n FROM alarms ${where}`).get()?.n ?? 0;
  const direction = query.descending === true ? 'DESC' : 'ASC';
  const records = db
    .prepare<[number, number], { record: string }>(`SELECT record FROM alarms ${where} ORDER BY raised_ms ${direction}, id ${direction} LIMIT ? OFFSET ?`)
    .all(query.limit, query.offset)
    .map((row) => row.record);
  return { records, total };
}

/**
 * A mark that changes whenever the database's content may have: `total_changes()` counts every
 * row this connection inserted, updated or deleted (rolled back ones too), `data_version` moves
 * when another connection (the CLI) commits. Equal marks mean no row changed in between, so an
 * answer computed from the database under one mark is still the answer under it. ~1.5 µs.
 */
export function storeChangeMark(db: Db): () => string {
  const statement = db.prepare<[], [number, number]>('SELECT total_changes(), (SELECT data_version FROM pragma_data_version)').raw();
  return () => {
    const [changes, version] = statement.get()!;
    return `${changes}.${version}`;
  };
}
