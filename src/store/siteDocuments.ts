import type { Db } from './db.js';

/** Site-file entities as authored, per collection, in their authored order. */
export class SiteDocumentsRepository {
  // Prepared once: the API reads these on every list and get.
  private readonly listStatement;
  private readonly getStatement;

  constructor(private readonly db: Db) {
    this.listStatement = db.prepare<[string], { json: string }>('SELECT json FROM site_documents WHERE collection = ? ORDER BY position, id');
    this.getStatement = db.prepare<[string, string], { json: string }>('SELECT json FROM site_documents WHERE collection = ? AND id = ?');
  }

  list(collection: string): unknown[] {
    return this.listStatement.all(collection).map((row) => JSON.parse(row.json) as unknown);
  }

  get(collection: string, id: string): unknown {
    const row = this.getStatement.get(collection, id);
    return row === undefined ? undefined : (JSON.parse(row.json) as unknown);
  }

  /** Inserts at the end, or replaces in place. */
  put(collection: string, id: string, item: unknown): void {
    const position =
      this.db.prepare<[string, string], { position: number }>('SELECT position FROM site_documents WHERE collection = ? AND id = ?').get(collection, id)?.position ??
      (this.db.prepare<[string], { next: number }>('SELECT COALESCE(MAX(position) + 1, 0) AS next FROM site_documents WHERE collection = ?').get(collection)?.next ?? 0);
    this.db
      .prepare('INSERT INTO site_documents (collection, id, position, json) VALUES (?, ?, ?, ?) ON CONFLICT (collection, id) DO UPDATE SET json = excluded.json')
      .run(collection, id, position, JSON.stringify(item));
  }

  delete(collection: string, id: string): void {
    this.db.prepare('DELETE FROM site_documents WHERE collection = ? AND id = ?').run(collection, id);
  }

  replaceCollection(collection: string, items: readonly { id: string; item: unknown }[]): void {
    this.db.prepare('DELETE FROM site_documents WHERE collection = ?').run(collection);
    const insert = this.db.prepare('INSERT INTO site_documents (collection, id, position, json) VALUES (?, ?, ?, ?)');
    items.forEach(({ id, item }, position) => insert.run(collection, id, position, JSON.stringify(item)));
  }
}
