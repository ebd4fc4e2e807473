import { parseSiteData } from '../config/load.js';
import type { SiteCardholder, SiteData } from '../config/siteSchema.js';
import { GuardpostError } from '../errors.js';
import type { AuditInput, Store } from '../store/index.js';
import { sealCardholderCredentials, storedCardOf, type CredentialProblem } from '../store/cardCredentials.js';
import { exportSiteData } from '../store/siteExport.js';
import { cardholderDocument, writeCardholder } from '../store/siteWrites.js';
import type { ImportedPerson } from './siteFileReader.js';

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

class DryRunDone extends Error {}

/**
 * Makes the store's site data equal to a site file's [SITE-IMPORT], for any number of people:
 * the rules (everything but people) are validated whole as before; the people are read one at a
 * time from an iterable (a file read as it goes, or a parsed body), validated in batches against
 * the rules, checked for duplicates against those already written (a temporary table of ids) and
 * written at once, each with its audit row, in the one transaction of the whole import. An
 * unchanged person is not written again. Any problem, or a dry run, rolls it all back: nothing
 * changes, and the report or error stays bounded (counts, the first REPORT_IDS ids, the first
 * REPORT_PROBLEMS problems naming where each is). Memory holds one batch of people.
 */
export function importSite(store: Store, raw: { readonly rules: Record<string, unknown>; readonly people: Iterable<ImportedPerson> }, by: ImportActor, dryRun: boolean, nowMs: number, forAudit: ForAudit): ImportReport {
  const problems: string[] = [];
  let problemCount = 0;
  const problem = (text: string) => {
    problemCount++;
    if (problems.length < REPORT_PROBLEMS) problems.push(text);
  };
  const fail = (): never => {
    const more = problemCount - problems.length;
    // The first problem in the message itself: often the only one, and what a person fixes first.
    const others = problemCount > 1 ? `; and ${problemCount - 1} more problem(s)` : '';
    throw new GuardpostError('GP_ERR_BAD_REQUEST', `${problems[0] ?? 'problems in the site data'}${others}; nothing was changed`, more > 0 ? [...problems, `… and ${more} more`] : problems);
  };

  // The rules, whole: the people and the watch list (which names people) are checked as they are written.
  const { cardholders: _people, watchList: rawWatchList, ...rawRules } = raw.rules;
  const parsedRules = parseSiteData({ ...rawRules, cardholders: [], watchList: [] });
  if (!parsedRules.ok) throw new GuardpostError('GP_ERR_BAD_REQUEST', `${parsedRules.problems.length} problem(s) in the site data`, parsedRules.problems);
  const rules = parsedRules.site;
  // A store without site data yet (the CLI before a first start) has nothing to compare with.
  const current: Pick<SiteData, 'site' | 'devices' | 'doors' | 'groups'> | undefined = store.hasSiteData() ? exportSiteData(store, { withoutCardholders: true }) : undefined;

  const report: ImportReport = {
    dryRun,
    created: emptyLists(),
    updated: emptyLists(),
    deleted: emptyLists(),
    counts: { created: emptyCounts(), updated: emptyCounts(), deleted: emptyCounts(), unchanged: emptyCounts() },
  };
  const note = (change: 'created' | 'updated' | 'deleted' | 'unchanged', collection: SiteCollection, id: string) => {
    report.counts[change][collection]++;
    if (change !== 'unchanged' && report[change][collection].length < REPORT_IDS) report[change][collection].push(id);
  };
  const audit = (entry: Omit<AuditInput, 'actor' | 'source'>) => store.audit.record({ ...by, ...entry }, nowMs);

  try {
    store.db.transaction(() => {
      if (!sameJson(current?.site, rules.site)) audit({ action: current === undefined ? 'site.created' : 'site.updated', target: rules.site.id, before: current?.site, after: rules.site });
      for (const collection of ['devices', 'doors', 'groups'] as const) {
        const before = new Map(((current?.[collection] ?? []) as { id: string }[]).map((item) => [item.id, item]));
        const after = new Set((rules[collection] as { id: string }[]).map((item) => item.id));
        for (const item of rules[collection] as { id: string }[]) {
          const old = before.get(item.id);
          if (old !== undefined && sameJson(old, item)) continue;
          note(old === undefined ? 'created' : 'updated', collection, item.id);
          audit({ action: `${singular[collection]}.${old === undefined ? 'created' : 'updated'}`, target: item.id, before: forAudit(collection, old), after: forAudit(collection, item) });
        }
        for (const [id, old] of before) {
          if (after.has(id)) continue;
          note('deleted', collection, id);
          audit({ action: `${singular[collection]}.deleted`, target: id, before: forAudit(collection, old) });
        }
      }
      // Dependants first: a group holds doors, a door holds devices (memberships of a deleted group go with it).
      for (const collection of ['groups', 'doors', 'devices'] as const) for (const id of report.deleted[collection]) store[collection].delete(id);
      store.importSiteRules(rules);

      const people = new PeopleWriter(store, rules, problem, note, audit, forAudit);
      let batch: ImportedPerson[] = [];
      for (const person of raw.people) {
        batch.push(person);
        if (batch.length === BATCH) {
          people.write(batch);
          batch = [];
        }
      }
      people.write(batch);
      people.deleteTheRest();

      // The watch list names people: checked once they are all written.
      const watchList = watchListOf(store, rules, rawWatchList, problem);
      store.siteRules.replaceWatchList(watchList.map((entry) => ({ cardholderId: entry.cardholder ?? null, credentialId: entry.credential ?? null, reason: entry.reason })));
      store.documents.replaceCollection('watchList', watchList.map((entry, position) => ({ id: String(position), item: entry })));
      if (problemCount > 0) fail();
      if (dryRun) throw new DryRunDone();
    })();
  } catch (error) {
    if (!(error instanceof DryRunDone)) throw error;
  } finally {
    store.db.exec('DROP TABLE IF EXISTS temp.gp_import_seen');
    store.db.exec('DROP TABLE IF EXISTS temp.gp_import_disturbed');
  }
  return report;
}

/** The watch list as validated against the people now written (the site file's rules, the people by SQL). */
function watchListOf(store: Store, rules: SiteData, raw: unknown, problem: (text: string) => void): SiteData['watchList'] {
  const parsed = parseSiteData({ ...rules, cardholders: [], watchList: raw ?? [] });
  const known = (path: string, message: string): boolean => {
    const match = /^watchList\[(\d+)\]\.(cardholder|credential)$/.exec(path);
    if (match === null || !Array.isArray(raw)) return false;
    const entry = raw[Number(match[1])] as { cardholder?: string; credential?: string } | undefined;
    if (match[2] === 'cardholder') return message.startsWith('unknown cardholder') && entry?.cardholder !== undefined && store.documents.text('cardholders', entry.cardholder) !== undefined;
    return message.startsWith('unknown credential') && entry?.credential !== undefined && store.cardholders.credentialHolderOf(entry.credential) !== undefined;
  };
  if (parsed.ok) return parsed.site.watchList;
  // Unknown people are unknown only to a site without them: those now in the store are fine.
  const left = parsed.problems.filter((text) => {
    const at = text.indexOf(': ');
    return !known(text.slice(0, at), text.slice(at + 2));
  });
  for (const text of left) problem(text);
  if (left.length > 0 || !Array.isArray(raw)) return [];
  // Only reference problems: the entries themselves are sound.
  return raw as SiteData['watchList'];
}

/** Writes people batch by batch inside the import's transaction, remembering whom it wrote. */
class PeopleWriter {
  private position = 0;
  private readonly seenInsert;
  private readonly seenAt;
  private readonly disturb;
  private readonly disturbed;
  private readonly unseenAfter;
  private readonly digests;

  constructor(
    private readonly store: Store,
    private readonly rules: SiteData,
    private readonly problem: (text: string) => void,
    private readonly note: (change: 'created' | 'updated' | 'deleted' | 'unchanged', collection: SiteCollection, id: string) => void,
    private readonly audit: (entry: Omit<AuditInput, 'actor' | 'source'>) => void,
    private readonly forAudit: ForAudit,
  ) {
    const { db } = store;
    db.exec('CREATE TEMP TABLE IF NOT EXISTS gp_import_seen (id TEXT PRIMARY KEY, position INTEGER NOT NULL) WITHOUT ROWID; DELETE FROM temp.gp_import_seen;');
    db.exec('CREATE TEMP TABLE IF NOT EXISTS gp_import_disturbed (id TEXT PRIMARY KEY) WITHOUT ROWID; DELETE FROM temp.gp_import_disturbed;');
    this.seenInsert = db.prepare<[string, number]>('INSERT OR IGNORE INTO temp.gp_import_seen (id, position) VALUES (?, ?)');
    this.seenAt = db.prepare<[string], number>('SELECT position FROM temp.gp_import_seen WHERE id = ?').pluck();
    this.disturb = db.prepare<[string]>('INSERT OR IGNORE INTO temp.gp_import_disturbed (id) VALUES (?)');
    this.disturbed = db.prepare<[string], number>('SELECT 1 FROM temp.gp_import_disturbed WHERE id = ?').pluck();
    this.unseenAfter = db.prepare<[string, number], string>('SELECT id FROM cardholders WHERE id > ? AND id NOT IN (SELECT id FROM temp.gp_import_seen) ORDER BY id LIMIT ?').pluck();
    this.digests = store.cardDigests;
  }

  write(batch: readonly ImportedPerson[]): void {
    if (batch.length === 0) return;
    const first = this.position;
    this.position += batch.length;
    // [SEC-CARD-DIGEST] numbers become digests before anything is checked or kept.
    const sealed = batch.map((person, k) => {
      const own: CredentialProblem[] = [];
      const holder = sealCardholderCredentials(this.digests, person.raw, own);
      for (const { field, message } of own) this.problem(`${person.where}.${field}: ${message}`);
      return own.length > 0 ? null : holder;
    });
    const candidates = sealed.filter((holder) => holder !== null);
    const positions = sealed.flatMap((holder, k) => (holder === null ? [] : [k]));
    const result = parseSiteData({ ...this.rules, cardholders: candidates, watchList: [] });
    const bad = new Set<number>();
    const whereOf = (index: number): string => batch[positions[index]!]!.where;
    if (!result.ok) {
      for (const text of result.problems) {
        const match = /^cardholders\[(\d+)\]/.exec(text);
        // Positions in this batch become the people's places in the file.
        const named = text.replace(/cardholders\[(\d+)\]/g, (_all, index: string) => whereOf(Number(index)));
        if (match !== null) bad.add(Number(match[1]));
        this.problem(named);
      }
    }
    // The batch validated as a whole or person by person: people of a failed batch are checked again alone.
    const valid: { holder: SiteCardholder; k: number }[] = [];
    if (result.ok) result.site.cardholders.forEach((holder, index) => valid.push({ holder, k: positions[index]! }));
    else {
      candidates.forEach((holder, index) => {
        if (bad.has(index)) return;
        const alone = parseSiteData({ ...this.rules, cardholders: [holder], watchList: [] });
        if (alone.ok) valid.push({ holder: alone.site.cardholders[0]!, k: positions[index]! });
      });
    }
    for (const { holder, k } of valid) this.writeOne(holder, batch[k]!.where, first + k);
  }

  private writeOne(holder: SiteCardholder, where: string, position: number): void {
    const { store } = this;
    const id = holder.id;
    if (this.seenInsert.run(id, position).changes === 0) {
      this.problem(`${where}.id: duplicate id "${id}" (also at cardholders[${String(this.seenAt.get(id))}])`);
      return;
    }
    const oldText = store.documents.text('cardholders', id);
    const document = cardholderDocument(holder);
    // A PIN is never in the document: given, it is written again.
    if (oldText !== undefined && holder.pin === undefined && oldText === JSON.stringify(document) && this.disturbed.get(id) === undefined) {
      store.documents.move('cardholders', id, position);
      this.note('unchanged', 'cardholders', id);
      return;
    }
    let sound = true;
    holder.credentials.forEach((credential, j) => {
      const owner = store.cardholders.credentialHolderOf(credential.id);
      if (owner !== undefined && owner !== id) {
        const at = this.seenAt.get(owner);
        if (at !== undefined) {
          this.problem(`${where}.credentials[${j}].id: duplicate id "${credential.id}" (a credential of cardholders[${at}])`);
          sound = false;
          return;
        }
        // Taken from someone not read yet: they are written again when they come.
        this.disturb.run(owner);
      }
      let stored: ReturnType<typeof storedCardOf>;
      try {
        stored = storedCardOf(this.digests, credential);
      } catch (error) {
        this.problem(`${where}.credentials[${j}]: ${(error as Error).message}`);
        sound = false;
        return;
      }
      const held = store.cardholders.holderOfDigest(stored.kind, stored.digest);
      if (held === undefined || held.credentialId === credential.id) return;
      const at = held.cardholderId === id ? undefined : this.seenAt.get(held.cardholderId);
      if (at !== undefined) {
        this.problem(`${where}.credentials[${j}].${stored.kind}: this card is already held by cardholders[${at}]`);
        sound = false;
        return;
      }
      // Given up by someone not read yet (or by this person under another id): free the card now.
      store.db.prepare('DELETE FROM credentials WHERE id = ?').run(held.credentialId);
      if (held.cardholderId !== id) this.disturb.run(held.cardholderId);
    });
    if (!sound) return;
    writeCardholder(store, holder, position);
    const old = oldText === undefined ? undefined : (JSON.parse(oldText) as SiteCardholder);
    this.note(old === undefined ? 'created' : 'updated', 'cardholders', id);
    this.audit({ action: `cardholder.${old === undefined ? 'created' : 'updated'}`, target: id, before: this.forAudit('cardholders', old), after: this.forAudit('cardholders', holder) });
  }

  /** Everyone the file did not name leaves, with an audit row each. */
  deleteTheRest(): void {
    const { store } = this;
    let after = '';
    for (;;) {
      const ids = this.unseenAfter.all(after, 1_000);
      if (ids.length === 0) return;
      for (const id of ids) {
        const oldText = store.documents.text('cardholders', id);
        store.cardholders.delete(id);
        store.documents.delete('cardholders', id);
        this.note('deleted', 'cardholders', id);
        this.audit({ action: 'cardholder.deleted', target: id, before: this.forAudit('cardholders', oldText === undefined ? undefined : JSON.parse(oldText)) });
      }
      after = ids.at(-1)!;
    }
  }
}


