import type { Statement } from 'better-sqlite3';
import { statementCache, type Db } from './db.js';

/** A page of the cardholder list as the API asks for it: filters, text, order, window. */
export interface CardholderListQuery {
  readonly limit: number;
  readonly offset: number;
  /** Absent: the site file's order (documents by position). Ties are broken by id. */
  readonly sort?: { readonly field: 'id' | 'name' | 'status'; readonly descending: boolean };
  readonly status?: string;
  readonly group?: string;
  readonly credentialStatus?: string;
  /** Only this cardholder (the holder of a card, found by its digest); null: nobody. */
  readonly holderId?: string | null;
  /** Case-insensitive text in the id, the name or a credential id; digits also match a masked card's visible end. */
  readonly q?: string;
}

/** How many totals are kept per people generation (distinct filter combinations). */
const KEPT_TOTALS = 64;

/**
 * The cardholder list in SQL [SITE-LIST]: filtered, sorted and paged along indexes (migration 13),
 * never by loading people into JavaScript. The sorted window is found on the `cardholders` table
 * first and only the page's documents are read; the site file's order walks the documents by
 * position. Totals are counted once per people generation and filter (a count walks an index:
 * ~0.1 s at 2,000,000 people). Text search (`q`) has no index: it scans ids, names and credential
 * ids in SQLite (no object per row), ~1 s per million people.
 */
export class CardholderListRepository {
  private readonly statement: (sql: string) => Statement<unknown[]>;
  private readonly totals = new Map<string, number>();
  private totalsGeneration = -1;

  constructor(private readonly db: Db) {
    // Unicode case folding for a search that is not plain ASCII (SQLite's lower() folds ASCII only).
    this.statement = statementCache(db);
    db.function('gp_lower', { deterministic: true }, (text: unknown) => (typeof text === 'string' ? text.toLowerCase() : text));
  }


  page(query: CardholderListQuery): { json: string[]; total: number } {
    if (query.holderId === null) return { json: [], total: 0 };
    const where: string[] = [];
    const params: unknown[] = [];
    // `{h}` is the cardholder's id in either shape of the query below.
    if (query.holderId !== undefined) {
      where.push('{h} = ?');
      params.push(query.holderId);
    }
    if (query.status !== undefined) {
      where.push('c.status = ?');
      params.push(query.status);
    }
    // A group is a few thousand people: their ids lead. A credential status is most people: checked per person.
    if (query.group !== undefined) {
      where.push('{h} IN (SELECT cardholder_id FROM cardholder_groups WHERE group_id = ?)');
      params.push(query.group);
    }
    if (query.credentialStatus !== undefined) {
      where.push('EXISTS (SELECT 1 FROM credentials k WHERE k.cardholder_id = {h} AND k.status = ?)');
      params.push(query.credentialStatus);
    }
    if (query.q !== undefined) {
      const needle = query.q.toLowerCase();
      const lower = /^[\x20-\x7e]*$/.test(needle) ? 'lower' : 'gp_lower';
      const digits = /^[0-9]+$/.test(query.q);
      where.push(
        `{h} IN (SELECT id FROM cardholders WHERE instr(${lower}(id), ?) > 0 OR instr(${lower}(name), ?) > 0
               UNION SELECT cardholder_id FROM credentials WHERE instr(${lower}(id), ?) > 0${digits ? ` OR masked LIKE '%' || ?` : ''})`,
      );
      params.push(needle, needle, needle, ...(digits ? [query.q] : []));
    }
    const filter = where.map((condition) => ` AND ${condition}`).join('');
    let from: string;
    let pageSql: string;
    if (query.sort === undefined) {
      // The site file's order: documents along their position index; the person's row only when a filter needs it.
      const join = query.status !== undefined ? ' JOIN cardholders c ON c.id = d.id' : '';
      from = `FROM site_documents d${join} WHERE d.collection = 'cardholders'${filter.replaceAll('{h}', 'd.id')}`;
      // The window from the position index alone (position, then rowid: both in the index), then the page's documents.
      pageSql = `SELECT s.json FROM (SELECT d.rowid AS r, d.position ${from} ORDER BY d.position, d.rowid LIMIT ? OFFSET ?) AS p CROSS JOIN site_documents s ON s.rowid = p.r ORDER BY p.position, p.r`;
    } else {
      const direction = query.sort.descending ? 'DESC' : 'ASC';
      const order = (table: string) => (query.sort!.field === 'id' ? `${table}.id ${direction}` : `${table}.${query.sort!.field} ${direction}, ${table}.id ${direction}`);
      // The window along the cardholders table's index (migration 13), then only the page's documents.
      from = `FROM cardholders c WHERE 1${filter.replaceAll('{h}', 'c.id')}`;
      // Only the id and the sort key: the window is read from the index alone (it covers them).
      // CROSS JOIN keeps that order: with LIMIT a parameter, SQLite otherwise walked every document.
      const columns = query.sort.field === 'id' ? 'c.id' : `c.id, c.${query.sort.field}`;
      pageSql = `SELECT d.json FROM (SELECT ${columns} ${from} ORDER BY ${order('c')} LIMIT ? OFFSET ?) AS p CROSS JOIN site_documents d ON d.collection = 'cardholders' AND d.id = p.id ORDER BY ${order('p')}`;
    }
    const json = this.statement(pageSql).pluck().all(...params, query.limit, query.offset) as string[];
    return { json, total: this.total(`SELECT count(*) ${from}`, params) };
  }

  private total(sql: string, params: readonly unknown[]): number {
    const generation = this.statement('SELECT value FROM people_generation WHERE id = 1').pluck().get() as number;
    if (generation !== this.totalsGeneration) {
      this.totals.clear();
      this.totalsGeneration = generation;
    }
    const key = `${sql}|${JSON.stringify(params)}`;
    let total = this.totals.get(key);
    if (total === undefined) {
      total = this.statement(sql).pluck().get(...params) as number;
      if (this.totals.size >= KEPT_TOTALS) this.totals.delete(this.totals.keys().next().value!);
      this.totals.set(key, total);
    }
    return total;
  }
}
