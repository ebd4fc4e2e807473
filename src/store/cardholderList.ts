import { createHash } from 'node:crypto';
import type { Statement } from 'better-sqlite3';
import { GuardpostError } from '../errors.js';
import { statementCache, type Db } from './db.js';

/** A page of the cardholder list as the API asks for it: filters, text, order, window. */
export interface CardholderListQuery {
  readonly limit: number;
  readonly offset: number;
  /** A cursor (`next` of an earlier page of the same sort): the page starts after that row, found along the index. */
  readonly after?: string;
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

/** The shortest text the trigram index can search (FTS5 trigrams); shorter text is scanned for. */
export const INDEXED_SEARCH_CHARS = 3;

/** Logged rows folded into the search index before one search at most (~1 µs each); the rest are searched beside it. */
export const SEARCH_CATCH_UP_ROWS = 200_000;

/** The searched tables (migration 14): their index and their kind in `cardholder_search_pending`. */
const SEARCHED = [
  { table: 'cardholders', index: 'cardholders_search', kind: 0, columns: ['id', 'name'] },
  { table: 'credentials', index: 'credentials_search', kind: 1, columns: ['id', 'masked'] },
] as const;

/** What a cursor continues: the site file's order or a sort, and the last row's key in it. */
type SortTag = 'file' | 'id' | '-id' | 'name' | '-name' | 'status' | '-status';
type CursorKey = readonly [position: number, rowid: number] | readonly [id: string] | readonly [value: string, id: string];

const sortTag = (sort: CardholderListQuery['sort']): SortTag => (sort === undefined ? 'file' : (`${sort.descending ? '-' : ''}${sort.field}` as SortTag));
const describeSort = (tag: string): string => (tag === 'file' ? 'in the site file\'s order (no sort)' : `sorted by sort=${tag}`);
const checksum = (payload: string): string => createHash('sha256').update(`gp-list-cursor|${payload}`).digest('base64url').slice(0, 8);

/**
 * A cursor: base64url JSON of the sort and the last row's key, and a checksum of it. Not a
 * secret (it holds what the caller was just shown); the checksum only catches a cursor cut short
 * or edited by hand, which would otherwise silently start somewhere else.
 */
export function encodeCursor(tag: SortTag, key: CursorKey): string {
  const payload = Buffer.from(JSON.stringify({ v: 1, s: tag, k: key }), 'utf8').toString('base64url');
  return `${payload}.${checksum(payload)}`;
}

/** The key a cursor continues after, for a query of this sort; anything else is a 400 naming `after`. */
export function decodeCursor(cursor: string, sort: CardholderListQuery['sort']): CursorKey {
  const bad = (why: string) => new GuardpostError('GP_ERR_BAD_REQUEST', `querystring.after: ${why}; use the X-Next-Cursor of the page before, unchanged, or start again without after`);
  const [payload, sum, ...extra] = cursor.split('.');
  if (payload === undefined || sum === undefined || extra.length > 0 || !/^[A-Za-z0-9_-]+$/.test(payload)) throw bad('not a list cursor');
  if (checksum(payload) !== sum) throw bad('the cursor was changed or cut short (its checksum does not match)');
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8'));
  } catch {
    throw bad('not a list cursor');
  }
  const { v, s, k } = (parsed ?? {}) as { v?: unknown; s?: unknown; k?: unknown };
  if (v !== 1 || typeof s !== 'string' || !Array.isArray(k)) throw bad('not a list cursor of this version');
  const tag = sortTag(sort);
  if (s !== tag) throw bad(`the cursor continues a list ${describeSort(s)}, this request asks for one ${describeSort(tag)}`);
  const shapeOk =
    tag === 'file' ? k.length === 2 && k.every((part) => Number.isSafeInteger(part)) : tag === 'id' || tag === '-id' ? k.length === 1 && typeof k[0] === 'string' : k.length === 2 && k.every((part) => typeof part === 'string');
  if (!shapeOk) throw bad('the cursor\'s key does not fit its sort');
  return k as unknown as CursorKey;
}

/** The trigrams of a text, each a quoted FTS5 string: all of them must be in a row's index for it to hold the text. */
function trigramQuery(text: string): string {
  const chars = [...text];
  const grams = new Set<string>();
  for (let i = 0; i + INDEXED_SEARCH_CHARS <= chars.length; i++) grams.add(chars.slice(i, i + INDEXED_SEARCH_CHARS).join(''));
  return [...grams].map((gram) => `"${gram.replaceAll('"', '""')}"`).join(' ');
}

/**
 * The cardholder list in SQL [SITE-LIST]: filtered, sorted and paged along indexes (migrations 13
 * and 14), never by loading people into JavaScript. The sorted window is found on the
 * `cardholders` table first and only the page's documents are read; the site file's order walks
 * the documents by position. A page is asked for by `offset` (walks the rows it skips) or
 * `after` a cursor (a range along the same index: the same cost at the end of millions as at the
 * start). Totals are counted once per people generation and filter (a count walks an index:
 * ~0.1 s at 2,000,000 people). Text search (`q`) of 3 characters or more narrows by the trigram
 * indexes (migration 14) and the rows logged since they were brought up to date, and checks each
 * candidate exactly as the scan did; 1 or 2 characters scan ids, names and credential ids in
 * SQLite (no object per row), ~1 s per million people.
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

  /** One page; `next` is the cursor of its last row when more rows follow (whether asked by offset or cursor). */
  page(query: CardholderListQuery): { json: string[]; total: number; next?: string } {
    const after = query.after === undefined ? undefined : decodeCursor(query.after, query.sort);
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
      // The exact test (a substring after case folding; digits also a masked card's visible end).
      const holderMatches = `instr(${lower}(ch.id), ?) > 0 OR instr(${lower}(ch.name), ?) > 0`;
      const credentialMatches = `instr(${lower}(kr.id), ?) > 0${digits ? ` OR kr.masked LIKE '%' || ?` : ''}`;
      const tests = [needle, needle, needle, ...(digits ? [query.q] : [])];
      if ([...query.q].length >= INDEXED_SEARCH_CHARS) {
        // The trigram indexes give the rows holding every trigram of the text, the log the rows
        // written since the index was brought up to date; each is then tested exactly.
        this.catchUpSearchIndex();
        const grams = trigramQuery(query.q);
        const candidates = (index: string, kind: number) => `SELECT rowid FROM ${index} WHERE ${index} MATCH ? UNION ALL SELECT row FROM cardholder_search_pending WHERE kind = ${kind}`;
        where.push(
          `{h} IN (SELECT ch.id FROM cardholders ch WHERE ch.rowid IN (${candidates('cardholders_search', 0)}) AND (${holderMatches})
                 UNION SELECT kr.cardholder_id FROM credentials kr WHERE kr.rowid IN (${candidates('credentials_search', 1)}) AND (${credentialMatches}))`,
        );
        params.push(grams, needle, needle, grams, ...tests.slice(2));
      } else {
        where.push(`{h} IN (SELECT ch.id FROM cardholders ch WHERE ${holderMatches} UNION SELECT kr.cardholder_id FROM credentials kr WHERE ${credentialMatches})`);
        params.push(...tests);
      }
    }
    const filter = where.map((condition) => ` AND ${condition}`).join('');
    const tag = sortTag(query.sort);
    let from: string;
    let pageSql: string;
    let keyOf: (row: Record<string, unknown>) => CursorKey;
    const range: unknown[] = [];
    if (query.sort === undefined) {
      // The site file's order: documents along their position index; the person's row only when a filter needs it.
      const join = query.status !== undefined ? ' JOIN cardholders c ON c.id = d.id' : '';
      from = `FROM site_documents d${join} WHERE d.collection = 'cardholders'${filter.replaceAll('{h}', 'd.id')}`;
      if (after !== undefined) range.push(...(after as readonly unknown[]));
      const start = after === undefined ? '' : ' AND (d.position, d.rowid) > (?, ?)';
      // The window from the position index alone (position, then rowid: both in the index), then the page's documents.
      // A text search starts from its matches and sorts them (`+`: not along the position index,
      // which would walk every person to find a few).
      const position = query.q === undefined ? 'd.position' : '+d.position';
      pageSql = `SELECT p.position AS k1, p.r AS k2, s.json FROM (SELECT d.rowid AS r, d.position ${from}${start} ORDER BY ${position}, d.rowid LIMIT ? OFFSET ?) AS p LEFT JOIN site_documents s ON s.rowid = p.r ORDER BY p.position, p.r`;
      keyOf = (row) => [row.k1 as number, row.k2 as number];
    } else {
      const { field, descending } = query.sort;
      const direction = descending ? 'DESC' : 'ASC';
      const order = (table: string) => (field === 'id' ? `${table}.id ${direction}` : `${table}.${field} ${direction}, ${table}.id ${direction}`);
      const outerOrder = field === 'id' ? `p.k1 ${direction}` : `p.k1 ${direction}, p.k2 ${direction}`;
      // The window along the cardholders table's index (migration 13), then only the page's documents.
      from = `FROM cardholders c WHERE 1${filter.replaceAll('{h}', 'c.id')}`;
      let start = '';
      if (after !== undefined) {
        // A range on the index the order walks: (value, id) past the cursor's in the sort's direction.
        start = field === 'id' ? ` AND c.id ${descending ? '<' : '>'} ?` : ` AND (c.${field}, c.id) ${descending ? '<' : '>'} (?, ?)`;
        range.push(...(after as readonly unknown[]));
      }
      // Only the id and the sort key: the window is read from the index alone (it covers them).
      // CROSS JOIN keeps that order: with LIMIT a parameter, SQLite otherwise walked every document.
      const columns = field === 'id' ? 'c.id AS k1' : `c.${field} AS k1, c.id AS k2`;
      pageSql = `SELECT p.*, d.json FROM (SELECT ${columns} ${from}${start} ORDER BY ${order('c')} LIMIT ? OFFSET ?) AS p LEFT JOIN site_documents d ON d.collection = 'cardholders' AND d.id = ${field === 'id' ? 'p.k1' : 'p.k2'} ORDER BY ${outerOrder}`;
      keyOf = (row) => (field === 'id' ? [row.k1 as string] : [row.k1 as string, row.k2 as string]);
    }
    // One row more than the page: whether another page follows, without counting.
    const rows = this.statement(pageSql).all(...params, ...range, query.limit + 1, query.offset) as Record<string, unknown>[];
    const window = rows.slice(0, query.limit);
    // A person whose document is missing (rows written by hand in SQL) is counted but not shown.
    const json = window.flatMap((row) => (typeof row.json === 'string' ? [row.json] : []));
    const last = window.at(-1);
    const next = rows.length > query.limit && last !== undefined ? encodeCursor(tag, keyOf(last)) : undefined;
    return { json, total: this.total(`SELECT count(*) ${from}`, params), ...(next === undefined ? {} : { next }) };
  }

  /**
   * Folds the rows the triggers logged (migration 14) into the search indexes, at most
   * `SEARCH_CATCH_UP_ROWS` a time, in one statement per step (FTS5 writes a segment per
   * statement: a row at a time is ~20× dearer). A search never waits for another writer (a CLI
   * import holding the database): the logged rows are searched beside the index meanwhile;
   * `waitForWriters` (the CLI after an import) waits as any write does. Returns how many logged
   * rows are left (0: up to date).
   */
  catchUpSearchIndex(maxRows = SEARCH_CATCH_UP_ROWS, waitForWriters = false): number {
    const left = () => this.statement('SELECT count(*) FROM cardholder_search_pending').pluck().get() as number;
    if (this.db.inTransaction) return left();
    if (this.statement('SELECT EXISTS (SELECT 1 FROM cardholder_search_pending)').pluck().get() === 0) return 0;
    const busyTimeoutMs = this.db.pragma('busy_timeout', { simple: true }) as number;
    if (!waitForWriters) this.db.pragma('busy_timeout = 0');
    try {
      this.db
        .transaction(() => {
          for (const { table, index, kind, columns } of SEARCHED) {
            // The rows of this step: the first `maxRows` logged (all when fewer).
            const last = this.statement('SELECT row FROM cardholder_search_pending WHERE kind = ? ORDER BY row LIMIT 1 OFFSET ?').pluck().get(kind, maxRows - 1) as number | undefined;
            const range = last === undefined ? '' : ' AND row <= ?';
            const bound = last === undefined ? [] : [last];
            const [first, second] = columns;
            // What the index holds leaves with the values it was given; then the rows as they are now.
            this.statement(`INSERT INTO ${index} (${index}, rowid, ${first}, ${second}) SELECT 'delete', row, old1, old2 FROM cardholder_search_pending WHERE kind = ? AND old1 IS NOT NULL${range}`).run(kind, ...bound);
            this.statement(`INSERT INTO ${index} (rowid, ${first}, ${second}) SELECT t.rowid, t.${first}, t.${second} FROM cardholder_search_pending p CROSS JOIN ${table} t ON t.rowid = p.row WHERE p.kind = ?${range}`).run(kind, ...bound);
            this.statement(`DELETE FROM cardholder_search_pending WHERE kind = ?${range}`).run(kind, ...bound);
          }
        })
        .immediate();
    } catch (error) {
      if (waitForWriters || (error as { code?: unknown }).code !== 'SQLITE_BUSY') throw error;
    } finally {
      if (!waitForWriters) this.db.pragma(`busy_timeout = ${busyTimeoutMs}`);
    }
    return left();
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
