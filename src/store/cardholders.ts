import type { Cardholder, Credential, CredentialStatus } from '../access/types.js';
import type { Statement } from 'better-sqlite3';
import { statementCache, type Db } from './db.js';

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
  private readonly statement: (sql: string) => Statement<unknown[]>;

  constructor(private readonly db: Db) {
    this.statement = statementCache(db);
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
        digest: row.digest.toString('latin1'),
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
   * Row counts for a bulk load on a worker thread, without the byte totals of `sizesForIndex`
   * (those read every id: ~1 s at 2,000,000 people). A count alone walks the narrowest index.
   * Arenas are then sized by an estimate per id and grow if need be: the worker's garbage goes
   * with the worker, and `CardIndex.trim()` takes the slack off the index it answers.
   */
  countsForIndex(which: { readonly cardholders?: boolean; readonly memberships?: boolean; readonly credentials?: boolean }): { cardholders: number; memberships: number; credentials: number } {
    const count = (table: string): number => this.statement(`SELECT count(*) FROM ${table}`).pluck().get() as number;
    return {
      cardholders: which.cardholders === true ? count('cardholders') : 0,
      memberships: which.memberships === true ? count('cardholder_groups') : 0,
      credentials: which.credentials === true ? count('credentials') : 0,
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

  /**
   * Every cardholder in rowid order, `batchRows` at a time, each batch as ONE byte string that
   * SQLite assembles: per row `<id bytes>:<id>`, `a` (active) or `s`, each group as
   * `<bytes>:<group id>`, then `;<PIN digest hex>;<duress digest hex>;`. Handing better-sqlite3 one
   * value per batch instead of five per row makes the read ~5× cheaper: at panel scale most of a
   * row-by-row read was the JS values made per row, not SQLite [ACC-INDEX]. `rows` is the batch's
   * row count, so a row the concatenation dropped (a NULL id) is noticed (site/cardIndexParts.ts).
   */
  scanHolderBatches(batchRows: number, visit: (rows: number, bytes: Buffer) => void): void {
    const batch = this.statement(
      `SELECT count(*), CAST(group_concat(
         octet_length(id) || ':' || id || CASE status WHEN 'active' THEN 'a' ELSE 's' END ||
         coalesce((SELECT group_concat(octet_length(g.group_id) || ':' || g.group_id, '') FROM cardholder_groups g WHERE g.cardholder_id = h.id), '') ||
         ';' || coalesce(hex(pin), '') || ';' || coalesce(hex(duress), '') || ';', '') AS BLOB), max(row)
       FROM (SELECT c.rowid AS row, c.id, c.status, p.pin_digest AS pin, p.duress_digest AS duress FROM cardholders c LEFT JOIN cardholder_pins p ON p.cardholder_id = c.id
             WHERE c.rowid > ? ORDER BY c.rowid LIMIT ?) h`,
    ).raw();
    this.withSmallCache(() => {
      for (let after = Number.MIN_SAFE_INTEGER; ; ) {
        const [rows, bytes, last] = batch.get(after, batchRows) as [number, Buffer | null, number | null];
        if (rows === 0 || last === null) return;
        visit(rows, bytes ?? Buffer.alloc(0));
        after = last;
      }
    });
  }

  /**
   * Every credential in rowid order, batched like `scanHolderBatches`: per row `<bytes>:<id>`,
   * `<bytes>:<cardholder id>`, kind (`w` Wiegand, `c` card), status (0 active, 1 suspended or
   * unknown, 2 lost, 3 expired), `<bytes>:<digest>` (the BLOB's bytes as they are: SQLite copies
   * them through `||` and `group_concat` unchanged, NULs included), then `<valid from ms>;<valid
   * until ms>;`.
   */
  scanCredentialBatches(batchRows: number, visit: (rows: number, bytes: Buffer) => void, range: { readonly after?: number; readonly upTo?: number } = {}): void {
    const batch = this.statement(
      `SELECT count(*), CAST(group_concat(
         octet_length(id) || ':' || id || octet_length(cardholder_id) || ':' || cardholder_id ||
         CASE kind WHEN 'wiegand' THEN 'w' ELSE 'c' END ||
         CASE status WHEN 'active' THEN '0' WHEN 'lost' THEN '2' WHEN 'expired' THEN '3' ELSE '1' END ||
         octet_length(digest) || ':' || digest || coalesce(valid_from_ms, '') || ';' || coalesce(valid_until_ms, '') || ';', '') AS BLOB), max(row)
       FROM (SELECT rowid AS row, id, cardholder_id, kind, status, digest, valid_from_ms, valid_until_ms FROM credentials WHERE rowid > ? AND rowid <= ? ORDER BY rowid LIMIT ?)`,
    ).raw();
    const upTo = range.upTo ?? Number.MAX_SAFE_INTEGER;
    this.withSmallCache(() => {
      for (let after = range.after ?? Number.MIN_SAFE_INTEGER; ; ) {
        const [rows, bytes, last] = batch.get(after, upTo, batchRows) as [number, Buffer | null, number | null];
        if (rows === 0 || last === null) return;
        visit(rows, bytes ?? Buffer.alloc(0));
        after = last;
      }
    });
  }

  /**
   * The credential rowid below which (inclusive) about `share` of the rowid range lies: two
   * readers of one state split the credentials there.
   */
  credentialRowidAt(share: number): number {
    // Two statements: SQLite answers min() or max() alone from the b-tree's ends, both at once by a full scan.
    const low = this.statement('SELECT min(rowid) FROM credentials').pluck().get() as number | null;
    const high = this.statement('SELECT max(rowid) FROM credentials').pluck().get() as number | null;
    if (low === null || high === null) return 0;
    return Math.floor(low + share * (high - low));
  }

  /** Whether there are at least `count` cardholders, reading no more than that many rows. */
  atLeast(count: number): boolean {
    return (this.statement('SELECT count(*) FROM (SELECT 1 FROM cardholders LIMIT ?)').pluck().get(count) as number) >= count;
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
      .map((row) => ({ id: row.id, cardholderId: row.cardholder_id, kind: row.kind, digest: row.digest.toString('latin1'), status: row.status, validFromMs: row.valid_from_ms, validUntilMs: row.valid_until_ms }));
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

  /** `credential.digest` is the card's digest (CardDigester), `masked` what people see of it. */
  upsertCredential(credential: Credential, masked: string): void {
    this
      .statement(
        `INSERT INTO credentials (id, cardholder_id, kind, digest, masked, status, valid_from_ms, valid_until_ms)
         VALUES (@id, @cardholderId, @kind, @digest, @masked, @status, @validFromMs, @validUntilMs)
         ON CONFLICT (id) DO UPDATE SET cardholder_id = excluded.cardholder_id, kind = excluded.kind, digest = excluded.digest, masked = excluded.masked,
           status = excluded.status, valid_from_ms = excluded.valid_from_ms, valid_until_ms = excluded.valid_until_ms`,
      )
      .run({ ...credential, digest: Buffer.from(credential.digest, 'latin1'), masked });
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
