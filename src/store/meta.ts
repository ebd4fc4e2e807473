import type { Db } from './db.js';

/** Small key/value facts about this installation (site identity, import marker). */
export class MetaRepository {
  private readonly getStatement;
  private readonly setStatement;

  constructor(db: Db) {
    this.getStatement = db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE key = ?');
    this.setStatement = db.prepare('INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value');
  }

  get(key: string): string | undefined {
    return this.getStatement.get(key)?.value;
  }

  set(key: string, value: string): void {
    this.setStatement.run(key, value);
  }
}
