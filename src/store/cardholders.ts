import type { Cardholder, Credential, CredentialStatus } from '../access/types.js';
import type { Statement } from 'better-sqlite3';
import type { Db } from './db.js';

interface CredentialRow {
  id: string;
  cardholder_id: string;
  kind: Credential['kind'];
  /** [SEC-CARD-DIGEST] keyed digest of the canonical key (16 bytes), never the number (migration 12). */
  digest: Buffer;
  masked: string;
  status: CredentialStatus;
  valid_from_ms: number | null;
  valid_until_ms: number | null;
}

/** One cardholder's rows for the card index; credentials as raw rows (id, kind, number, status, valid from, valid until). */
export interface IndexedHolderRow {
  readonly status: string;
  readonly groupIds: string[];
  readonly pinDigest: Buffer | null;
  readonly duressDigest: Buffer | null;
  readonly escort: { readonly groupIds: string[]; readonly windowMs: number } | null;
  readonly credentials: [id: string, kind: string, number: string, status: string, validFromMs: number | null, validUntilMs: number | null][];
}

/** Cardholders with their group memberships, and their credentials (one aggregate). */
export class CardholdersRepository {
  // Prepared once: an import of a panel-scale site runs these millions of times.
  private readonly statements = new Map<string, Statement<unknown[]>>();

  constructor(private readonly db: Db) {}

  private statement(sql: string): Statement<unknown[]> {
    let prepared = this.statements.get(sql);
    if (prepared === undefined) {
      prepared = this.db.prepare<unknown[]>(sql);
      this.statements.set(sql, prepared);
    }
    return prepared;
  }

  list(): Cardholder[] {
    // Streamed in primary-key order and with shared strings: a panel holds millions of cardholders,
    // and each row copied or each group id repeated costs memory the index keeps.
    const intern = new Map<string, string>();
    const shared = (text: string): string => {
      const known = intern.get(text);
      if (known !== undefined) return known;
      intern.set(text, text);
      return text;
    };
    const groupsOf = new Map<string, string[]>();
    for (const link of this.db.prepare<[], { cardholder_id: string; group_id: string }>('SELECT cardholder_id, group_id FROM cardholder_groups ORDER BY cardholder_id, group_id').iterate()) {
      const list = groupsOf.get(link.cardholder_id);
      if (list === undefined) groupsOf.set(link.cardholder_id, [shared(link.group_id)]);
      else list.push(shared(link.group_id));
    }
    const holders: Cardholder[] = [];
    for (const row of this.db.prepare<[], { id: string; name: string; status: Cardholder['status'] }>('SELECT id, name, status FROM cardholders ORDER BY id').iterate()) {
      holders.push({ id: row.id, name: row.name, status: row.status === 'active' ? 'active' : 'suspended', groupIds: groupsOf.get(row.id) ?? [] });
    }
    return holders;
  }

  /** `shareHolderId` may return an equal string already in memory (the cardholder's own id). */
  listCredentials(shareHolderId: (id: string) => string = (id) => id): Credential[] {
    const credentials: Credential[] = [];
    const statuses: Record<string, CredentialStatus> = { active: 'active', suspended: 'suspended', lost: 'lost', expired: 'expired' };
    for (const row of this.db.prepare<[], CredentialRow>('SELECT * FROM credentials ORDER BY id').iterate()) {
      credentials.push({
        id: row.id,
        cardholderId: shareHolderId(row.cardholder_id),
        kind: row.kind === 'wiegand' ? 'wiegand' : 'card',
        number: row.digest.toString('latin1'),
        // Shared literals instead of one string per row; an unknown status reads as suspended (fail closed).
        status: statuses[row.status] ?? 'suspended',
        validFromMs: row.valid_from_ms,
        validUntilMs: row.valid_until_ms,
      });
    }
    return credentials;
  }

  /** How much the index will hold (rows and bytes of ids and card digests), so it is allocated once instead of grown. */
  sizesForIndex(): { cardholders: number; cardholderIdBytes: number; memberships: number; credentials: number; credentialIdBytes: number; credentialKeyBytes: number } {
    const [holders, links, credentials] = this.withSmallCache(() => [
      this.db.prepare<[], { n: number; bytes: number | null }>('SELECT count(*) AS n, sum(length(id)) AS bytes FROM cardholders').get(),
      this.db.prepare<[], { n: number }>('SELECT count(*) AS n FROM cardholder_groups').get(),
      this.db.prepare<[], { n: number; ids: number | null; numbers: number | null }>('SELECT count(*) AS n, sum(length(id)) AS ids, sum(length(digest)) AS numbers FROM credentials').get(),
    ] as const);
    return {
      cardholders: holders?.n ?? 0,
      cardholderIdBytes: holders?.bytes ?? 0,
      memberships: links?.n ?? 0,
      credentials: credentials?.n ?? 0,
      credentialIdBytes: credentials?.ids ?? 0,
      credentialKeyBytes: credentials?.numbers ?? 0,
    };
  }

  /**
   * Every cardholder (groups as one comma list, PIN digests) and then every credential, as raw
   * rows handed to the visitors: the compact index is built from millions of rows without an
   * object per row [ACC-INDEX]. Group ids cannot hold a comma (site ids are [a-z0-9-]).
   */
  scanForIndex(
    holder: (id: string, status: string, groups: string | null, pinDigest: Buffer | null, duressDigest: Buffer | null) => void,
    credential: (id: string, cardholderId: string, kind: string, number: string, status: string, validFromMs: number | null, validUntilMs: number | null) => void,
  ): void {
    this.withSmallCache(() => this.scanRows(holder, credential));
  }

  /**
   * A one-pass scan of every person gains nothing from the page cache, and every page cached stays
   * as process memory (freed to malloc, rarely to the OS): at 100,000 people ~15 MB for nothing.
   */
  private withSmallCache<T>(scan: () => T): T {
    const cacheSize = this.db.pragma('cache_size', { simple: true }) as number;
    this.db.pragma('cache_size = -512');
    try {
      return scan();
    } finally {
      this.db.pragma(`cache_size = ${Math.trunc(cacheSize)}`);
      this.db.pragma('shrink_memory');
    }
  }

  private scanRows(
    holder: (id: string, status: string, groups: string | null, pinDigest: Buffer | null, duressDigest: Buffer | null) => void,
    credential: (id: string, cardholderId: string, kind: string, number: string, status: string, validFromMs: number | null, validUntilMs: number | null) => void,
  ): void {
    const holders = this.db
      .prepare(
        `SELECT c.id, c.status, (SELECT group_concat(g.group_id, ',') FROM cardholder_groups g WHERE g.cardholder_id = c.id), p.pin_digest, p.duress_digest
         FROM cardholders c LEFT JOIN cardholder_pins p ON p.cardholder_id = c.id`,
      )
      .raw();
    for (const row of holders.iterate() as IterableIterator<[string, string, string | null, Buffer | null, Buffer | null]>) holder(row[0], row[1], row[2], row[3], row[4]);
    const credentials = this.db.prepare('SELECT id, cardholder_id, kind, digest, status, valid_from_ms, valid_until_ms FROM credentials').raw();
    // Digests are 16-byte BLOBs; the index keys them as one-byte-per-character strings.
    for (const row of credentials.iterate() as IterableIterator<[string, string, string, Buffer, string, number | null, number | null]>) credential(row[0], row[1], row[2], row[3].toString('latin1'), row[4], row[5], row[6]);
  }

  /** Bumped by triggers on every write to the people tables, by any connection (migration 9). */
  generation(): number {
    return this.statement('SELECT value FROM people_generation WHERE id = 1').pluck().get() as number;
  }

  /**
   * The cardholders whose rows were written after generation `since`, from the change log that
   * migration 11's triggers keep, with the generation read in the same statement's snapshot (call
   * inside a transaction to read people consistently with it). `complete` is false when the log no
   * longer holds every change since (pruned past `since`, or rows deleted by hand): then only a
   * full read is right. Reads nothing when more than `maxChanges` rows were written since.
   */
  changesSince(since: number, maxChanges: number): { generation: number; changes: number; complete: boolean; cardholderIds: string[] } {
    const generation = this.generation();
    const changes = generation - since;
    if (changes <= 0 || changes > maxChanges) return { generation, changes, complete: changes === 0, cardholderIds: [] };
    const ids = new Set<string>();
    let rows = 0;
    let expected = since + 1;
    let inOrder = true;
    for (const [logged, id] of this.statement('SELECT generation, cardholder_id FROM people_changes WHERE generation > ? ORDER BY generation').raw().iterate(since) as IterableIterator<[number, string]>) {
      if (logged !== expected++) inOrder = false;
      rows++;
      ids.add(id);
    }
    return { generation, changes, complete: inOrder && rows === changes, cardholderIds: [...ids] };
  }

  /** Forgets the change log up to a generation a snapshot now covers, at most `limit` rows; returns how many went. */
  pruneChanges(upTo: number, limit: number): number {
    return this.statement('DELETE FROM people_changes WHERE generation IN (SELECT generation FROM people_changes WHERE generation <= ? ORDER BY generation LIMIT ?)').run(upTo, limit).changes;
  }

  /**
   * One cardholder as the index holds them (status, groups, PIN digests, escort rule, credentials)
   * through statements prepared once: a catch-up re-reads thousands of people in a row. Undefined
   * for a cardholder who no longer exists.
   */
  readForIndex(id: string): IndexedHolderRow | undefined {
    const holder = this.statement('SELECT c.status, p.pin_digest, p.duress_digest, e.groups, e.window_ms FROM cardholders c LEFT JOIN cardholder_pins p ON p.cardholder_id = c.id LEFT JOIN cardholder_escorts e ON e.cardholder_id = c.id WHERE c.id = ?')
      .raw()
      .get(id) as [string, Buffer | null, Buffer | null, string | null, number | null] | undefined;
    if (holder === undefined) return undefined;
    const groupIds = this.statement('SELECT group_id FROM cardholder_groups WHERE cardholder_id = ?').pluck().all(id) as string[];
    // Digests are 16-byte BLOBs; the index keys them as one-byte-per-character strings [SEC-CARD-DIGEST].
    const credentials = (this.statement('SELECT id, kind, digest, status, valid_from_ms, valid_until_ms FROM credentials WHERE cardholder_id = ?').raw().all(id) as [string, string, Buffer, string, number | null, number | null][]).map(
      ([credentialId, kind, digest, status, validFromMs, validUntilMs]): IndexedHolderRow['credentials'][number] => [credentialId, kind, digest.toString('latin1'), status, validFromMs, validUntilMs],
    );
    const [status, pinDigest, duressDigest, escortGroups, escortWindowMs] = holder;
    return {
      status,
      groupIds,
      pinDigest,
      duressDigest,
      escort: escortGroups === null || escortWindowMs === null ? null : { groupIds: JSON.parse(escortGroups) as string[], windowMs: escortWindowMs },
      credentials,
    };
  }

  /** People a change to a group concerns: its members and those it escorts (site/siteService.ts). */
  concernedByGroup(groupId: string): string[] {
    const members = this.statement('SELECT cardholder_id FROM cardholder_groups WHERE group_id = ?').pluck().all(groupId) as string[];
    // Escort groups are a JSON list of ids ([a-z0-9-]: nothing to escape in the pattern).
    const escorted = this.statement('SELECT cardholder_id FROM cardholder_escorts WHERE groups LIKE ?').pluck().all(`%"${groupId}"%`) as string[];
    return [...members, ...escorted];
  }

  /** Who holds the credential with this id, if anyone (uniqueness checks of one-person edits). */
  credentialHolderOf(credentialId: string): string | undefined {
    return this.statement('SELECT cardholder_id FROM credentials WHERE id = ?').pluck().get(credentialId) as string | undefined;
  }

  /** The credential holding this card, by its digest (CardDigester), through the unique index. */
  holderOfDigest(kind: Credential['kind'], digest: string): { credentialId: string; cardholderId: string } | undefined {
    const row = this.statement('SELECT id, cardholder_id FROM credentials WHERE kind = ? AND digest = ?').get(kind, Buffer.from(digest, 'latin1')) as { id: string; cardholder_id: string } | undefined;
    return row === undefined ? undefined : { credentialId: row.id, cardholderId: row.cardholder_id };
  }

  /** One cardholder with its groups (for incremental index updates). */
  get(id: string): Cardholder | undefined {
    const row = this.db.prepare<[string], { id: string; name: string; status: Cardholder['status'] }>('SELECT id, name, status FROM cardholders WHERE id = ?').get(id);
    if (row === undefined) return undefined;
    const groupIds = this.db.prepare<[string], { group_id: string }>('SELECT group_id FROM cardholder_groups WHERE cardholder_id = ? ORDER BY group_id').all(id).map((link) => link.group_id);
    return { id: row.id, name: row.name, status: row.status, groupIds };
  }

  /** One cardholder's credentials (for incremental index updates). */
  credentialsOf(cardholderId: string): Credential[] {
    return this.db
      .prepare<[string], CredentialRow>('SELECT * FROM credentials WHERE cardholder_id = ? ORDER BY id')
      .all(cardholderId)
      .map((row) => ({ id: row.id, cardholderId: row.cardholder_id, kind: row.kind, number: row.digest.toString('latin1'), status: row.status, validFromMs: row.valid_from_ms, validUntilMs: row.valid_until_ms }));
  }

  upsert(holder: Cardholder): void {
    const write = () => {
      this.statement('INSERT INTO cardholders (id, name, status) VALUES (?, ?, ?) ON CONFLICT (id) DO UPDATE SET name = excluded.name, status = excluded.status').run(holder.id, holder.name, holder.status);
      this.statement('DELETE FROM cardholder_groups WHERE cardholder_id = ?').run(holder.id);
      const link = this.statement('INSERT INTO cardholder_groups (cardholder_id, group_id) VALUES (?, ?)');
      for (const groupId of holder.groupIds) link.run(holder.id, groupId);
    };
    // Inside a caller's transaction (an import writes millions) no savepoint per person is needed:
    // the caller's transaction is rolled back whole on any error.
    if (this.db.inTransaction) write();
    else this.db.transaction(write)();
  }

  /** `credential.number` is the card's digest (CardDigester), `masked` what people see of it. */
  upsertCredential(credential: Credential, masked: string): void {
    this
      .statement(
        `INSERT INTO credentials (id, cardholder_id, kind, digest, masked, status, valid_from_ms, valid_until_ms)
         VALUES (@id, @cardholderId, @kind, @number, @masked, @status, @validFromMs, @validUntilMs)
         ON CONFLICT (id) DO UPDATE SET cardholder_id = excluded.cardholder_id, kind = excluded.kind, digest = excluded.digest, masked = excluded.masked,
           status = excluded.status, valid_from_ms = excluded.valid_from_ms, valid_until_ms = excluded.valid_until_ms`,
      )
      .run({ ...credential, number: Buffer.from(credential.number, 'latin1'), masked });
  }

  delete(id: string): void {
    this.statement('DELETE FROM cardholders WHERE id = ?').run(id);
  }

  /** Removes the holder's credentials not in `keepIds` (the credentials of a replaced holder). */
  deleteCredentialsExcept(cardholderId: string, keepIds: readonly string[]): void {
    const existing = this.statement('SELECT id FROM credentials WHERE cardholder_id = ?').pluck().all(cardholderId) as string[];
    const remove = this.statement('DELETE FROM credentials WHERE id = ?');
    for (const id of existing) if (!keepIds.includes(id)) remove.run(id);
  }
}
