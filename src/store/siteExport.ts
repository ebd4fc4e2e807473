import Database from 'better-sqlite3';
import { SiteDataSchema, type SiteData } from '../config/siteSchema.js';
import type { Db } from './db.js';
import type { Store } from './index.js';

/** What reading the site needs of the documents (the store's repository, or a read snapshot's). */
export interface SiteDocumentSource {
  list(collection: string): unknown[];
}

/**
 * The store's site data in the site-file shape, from the documents kept as authored: what
 * `guardpost export` writes and what the API validates a change against. PINs are never
 * exported (only their digests are kept); a test keeps export and import in step.
 */
export function exportSiteData(store: Store, options: { readonly withoutCardholders?: boolean } = {}): SiteData {
  return exportSiteDataFrom(store.documents, options);
}

export function exportSiteDataFrom(source: SiteDocumentSource, options: { readonly withoutCardholders?: boolean } = {}): SiteData {
  const [site] = source.list('site');
  if (site === undefined) throw new Error('no site data in the store');
  const data: Record<string, unknown> = { site };
  for (const [collection, schema] of Object.entries(SiteDataSchema.properties)) {
    if (collection === 'site') continue;
    // Everything but the people: what a change to one cardholder is checked against (O(rules), not O(site)).
    if (collection === 'cardholders' && options.withoutCardholders === true) {
      data[collection] = [];
      continue;
    }
    const documents = source.list(collection);
    // Settings objects are one document; absent ones fall back to the schema's default.
    data[collection] = (schema as { type?: string }).type === 'array' ? documents : (documents[0] ?? (schema as { default?: unknown }).default ?? {});
  }
  return data as unknown as SiteData;
}

/** Where a page of cardholder documents ends: the next page starts after it (keyset, not OFFSET). */
export interface DocumentCursor {
  readonly position: number;
  readonly id: string;
}

/**
 * The site as of one moment, read in pages: a read-only connection of its own holding one read
 * transaction (a WAL snapshot), so an export that takes a minute at panel scale, yielding to the
 * event loop between pages, is still one consistent site while the gateway keeps writing through
 * its own connection. A database in memory (unit tests) is read through the store's connection.
 */
export class SiteReadSnapshot implements SiteDocumentSource {
  private readonly db: Db;
  private readonly own: boolean;
  private readonly listStatement;
  private readonly pageStatement;
  private readonly countStatement;

  constructor(store: Store) {
    this.own = store.db.name !== ':memory:' && store.db.name !== '';
    this.db = this.own ? new Database(store.db.name, { readonly: true, fileMustExist: true }) : store.db;
    try {
      // One pass over millions of rows gains nothing from a page cache (see cardholders.ts withSmallCache).
      if (this.own) this.db.pragma('cache_size = -1024');
      this.listStatement = this.db.prepare<[string], { json: string }>('SELECT json FROM site_documents WHERE collection = ? ORDER BY position, id');
      this.pageStatement = this.db.prepare<[number, number, string, number], { position: number; id: string; json: string }>(
        `SELECT position, id, json FROM site_documents WHERE collection = 'cardholders' AND position >= ? AND NOT (position = ? AND id <= ?)
         ORDER BY position, id LIMIT ?`,
      );
      this.countStatement = this.db.prepare<[], { n: number }>(`SELECT count(*) AS n FROM site_documents WHERE collection = 'cardholders'`);
      if (this.own) {
        this.db.exec('BEGIN');
        // The snapshot is taken by the first read, not by BEGIN.
        this.countStatement.get();
      }
    } catch (error) {
      if (this.own) this.db.close();
      throw error;
    }
  }

  list(collection: string): unknown[] {
    return this.listStatement.all(collection).map((row) => JSON.parse(row.json) as unknown);
  }

  /** The site without its people (small: rules, doors, devices). */
  withoutCardholders(): SiteData {
    return exportSiteDataFrom(this, { withoutCardholders: true });
  }

  cardholderCount(): number {
    return this.countStatement.get()?.n ?? 0;
  }

  /** Up to `limit` cardholder documents after `after`, in the site file's order, as their stored JSON text. */
  cardholderPage(after: DocumentCursor | null, limit: number): { json: string[]; next: DocumentCursor | null } {
    const rows = this.pageStatement.all(after?.position ?? -1, after?.position ?? -1, after?.id ?? '', limit);
    const last = rows.at(-1);
    return { json: rows.map((row) => row.json), next: last === undefined ? null : { position: last.position, id: last.id } };
  }

  close(): void {
    if (!this.own || !this.db.open) return;
    try {
      if (this.db.inTransaction) this.db.exec('COMMIT');
    } finally {
      this.db.close();
    }
  }
}
