import type { Cardholder, Credential, CredentialStatus } from '../access/types.js';
import type { Db } from './db.js';

interface CredentialRow {
  id: string;
  cardholder_id: string;
  kind: Credential['kind'];
  number: string;
  status: CredentialStatus;
  valid_from_ms: number | null;
  valid_until_ms: number | null;
}

/** Cardholders with their group memberships, and their credentials (one aggregate). */
export class CardholdersRepository {
  constructor(private readonly db: Db) {}

  list(): Cardholder[] {
    const holders = this.db.prepare<[], { id: string; name: string; status: Cardholder['status'] }>('SELECT * FROM cardholders ORDER BY id').all();
    const links = this.db.prepare<[], { cardholder_id: string; group_id: string }>('SELECT cardholder_id, group_id FROM cardholder_groups ORDER BY group_id').all();
    // One pass over the links: a site may hold millions of cardholders.
    const groupsOf = new Map<string, string[]>();
    for (const link of links) {
      const list = groupsOf.get(link.cardholder_id);
      if (list === undefined) groupsOf.set(link.cardholder_id, [link.group_id]);
      else list.push(link.group_id);
    }
    return holders.map((holder) => ({ ...holder, groupIds: groupsOf.get(holder.id) ?? [] }));
  }

  listCredentials(): Credential[] {
    return this.db
      .prepare<[], CredentialRow>('SELECT * FROM credentials ORDER BY id')
      .all()
      .map((row) => ({
        id: row.id,
        cardholderId: row.cardholder_id,
        kind: row.kind,
        number: row.number,
        status: row.status,
        validFromMs: row.valid_from_ms,
        validUntilMs: row.valid_until_ms,
      }));
  }

  upsert(holder: Cardholder): void {
    this.db.transaction(() => {
      this.db
        .prepare('INSERT INTO cardholders (id, name, status) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status')
        .run(holder.id, holder.name, holder.status);
      this.db.prepare('DELETE FROM cardholder_groups WHERE cardholder_id = ?').run(holder.id);
      const link = this.db.prepare('INSERT INTO cardholder_groups (cardholder_id, group_id) VALUES (?, ?)');
      for (const groupId of holder.groupIds) link.run(holder.id, groupId);
    })();
  }

  upsertCredential(credential: Credential): void {
    this.db
      .prepare(
        `INSERT INTO credentials (id, cardholder_id, kind, number, status, valid_from_ms, valid_until_ms)
         VALUES (@id, @cardholderId, @kind, @number, @status, @validFromMs, @validUntilMs)
         ON CONFLICT (id) DO UPDATE SET cardholder_id = excluded.cardholder_id, kind = excluded.kind, number = excluded.number,
           status = excluded.status, valid_from_ms = excluded.valid_from_ms, valid_until_ms = excluded.valid_until_ms`,
      )
      .run(credential);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM cardholders WHERE id = ?').run(id);
  }

  /** Removes the holder's credentials not in `keepIds` (the credentials of a replaced holder). */
  deleteCredentialsExcept(cardholderId: string, keepIds: readonly string[]): void {
    const existing = this.db.prepare<[string], { id: string }>('SELECT id FROM credentials WHERE cardholder_id = ?').all(cardholderId);
    const remove = this.db.prepare('DELETE FROM credentials WHERE id = ?');
    for (const { id } of existing) if (!keepIds.includes(id)) remove.run(id);
  }
}
