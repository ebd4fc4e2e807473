import type { Db } from './db.js';

/** Site-file entities as authored, per collection, in their authored order. */
export class SiteDocumentsRepository {
  // Prepared once: the API reads these on every list and get.
  private readonly listStatement;
  private readonly getStatement;
  private readonly positionStatement;
  private readonly nextPositionStatement;
  private readonly putStatement;
  private readonly moveStatement;
  private readonly deleteStatement;

  constructor(private readonly db: Db) {
    this.listStatement = db.prepare<[string], { json: string }>('SELECT json FROM site_documents WHERE collection = ? ORDER BY position, id');
    this.getStatement = db.prepare<[string, string], { json: string }>('SELECT json FROM site_documents WHERE collection = ? AND id = ?');
    this.positionStatement = db.prepare<[string, string], { position: number }>('SELECT position FROM site_documents WHERE collection = ? AND id = ?');
    this.nextPositionStatement = db.prepare<[string], { next: number }>('SELECT COALESCE(MAX(position) + 1, 0) AS next FROM site_documents WHERE collection = ?');
    this.putStatement = db.prepare<[{ collection: string; id: string; position: number; json: string; moved: number }]>(
      'INSERT INTO site_documents (collection, id, position, json) VALUES (@collection, @id, @position, @json) ON CONFLICT (collection, id) DO UPDATE SET json = excluded.json, position = CASE WHEN @moved THEN excluded.position ELSE position END',
    );
    this.moveStatement = db.prepare<[{ position: number; collection: string; id: string }]>('UPDATE site_documents SET position = @position WHERE collection = @collection AND id = @id AND position IS NOT @position');
    this.deleteStatement = db.prepare<[string, string]>('DELETE FROM site_documents WHERE collection = ? AND id = ?');
  }

  list(collection: string): unknown[] {
    return this.listStatement.all(collection).map((row) => JSON.parse(row.json) as unknown);
  }

  get(collection: string, id: string): unknown {
    const row = this.getStatement.get(collection, id);
    return row === undefined ? undefined : (JSON.parse(row.json) as unknown);
  }

  /** Inserts at the end, or replaces in place; `at` puts it at that position (a whole-site import: the file's order). */
  put(collection: string, id: string, item: unknown, at?: number): void {
    const position =
      at ??
      this.positionStatement.get(collection, id)?.position ??
      (this.nextPositionStatement.get(collection)?.next ?? 0);
    this.putStatement.run({ collection, id, position, json: JSON.stringify(item), moved: at === undefined ? 0 : 1 });
  }

  /** The stored JSON text of one document (compared as text by a whole-site import). */
  text(collection: string, id: string): string | undefined {
    return this.getStatement.get(collection, id)?.json;
  }

  /** Moves a document to a position (a whole-site import keeps the file's order). */
  move(collection: string, id: string, position: number): void {
    this.moveStatement.run({ position, collection, id });
  }

  delete(collection: string, id: string): void {
    this.deleteStatement.run(collection, id);
  }

  replaceCollection(collection: string, items: readonly { id: string; item: unknown }[]): void {
    this.db.prepare('DELETE FROM site_documents WHERE collection = ?').run(collection);
    const insert = this.db.prepare('INSERT INTO site_documents (collection, id, position, json) VALUES (?, ?, ?, ?)');
    items.forEach(({ id, item }, position) => insert.run(collection, id, position, JSON.stringify(item)));
  }
}
