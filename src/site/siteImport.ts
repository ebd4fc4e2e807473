import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { parseSiteData } from '../config/load.js';
import type { SiteCardholder, SiteData } from '../config/siteSchema.js';
import { GuardpostError } from '../errors.js';
import type { AuditInput, Store } from '../store/index.js';
import { sealCardholderCredentials, storedCardOf, type CredentialProblem } from '../store/cardCredentials.js';
import { exportSiteData } from '../store/siteExport.js';
import { cardholderDocument, writeCardholder } from '../store/siteWrites.js';
import type { ImportedPerson } from './siteFileReader.js';

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null && !Array.isArray(value);

export type SiteCollection = 'devices' | 'doors' | 'groups' | 'cardholders';


export interface ImportReport {
  readonly dryRun: boolean;
  /** Ids per collection, at most REPORT_IDS each (`counts` has the whole numbers). */
  readonly created: Record<SiteCollection, string[]>;
  readonly updated: Record<SiteCollection, string[]>;
  readonly deleted: Record<SiteCollection, string[]>;
  readonly counts: { readonly created: Record<SiteCollection, number>; readonly updated: Record<SiteCollection, number>; readonly deleted: Record<SiteCollection, number>; readonly unchanged: Record<SiteCollection, number> };
}

/** Ids a report names per collection and change; a panel's import counts the rest. */
export const REPORT_IDS = 1_000;
/** Problems an error names; it says how many more there were. */
export const REPORT_PROBLEMS = 100;
/** People validated together against the site's rules (one rules check per batch). */
const BATCH = 1_000;

/**
 * How an import shares the database [SITE-IMPORT-SLICES]: no write transaction holds SQLite's
 * write lock longer than `sliceMs`, and after each the importer waits `pauseMs` (another process)
 * or yields its event loop (the gateway's own thread). A gateway's write that meets the lock
 * waits in SQLite's busy handler, which polls after 1, 2, 5, 10, 15, 20, 25 ms…: a pause of 20 ms
 * after a slice of at most 20 ms lets every waiter in within ~35 ms, where one transaction for a
 * whole import held it for minutes and the gateway's writes failed after its 5 s busy timeout.
 */
export interface ImportPacing {
  readonly sliceMs: number;
  readonly pauseMs: number;
}

/** Nobody else writes (no gateway runs on the database): long slices, no pauses. */
export const ALONE: ImportPacing = { sliceMs: 1_000, pauseMs: 0 };
/** A gateway runs on the database: short slices with pauses long enough for its writes. */
export const BESIDE_A_GATEWAY: ImportPacing = { sliceMs: 20, pauseMs: 20 };

/** What an import did before yielding: read (validation: no write lock), wrote people, or wrote the rules. */
export type ImportStep = 'read' | 'wrote' | 'rules';

export interface ImportActor {
  readonly actor: string;
  readonly source: string;
}

/** What an import needs to say about people in audit rows (the service's own forAudit). */
export type ForAudit = (collection: SiteCollection, item: unknown) => unknown;

const emptyCounts = (): Record<SiteCollection, number> => ({ devices: 0, doors: 0, groups: 0, cardholders: 0 });
const emptyLists = (): Record<SiteCollection, string[]> => ({ devices: [], doors: [], groups: [], cardholders: [] });
const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);
const singular: Record<SiteCollection, string> = { devices: 'device', doors: 'door', groups: 'group', cardholders: 'cardholder' };


/**
 * Makes the store's site data equal to a site file's, synchronously, pausing between slices as
 * `pacing` says [SITE-IMPORT]; `onStep` is told after each commit (a gateway's index catches up).
 */
export function importSite(store: Store, raw: ImportSource, by: ImportActor, dryRun: boolean, nowMs: number, forAudit: ForAudit, pacing: ImportPacing = ALONE, onStep?: (step: Exclude<ImportStep, 'read'>) => void): ImportReport {
  const steps = new SiteImportRun(store, raw, by, dryRun, nowMs, forAudit, pacing.sliceMs).run();
  for (;;) {
    const step = steps.next();
    if (step.done === true) return step.value;
    if (step.value === 'read') continue;
    onStep?.(step.value);
    if (pacing.pauseMs > 0) sleepMs(pacing.pauseMs);
  }
}

/** The import as its steps, for a driver of its own (tests hold the database between slices). */
export function importSteps(store: Store, raw: ImportSource, by: ImportActor, dryRun: boolean, nowMs: number, forAudit: ForAudit, sliceMs: number): Generator<ImportStep, ImportReport> {
  return new SiteImportRun(store, raw, by, dryRun, nowMs, forAudit, sliceMs).run();
}

const pauseCell = new Int32Array(new SharedArrayBuffer(4));
/** A synchronous pause (the CLI, or the API's import thread, has nothing else to do meanwhile). */
function sleepMs(ms: number): void {
  Atomics.wait(pauseCell, 0, 0, ms);
}

export interface ImportSource {
  readonly rules: Record<string, unknown>;
  /** Read twice: once to check, once to write (a site file is read again from disk). */
  readonly people: Iterable<ImportedPerson>;
}

type Change = 'created' | 'updated' | 'deleted' | 'unchanged';

/** A person of the file as validated: the normalized holder, where it is, and a digest of what was read. */
interface CheckedPerson {
  readonly holder: SiteCardholder;
  readonly where: string;
  readonly position: number;
  readonly hash: string;
}

/**
 * One whole-site import [SITE-IMPORT], [SITE-IMPORT-SLICES]. First everything is checked without
 * writing: the rules whole, the people batch by batch (temporary tables of the file's ids,
 * credential ids and cards find duplicates), the watch list against the file's people. Any
 * problem ends it there and nothing has changed. Only then is it written, in short transactions:
 * the rules and the watch list's entries for people who exist (a ban takes effect first), the
 * people the file no longer names (removals next), then the file's people in its order, each
 * written with the watch-list entries that name it. The gateway decides on the new data as it is
 * written. A failure while writing (a full disk) leaves the site partly imported and says so:
 * importing the file again finishes it (what is already equal is skipped).
 */
class SiteImportRun {
  private readonly problems: string[] = [];
  private problemCount = 0;
  private readonly report: ImportReport;
  private rules!: SiteData;
  private watchList: SiteData['watchList'] = [];
  private current: Pick<SiteData, 'site' | 'devices' | 'doors' | 'groups'> | undefined;
  private checkedPeople = 0;
  private sliceStartMs = 0;
  private sliceKind: 'read' | 'write' = 'read';
  private wrote = false;
  private statements!: ReturnType<SiteImportRun['prepare']>;
  /** Watch-list entries naming people not yet written, by the person's or the credential's id. */
  private readonly pendingWatch = new Map<string, SiteData['watchList']>();

  constructor(
    private readonly store: Store,
    private readonly raw: ImportSource,
    private readonly by: ImportActor,
    private readonly dryRun: boolean,
    private readonly nowMs: number,
    private readonly forAudit: ForAudit,
    private readonly sliceMs: number,
  ) {
    this.report = {
      dryRun,
      created: emptyLists(),
      updated: emptyLists(),
      deleted: emptyLists(),
      counts: { created: emptyCounts(), updated: emptyCounts(), deleted: emptyCounts(), unchanged: emptyCounts() },
    };
  }

  *run(): Generator<ImportStep, ImportReport> {
    const { db } = this.store;
    if (db.inTransaction) throw new GuardpostError('GP_ERR_INTERNAL', 'a site import cannot run inside another transaction');
    try {
      this.readRules();
      this.statements = this.prepare();
      yield* this.check();
      if (this.problemCount > 0) this.fail();
      const ruleChanges = this.ruleChanges();
      for (const { collection, change, id } of ruleChanges) this.note(change, collection, id);
      if (this.dryRun) {
        this.begin('read');
        this.forEachAbsent(1_000, (id) => this.note('deleted', 'cardholders', id));
        this.commit();
        return this.report;
      }
      yield* this.writeRules(ruleChanges);
      yield* this.deleteAbsent();
      yield* this.writePeople();
      yield* this.foldSearchIndex();
      return this.report;
    } catch (error) {
      if (db.inTransaction) db.exec('ROLLBACK');
      throw this.wrote ? partly(error) : error;
    } finally {
      if (db.inTransaction) db.exec('ROLLBACK');
      db.exec('DROP TABLE IF EXISTS temp.gp_import_seen; DROP TABLE IF EXISTS temp.gp_import_credentials; DROP TABLE IF EXISTS temp.gp_import_cards; DROP TABLE IF EXISTS temp.gp_import_disturbed;');
    }
  }

  // ---- Checking ----

  private problem(text: string): void {
    this.problemCount++;
    if (this.problems.length < REPORT_PROBLEMS) this.problems.push(text);
  }

  private fail(): never {
    const { problems, problemCount } = this;
    const more = problemCount - problems.length;
    // The first problem in the message itself: often the only one, and what a person fixes first.
    const others = problemCount > 1 ? `; and ${problemCount - 1} more problem(s)` : '';
    throw new GuardpostError('GP_ERR_BAD_REQUEST', `${problems[0] ?? 'problems in the site data'}${others}; nothing was changed`, more > 0 ? [...problems, `… and ${more} more`] : problems);
  }

  /** The rules, whole: the people and the watch list (which names people) are checked with the people. */
  private readRules(): void {
    const { cardholders: inRules, watchList: _watchList, ...rawRules } = this.raw.rules;
    // People not given as a list (`cardholders: yes`) are a problem, never "nobody": that would delete everyone.
    if (inRules !== undefined && !Array.isArray(inRules)) {
      const whole = parseSiteData(this.raw.rules);
      const problems = whole.ok ? ['cardholders: expected a list of cardholders'] : whole.problems;
      throw new GuardpostError('GP_ERR_BAD_REQUEST', `${problems.length} problem(s) in the site data`, problems);
    }
    const parsed = parseSiteData({ ...rawRules, cardholders: [], watchList: [] });
    if (!parsed.ok) throw new GuardpostError('GP_ERR_BAD_REQUEST', `${parsed.problems.length} problem(s) in the site data`, parsed.problems);
    this.rules = parsed.site;
    // A store without site data yet (the CLI before a first start) has nothing to compare with.
    this.current = this.store.hasSiteData() ? exportSiteData(this.store, { withoutCardholders: true }) : undefined;
  }

  private prepare() {
    const { db } = this.store;
    db.exec(`CREATE TEMP TABLE IF NOT EXISTS gp_import_seen (id TEXT PRIMARY KEY, position INTEGER NOT NULL, hash TEXT NOT NULL, unchanged TEXT) WITHOUT ROWID; DELETE FROM temp.gp_import_seen;
      CREATE TEMP TABLE IF NOT EXISTS gp_import_credentials (id TEXT PRIMARY KEY, position INTEGER NOT NULL, holder TEXT NOT NULL) WITHOUT ROWID; DELETE FROM temp.gp_import_credentials;
      CREATE TEMP TABLE IF NOT EXISTS gp_import_cards (kind TEXT NOT NULL, digest BLOB NOT NULL, position INTEGER NOT NULL, PRIMARY KEY (kind, digest)) WITHOUT ROWID; DELETE FROM temp.gp_import_cards;
      CREATE TEMP TABLE IF NOT EXISTS gp_import_disturbed (id TEXT PRIMARY KEY) WITHOUT ROWID; DELETE FROM temp.gp_import_disturbed;`);
    return {
      seenInsert: db.prepare<[string, number, string, string | null]>('INSERT OR IGNORE INTO temp.gp_import_seen (id, position, hash, unchanged) VALUES (?, ?, ?, ?)'),
      seen: db.prepare<[string], { position: number; hash: string; unchanged: string | null }>('SELECT position, hash, unchanged FROM temp.gp_import_seen WHERE id = ?'),
      credentialInsert: db.prepare<[string, number, string]>('INSERT OR IGNORE INTO temp.gp_import_credentials (id, position, holder) VALUES (?, ?, ?)'),
      /** A credential already held by the person the file gives it to (its row outlives the import). */
      credentialStays: db.prepare<[string], number>('SELECT 1 FROM credentials k JOIN temp.gp_import_credentials f ON f.id = k.id AND f.holder = k.cardholder_id WHERE k.id = ?').pluck(),
      credentialAt: db.prepare<[string], number>('SELECT position FROM temp.gp_import_credentials WHERE id = ?').pluck(),
      cardInsert: db.prepare<[string, Buffer, number]>('INSERT OR IGNORE INTO temp.gp_import_cards (kind, digest, position) VALUES (?, ?, ?)'),
      cardAt: db.prepare<[string, Buffer], number>('SELECT position FROM temp.gp_import_cards WHERE kind = ? AND digest = ?').pluck(),
      disturb: db.prepare<[string]>('INSERT OR IGNORE INTO temp.gp_import_disturbed (id) VALUES (?)'),
      disturbed: db.prepare<[string], number>('SELECT 1 FROM temp.gp_import_disturbed WHERE id = ?').pluck(),
      absentAfter: db.prepare<[string, number], string>('SELECT id FROM cardholders WHERE id > ? AND id NOT IN (SELECT id FROM temp.gp_import_seen) ORDER BY id LIMIT ?').pluck(),
      holderExists: db.prepare<[string], number>('SELECT 1 FROM cardholders WHERE id = ?').pluck(),
      deleteCredential: db.prepare<[string]>('DELETE FROM credentials WHERE id = ?'),
    };
  }

  /** Every person of the file, checked batch by batch (temporary tables only: no write lock). */
  private *check(): Generator<ImportStep> {
    this.begin('read');
    let batch: ImportedPerson[] = [];
    for (const person of this.raw.people) {
      batch.push(person);
      if (batch.length < BATCH) continue;
      this.checkBatch(batch);
      batch = [];
      yield* this.sliceDue('read');
    }
    this.checkBatch(batch);
    this.checkWatchList();
    this.commit();
  }

  private checkBatch(batch: readonly ImportedPerson[]): void {
    const { seenInsert, seen, credentialInsert, credentialAt, cardInsert, cardAt } = this.statements;
    const first = this.checkedPeople;
    for (const { holder, where, position, hash } of this.validate(batch, (k) => first + k, (text) => this.problem(text))) {
      const id = holder.id;
      // A person whose document is already what the file says is only moved when written: the
      // digest of that document lets the write pass skip checking them again [SITE-IMPORT-SLICES].
      const oldText = this.store.documents.text('cardholders', id);
      const unchanged = oldText !== undefined && holder.pin === undefined && oldText === JSON.stringify(cardholderDocument(holder));
      if (seenInsert.run(id, position, hash, unchanged ? hashOf(oldText) : null).changes === 0) {
        this.problem(`${where}.id: duplicate id "${id}" (also at cardholders[${String(seen.get(id)?.position)}])`);
        continue;
      }
      let sound = true;
      holder.credentials.forEach((credential, j) => {
        if (credentialInsert.run(credential.id, position, id).changes === 0) {
          this.problem(`${where}.credentials[${j}].id: duplicate id "${credential.id}" (a credential of cardholders[${String(credentialAt.get(credential.id))}])`);
          sound = false;
          return;
        }
        let stored: ReturnType<typeof storedCardOf>;
        try {
          stored = storedCardOf(this.store.cardDigests, credential);
        } catch (error) {
          this.problem(`${where}.credentials[${j}]: ${(error as Error).message}`);
          sound = false;
          return;
        }
        const digest = Buffer.from(stored.digest, 'latin1');
        if (cardInsert.run(stored.kind, digest, position).changes === 0) {
          this.problem(`${where}.credentials[${j}].${stored.kind}: this card is already held by cardholders[${String(cardAt.get(stored.kind, digest))}]`);
          sound = false;
        }
      });
      // A dry run's report says what writing would do.
      if (sound && this.dryRun) this.note(oldText === undefined ? 'created' : unchanged ? 'unchanged' : 'updated', 'cardholders', id);
    }
    this.checkedPeople += batch.length;
  }

  /**
   * A batch of people sealed ([SEC-CARD-DIGEST] numbers become digests before anything is
   * checked or kept) and validated against the rules, as one or, when that fails, one by one.
   */
  private validate(batch: readonly ImportedPerson[], positionOf: (k: number) => number, problem: (text: string) => void): CheckedPerson[] {
    const digests = this.store.cardDigests;
    const sealed = batch.map((person) => {
      const own: CredentialProblem[] = [];
      const holder = sealCardholderCredentials(digests, person.raw, own);
      for (const { field, message } of own) problem(`${person.where}.${field}: ${message}`);
      return own.length > 0 ? null : holder;
    });
    const candidates = sealed.filter((holder) => holder !== null);
    const positions = sealed.flatMap((holder, k) => (holder === null ? [] : [k]));
    const result = parseSiteData({ ...this.rules, cardholders: candidates, watchList: [] });
    const checked = (holder: SiteCardholder, index: number): CheckedPerson => {
      const k = positions[index]!;
      return { holder, where: batch[k]!.where, position: positionOf(k), hash: hashOf(batch[k]!.raw) };
    };
    if (result.ok) return result.site.cardholders.map(checked);
    const bad = new Set<number>();
    for (const text of result.problems) {
      const match = /^cardholders\[(\d+)\]/.exec(text);
      // Positions in this batch become the people's places in the file.
      if (match !== null) bad.add(Number(match[1]));
      problem(text.replace(/cardholders\[(\d+)\]/g, (_all, index: string) => batch[positions[Number(index)]!]!.where));
    }
    // People of a failed batch are checked again alone: the sound ones go on to the duplicate checks.
    return candidates.flatMap((holder, index) => {
      if (bad.has(index)) return [];
      const alone = parseSiteData({ ...this.rules, cardholders: [holder], watchList: [] });
      return alone.ok ? [checked(alone.site.cardholders[0]!, index)] : [];
    });
  }

  /** The watch list names people: checked against the file's people (everyone else leaves). */
  private checkWatchList(): void {
    const raw = this.raw.rules.watchList;
    const parsed = parseSiteData({ ...this.rules, cardholders: [], watchList: raw ?? [] });
    if (parsed.ok) {
      this.watchList = parsed.site.watchList;
      return;
    }
    const known = (path: string, message: string): boolean => {
      const match = /^watchList\[(\d+)\]\.(cardholder|credential)$/.exec(path);
      if (match === null || !Array.isArray(raw)) return false;
      const entry = raw[Number(match[1])] as { cardholder?: string; credential?: string } | undefined;
      if (match[2] === 'cardholder') return message.startsWith('unknown cardholder') && entry?.cardholder !== undefined && this.statements.seen.get(entry.cardholder) !== undefined;
      return message.startsWith('unknown credential') && entry?.credential !== undefined && this.statements.credentialAt.get(entry.credential) !== undefined;
    };
    // Unknown people are unknown only to a site without them: the file's people are fine.
    const left = parsed.problems.filter((text) => {
      const at = text.indexOf(': ');
      return !known(text.slice(0, at), text.slice(at + 2));
    });
    for (const text of left) this.problem(text);
    // Only reference problems: the entries themselves are sound.
    if (left.length === 0 && Array.isArray(raw)) this.watchList = raw as SiteData['watchList'];
  }

  // ---- Writing ----

  private note(change: Change, collection: SiteCollection, id: string): void {
    this.report.counts[change][collection]++;
    if (change !== 'unchanged' && this.report[change][collection].length < REPORT_IDS) this.report[change][collection].push(id);
  }

  private audit(entry: Omit<AuditInput, 'actor' | 'source'>): void {
    this.store.audit.record({ ...this.by, ...entry }, this.nowMs);
  }

  /** What changes among devices, doors and groups (the report's rule rows), said once. */
  private ruleChanges(): { collection: 'devices' | 'doors' | 'groups'; change: 'created' | 'updated' | 'deleted'; id: string; old: unknown; item: unknown }[] {
    return (['devices', 'doors', 'groups'] as const).flatMap((collection) => {
      const before = new Map(((this.current?.[collection] ?? []) as { id: string }[]).map((item) => [item.id, item]));
      const after = new Set((this.rules[collection] as { id: string }[]).map((item) => item.id));
      const changes = (this.rules[collection] as { id: string }[]).flatMap((item) => {
        const old = before.get(item.id);
        return old !== undefined && sameJson(old, item) ? [] : [{ collection, change: old === undefined ? ('created' as const) : ('updated' as const), id: item.id, old, item: item as unknown }];
      });
      const deleted = [...before].filter(([id]) => !after.has(id)).map(([id, old]) => ({ collection, change: 'deleted' as const, id, old: old as unknown, item: undefined }));
      return [...changes, ...deleted];
    });
  }

  /** The rules and the watch list, in one transaction (a site's rules are small; the people are not). */
  private *writeRules(changes: ReturnType<SiteImportRun['ruleChanges']>): Generator<ImportStep> {
    const { store, rules, current } = this;
    this.begin('write');
    if (!sameJson(current?.site, rules.site)) this.audit({ action: current === undefined ? 'site.created' : 'site.updated', target: rules.site.id, before: current?.site, after: rules.site });
    for (const { collection, change, id, old, item } of changes) {
      this.audit({ action: `${singular[collection]}.${change}`, target: id, before: this.forAudit(collection, old), ...(change === 'deleted' ? {} : { after: this.forAudit(collection, item) }) });
    }
    // Dependants first: a group holds doors, a door holds devices (memberships of a deleted group go with it).
    for (const collection of ['groups', 'doors', 'devices'] as const) for (const { id } of changes.filter((entry) => entry.collection === collection && entry.change === 'deleted')) store[collection].delete(id);
    store.importSiteRules(rules);
    // A ban on someone already here takes effect now; one naming a person still to come, with that
    // person. A credential moving to another holder may be deleted and written again on the way
    // (its entry would go with it): banned with its holder in the file.
    store.siteRules.replaceWatchList([]);
    for (const entry of this.watchList) {
      const named = entry.cardholder !== undefined ? this.statements.holderExists.get(entry.cardholder) : this.statements.credentialStays.get(entry.credential!);
      if (named !== undefined) store.siteRules.addWatchListEntry(watchRecord(entry));
      else {
        const key = entry.cardholder !== undefined ? `h:${entry.cardholder}` : `c:${entry.credential!}`;
        this.pendingWatch.set(key, [...(this.pendingWatch.get(key) ?? []), entry]);
      }
    }
    store.documents.replaceCollection('watchList', this.watchList.map((entry, position) => ({ id: String(position), item: entry })));
    this.commit();
    yield 'rules';
  }

  /** Everyone the file does not name leaves, with an audit row each: removals before additions. */
  private *deleteAbsent(): Generator<ImportStep> {
    const { store } = this;
    this.begin('write');
    let after = '';
    for (;;) {
      const ids = this.statements.absentAfter.all(after, 100);
      if (ids.length === 0) break;
      for (const id of ids) {
        const oldText = store.documents.text('cardholders', id);
        store.cardholders.delete(id);
        store.documents.delete('cardholders', id);
        this.note('deleted', 'cardholders', id);
        this.audit({ action: 'cardholder.deleted', target: id, before: this.forAudit('cardholders', oldText === undefined ? undefined : JSON.parse(oldText)) });
      }
      after = ids.at(-1)!;
      yield* this.sliceDue('write');
    }
    this.commit();
    yield 'wrote';
  }

  /** For a dry run: the people the file does not name, read a page at a time. */
  private forEachAbsent(page: number, each: (id: string) => void): void {
    let after = '';
    for (;;) {
      const ids = this.statements.absentAfter.all(after, page);
      if (ids.length === 0) return;
      ids.forEach(each);
      after = ids.at(-1)!;
    }
  }

  /** The file's people again, in its order; each batch validated outside any transaction, then written in slices. */
  private *writePeople(): Generator<ImportStep> {
    let position = 0;
    let batch: ImportedPerson[] = [];
    const flush = function* (this: SiteImportRun): Generator<ImportStep> {
      const first = position;
      position += batch.length;
      // Found unchanged when checked, read the same and still the same in the store: only moved to its place.
      const kept: { id: string; position: number; person: ImportedPerson }[] = [];
      const rest: ImportedPerson[] = [];
      const restAt: number[] = [];
      batch.forEach((person, k) => {
        const id = isObject(person.raw) && typeof person.raw.id === 'string' ? person.raw.id : undefined;
        const seen = id === undefined ? undefined : this.statements.seen.get(id);
        if (id !== undefined && seen?.unchanged != null && seen.position === first + k && seen.hash === hashOf(person.raw)) kept.push({ id, position: first + k, person });
        else {
          rest.push(person);
          restAt.push(first + k);
        }
      });
      const validated = (people: readonly ImportedPerson[], at: readonly number[]): CheckedPerson[] => {
        const changed: string[] = [];
        const checked = this.validate(people, (k) => at[k]!, (text) => changed.push(text));
        if (changed.length > 0 || checked.length !== people.length) throw fileChanged(changed[0] ?? `${people[0]?.where ?? 'a cardholder'} reads differently`);
        return checked;
      };
      const people = validated(rest, restAt);
      batch = [];
      this.begin('write');
      const late: ImportedPerson[] = [];
      const lateAt: number[] = [];
      for (const { id, position: at, person } of kept) {
        const text = this.store.documents.text('cardholders', id);
        if (text !== undefined && hashOf(text) === this.statements.seen.get(id)!.unchanged && this.statements.disturbed.get(id) === undefined) {
          this.store.documents.move('cardholders', id, at);
          this.note('unchanged', 'cardholders', id);
        } else {
          // Changed by someone else since it was checked, or a card of theirs was taken: written as the file says.
          late.push(person);
          lateAt.push(at);
        }
      }
      if (late.length > 0) people.push(...validated(late, lateAt));
      for (const person of people) {
        this.writeOne(person);
        yield* this.sliceDue('write');
      }
      this.commit();
      yield 'wrote';
    };
    for (const person of this.raw.people) {
      batch.push(person);
      if (batch.length === BATCH) yield* flush.call(this);
    }
    if (batch.length > 0) yield* flush.call(this);
    if (position !== this.checkedPeople) throw fileChanged(`it now holds ${position} cardholders, ${this.checkedPeople} when checked`);
    // Entries whose person never came (the file changed, or someone was deleted meanwhile): said, never dropped quietly.
    if (this.pendingWatch.size > 0) throw fileChanged(`the watch list names ${[...this.pendingWatch.keys()][0]!.slice(2)}, who was not written`);
    // The whole list once more, as the file says: an entry whose credential a card swap deleted and wrote again is back.
    this.begin('write');
    this.store.siteRules.replaceWatchList(this.watchList.map(watchRecord));
    this.commit();
    yield 'rules';
  }

  private writeOne({ holder, where, position, hash }: CheckedPerson): void {
    const { store, statements } = this;
    const id = holder.id;
    const seen = statements.seen.get(id);
    if (seen === undefined || seen.position !== position || seen.hash !== hash) throw fileChanged(`${where} is not what was checked`);
    const oldText = store.documents.text('cardholders', id);
    // A PIN is never in the document: given, it is written again.
    if (oldText !== undefined && holder.pin === undefined && oldText === JSON.stringify(cardholderDocument(holder)) && statements.disturbed.get(id) === undefined) {
      store.documents.move('cardholders', id, position);
      this.note('unchanged', 'cardholders', id);
      return;
    }
    for (const credential of holder.credentials) {
      // Taken from someone not written yet (the file gives them other cards, or removed them): they are written again when they come.
      const owner = store.cardholders.credentialHolderOf(credential.id);
      if (owner !== undefined && owner !== id) statements.disturb.run(owner);
      const stored = storedCardOf(store.cardDigests, credential);
      const held = store.cardholders.holderOfDigest(stored.kind, stored.digest);
      if (held === undefined || held.credentialId === credential.id) continue;
      // The card is given up by its holder in the file (checked): free it now.
      statements.deleteCredential.run(held.credentialId);
      if (held.cardholderId !== id) statements.disturb.run(held.cardholderId);
    }
    writeCardholder(store, holder, position);
    for (const key of [`h:${id}`, ...holder.credentials.map((credential) => `c:${credential.id}`)]) {
      for (const entry of this.pendingWatch.get(key) ?? []) store.siteRules.addWatchListEntry(watchRecord(entry));
      this.pendingWatch.delete(key);
    }
    const old = oldText === undefined ? undefined : (JSON.parse(oldText) as SiteCardholder);
    this.note(old === undefined ? 'created' : 'updated', 'cardholders', id);
    this.audit({ action: `cardholder.${old === undefined ? 'created' : 'updated'}`, target: id, before: this.forAudit('cardholders', old), after: this.forAudit('cardholders', holder) });
  }

  /**
   * The text search index takes in the people just written (the rows its triggers logged), here
   * and paced as the import, rather than in a running gateway's first searches [SITE-LIST].
   * Folding costs ~1 µs a row: a step of `sliceMs` thousand rows holds the lock about a slice.
   */
  private *foldSearchIndex(): Generator<ImportStep> {
    const rowsPerStep = Math.max(1_000, Math.min(1_000_000, Math.round(this.sliceMs * 1_000)));
    for (let left = Number.POSITIVE_INFINITY; ; ) {
      const now = this.store.cardholderList.catchUpSearchIndex(rowsPerStep, true);
      if (now === 0 || now >= left) return;
      left = now;
      yield 'wrote';
    }
  }

  // ---- Slices ----

  /** A read slice (temporary tables only) or a write slice (BEGIN IMMEDIATE: the write lock from the start). */
  private begin(kind: 'read' | 'write'): void {
    this.store.db.exec(kind === 'write' ? 'BEGIN IMMEDIATE' : 'BEGIN');
    this.sliceKind = kind;
    this.sliceStartMs = performance.now();
  }

  /** Ends a slice that has run its time and begins the next: the lock is let go in between. */
  private *sliceDue(kind: 'read' | 'write'): Generator<ImportStep> {
    if (performance.now() - this.sliceStartMs < this.sliceMs) return;
    this.commit();
    yield kind === 'write' ? 'wrote' : 'read';
    this.begin(kind);
  }

  private commit(): void {
    this.store.db.exec('COMMIT');
    if (this.sliceKind === 'write') this.wrote = true;
  }
}

const watchRecord = (entry: SiteData['watchList'][number]) => ({ cardholderId: entry.cardholder ?? null, credentialId: entry.credential ?? null, reason: entry.reason });

const hashOf = (raw: unknown): string => createHash('sha1').update(JSON.stringify(raw) ?? 'undefined').digest('base64');

function fileChanged(detail: string): GuardpostError {
  return new GuardpostError('GP_ERR_CONFLICT', `the site data changed while it was being imported (${detail})`);
}

/** An error after some slices were committed: the site is partly imported, and the admin is told how to finish. */
function partly(error: unknown): unknown {
  const message = error instanceof Error ? error.message : String(error);
  const code = error instanceof GuardpostError ? error.code : 'GP_ERR_STORE';
  return new GuardpostError(code, `${message}; the import stopped part way: the site is partly imported (what was written is in the audit log); import the file again to finish it`);
}
