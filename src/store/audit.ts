import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

export interface AuditInput {
  /** Who: a user id, `token:<id>`, `cli` or `import`. */
  readonly actor: string;
  /** From where: an IP address, `cli`, `startup`. */
  readonly source: string;
  /** What, dotted: `user.created`, `token.revoked`, `door.updated` … */
  readonly action: string;
  readonly target?: string | null;
  /** Never secrets: callers pass records with hashes and passwords removed. */
  readonly before?: unknown;
  readonly after?: unknown;
}

export interface AuditEntry {
  readonly seq: number;
  readonly time: string;
  readonly actor: string;
  readonly source: string;
  readonly action: string;
  readonly target: string | null;
  readonly before: unknown;
  readonly after: unknown;
}

export interface AuditRow {
  seq: number;
  time_ms: number;
  actor: string;
  source: string;
  action: string;
  target: string | null;
  before: string | null;
  after: string | null;
}

/**
 * The audit log. Callers write it inside the same transaction as the change it records
 * (`db.transaction(() => { change(); audit.record(…) })`), so neither exists without the other.
 */
export class AuditRepository {
  // Prepared once: a whole-site import records one row per person changed (millions at panel scale).
  private insert: Statement | undefined;

  constructor(private readonly db: Db) {}

  record(input: AuditInput, timeMs: number): void {
    this.insert ??= this.db.prepare('INSERT INTO audit (time_ms, actor, source, action, target, before, after) VALUES (?, ?, ?, ?, ?, ?, ?)');
    this.insert.run(
        timeMs,
        input.actor,
        input.source,
        input.action,
        input.target ?? null,
        input.before === undefined ? null : JSON.stringify(input.before),
        input.after === undefined ? null : JSON.stringify(input.after),
      );
  }

  list(query: { limit: number; beforeSeq?: number }): AuditEntry[] {
    const rows = this.db
      .prepare<[number, number], AuditRow>('SELECT * FROM audit WHERE seq < ? ORDER BY seq DESC LIMIT ?')
      .all(query.beforeSeq ?? Number.MAX_SAFE_INTEGER, query.limit);
    return rows.map(auditEntryFromRow);
  }
}

/** One row of the audit table as the API shows it (also used by store/apiQueries.ts). */
export function auditEntryFromRow(row: AuditRow): AuditEntry {
  return {
    seq: row.seq,
    time: new Date(row.time_ms).toISOString(),
    actor: row.actor,
    source: row.source,
    action: row.action,
    target: row.target,
    before: row.before === null ? null : (JSON.parse(row.before) as unknown),
    after: row.after === null ? null : (JSON.parse(row.after) as unknown),
  };
}
