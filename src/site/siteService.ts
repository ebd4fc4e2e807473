import { isMasked } from '../access/cardDigest.js';
import { sealCardholderCredentials, storedCardOf, type CredentialProblem } from '../store/cardCredentials.js';
import { parseSiteData } from '../config/load.js';
import type { SiteCardholder, SiteCredential, SiteData } from '../config/siteSchema.js';
import { GuardpostError } from '../errors.js';
import type { Clock } from '../journal/index.js';
import type { Store } from '../store/index.js';
import type { CardholderListQuery } from '../store/cardholderList.js';
import { exportSiteData } from '../store/siteExport.js';
import { writeCardholder, writeDevice, writeDoor, writeGroup } from '../store/siteWrites.js';
import { deleteRuleEntity, writeRuleCollections } from '../store/siteRuleWrites.js';
import { parseCardholderCsv, type CsvRowError } from './cardholderCsv.js';
import { importSite, type ImportPacing, type ImportReport, type ImportSource } from './siteImport.js';
import { importOnThread } from './siteImportThread.js';
import type { CardholderListThread } from '../store/cardholderListThread.js';
import type { ImportedPerson } from './siteFileReader.js';

export const SiteCollections = ['devices', 'doors', 'groups', 'cardholders'] as const;
export type SiteCollection = (typeof SiteCollections)[number];
/** The rest of the site data the API edits entity by entity (the watch list has no ids: see watchList()). */
export const RuleCollections = ['zones', 'schedules', 'holidays', 'accessLevels', 'threatLevels', 'cameras', 'doorGroups', 'areas'] as const;
export type RuleCollection = (typeof RuleCollections)[number];
export type EditableCollection = SiteCollection | RuleCollection;
type Item<C extends EditableCollection> = SiteData[C][number];

/** A watch-list entry as the API shows it: keyed `cardholder:<id>` or `credential:<id>`. */
export type WatchEntry = SiteData['watchList'][number] & { readonly key: string };
export const watchKey = (entry: SiteData['watchList'][number]): string => (entry.cardholder !== undefined ? `cardholder:${entry.cardholder}` : `credential:${entry.credential ?? ''}`);

/** What a camera URL shows in place of its password (in responses and the audit log). */
export const MASKED_PASSWORD = '********';

/** A URL with its password (if any) replaced by the mask; anything unparsable is returned as is. */
export function maskUrlPassword(raw: string | undefined): string | undefined {
  if (raw === undefined) return raw;
  try {
    const url = new URL(raw);
    if (url.password === '') return raw;
    url.password = MASKED_PASSWORD;
    return url.toString();
  } catch {
    return raw;
  }
}

export type { ImportReport } from './siteImport.js';

const sameJson = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

export interface CsvImportReport {
  readonly dryRun: boolean;
  readonly rows: number;
  readonly created: string[];
  readonly updated: string[];
  readonly unchanged: string[];
  readonly errors: CsvRowError[];
}

export interface ChangeActor {
  readonly actor: string;
  readonly source: string;
}

export interface SiteServiceDeps {
  readonly store: Store;
  readonly clock: Clock;
  /** Called after every committed change so the next read decides on the new data. */
  readonly onChanged: (change: SiteChange) => void;
  /** Called instead of `onChanged` when no cardholder changed: the card index is kept [ACC-INDEX]. */
  readonly onRulesChanged?: (change: SiteChange) => void;
  /**
   * Runs `write` in one transaction and patches just these cardholders into the live index, so an
   * edit to one person never stalls badge decisions with a whole-site rebuild.
   */
  readonly changeCardholders: (ids: readonly string[], change: SiteChange, write: () => void) => void;
  /** People were committed by an import on its own thread: the live index catches up from the change log. */
  readonly onPeopleWritten?: () => void;
  /** Where the database is, for the API's import on a thread of its own (absent: none). */
  readonly stateDir?: string;
  /** The cardholder list's own thread (absent: pages are read here). */
  readonly cardholderPages?: Pick<CardholderListThread, 'page'>;
}

export interface SiteChange {
  readonly by: string;
  readonly what: string;
}

const singular: Record<EditableCollection, string> = {
  devices: 'device',
  doors: 'door',
  groups: 'group',
  cardholders: 'cardholder',
  zones: 'zone',
  schedules: 'schedule',
  holidays: 'holiday calendar',
  accessLevels: 'access level',
  threatLevels: 'threat level',
  cameras: 'camera',
  doorGroups: 'door group',
  areas: 'area',
};
/** Audit actions are `<entity>.created|updated|deleted`. */
const actionOf = (collection: EditableCollection): string => singular[collection].replace(/ (\w)/g, (_match, letter: string) => letter.toUpperCase());

/**
 * [SEC-CARD-DIGEST] A credential as the API shows it, to admins too: the mask in place of the
 * number (`card: "********42"`, or `wiegand: "h10301:12:***45"`), never the digest. Sent back as
 * shown, the mask keeps the card the credential holds (`keepShownCards`).
 */
export function shownCredential(credential: SiteCredential): SiteCredential {
  const { cardDigest, wiegandDigest, masked, card, wiegand, id, ...rest } = credential;
  if (cardDigest !== undefined) return { id, card: masked ?? '********', ...rest } as SiteCredential;
  if (wiegandDigest !== undefined) return { id, wiegand: masked ?? '********', ...rest } as unknown as SiteCredential;
  // Never stored in this form (see store/cardCredentials.ts); masked all the same.
  return { id, ...(card === undefined ? {} : { card: '********' }), ...(wiegand === undefined ? {} : { wiegand: '********' }), ...rest } as unknown as SiteCredential;
}

type Raw = Record<string, unknown>;
const isObject = (value: unknown): value is Raw => typeof value === 'object' && value !== null && !Array.isArray(value);

/** A parsed site file as an import's source: its rules and its people, each named by place. */
export function importSourceOf(raw: unknown): ImportSource {
  if (!isObject(raw) || (raw.cardholders !== undefined && !Array.isArray(raw.cardholders))) {
    const result = parseSiteData(raw);
    if (!result.ok) throw new GuardpostError('GP_ERR_BAD_REQUEST', `${result.problems.length} problem(s) in the site data`, result.problems);
  }
  const { cardholders, ...rules } = raw as Raw;
  const people = ((cardholders ?? []) as unknown[]).map((person, i): ImportedPerson => ({ raw: person, where: `cardholders[${i}]` }));
  return { rules, people };
}

/**
 * A cardholder PUT back as the API showed it carries masks, not numbers: a credential whose `card`
 * (or `wiegand`) is the mask of the card it already holds keeps that card; any other mask is an
 * error, since a mask cannot enrol a card.
 */
function keepShownCards(before: SiteCardholder | undefined, body: Raw, problems: string[]): Raw {
  if (!Array.isArray(body.credentials)) return body;
  const credentials = (body.credentials as unknown[]).map((raw, j) => {
    if (!isObject(raw)) return raw;
    const field = typeof raw.card === 'string' && isMasked(raw.card) ? 'card' : typeof raw.wiegand === 'string' ? 'wiegand' : undefined;
    if (field === undefined) return raw;
    const shown = raw[field] as string;
    const held = before?.credentials ?? [];
    const stored = raw.id !== undefined ? held.find((credential) => credential.id === raw.id) : held.filter((credential) => credential.masked === shown).length === 1 ? held.find((credential) => credential.masked === shown) : undefined;
    const { card: _card, wiegand: _wiegand, ...rest } = raw;
    if (stored === undefined || stored.masked !== shown || (stored.cardDigest ?? stored.wiegandDigest) === undefined) {
      problems.push(`body.credentials[${j}].${field}: "${shown}" is a masked number, which only keeps the card this credential already holds; give the whole card number to enrol a card`);
      return raw;
    }
    return { ...rest, id: stored.id, ...(stored.cardDigest !== undefined ? { cardDigest: stored.cardDigest } : { wiegandDigest: stored.wiegandDigest }), masked: stored.masked };
  });
  return { ...body, credentials };
}

/** Audit copies never hold secrets or whole card numbers. */
function forAudit(collection: EditableCollection, item: unknown): unknown {
  if (item === undefined || item === null) return item;
  if (collection === 'cameras') {
    const camera = item as SiteData['cameras'][number];
    return camera.url === undefined ? camera : { ...camera, url: maskUrlPassword(camera.url) };
  }
  if (collection === 'devices') {
    const { passwordHash, osdpKey, ...rest } = item as { passwordHash?: string; osdpKey?: string };
    return { ...rest, ...(passwordHash === undefined ? {} : { passwordHash: '[set]' }), ...(osdpKey === undefined ? {} : { osdpKey: '[set]' }) };
  }
  if (collection === 'cardholders') {
    const holder = item as SiteCardholder;
    const { pin: _pin, duressPin: _duressPin, ...rest } = holder;
    return { ...rest, credentials: holder.credentials.map(shownCredential) };
  }
  return item;
}

/**
 * The API never shows a reader's OSDP key, so a device edited through it (name, location) comes
 * back without one: the stored (sealed) key is kept while the device is still an OSDP reader
 * using Secure Channel. A new key replaces it; `secureChannel: off` or another driver drops it.
 */
function keptSecrets(collection: EditableCollection, before: unknown, body: Record<string, unknown>): Record<string, unknown> {
  if (collection !== 'devices' || before === undefined || 'osdpKey' in body) return {};
  const stored = (before as { osdpKey?: string }).osdpKey;
  if (stored === undefined || body.driver !== 'osdp' || body.secureChannel === 'off') return {};
  return { osdpKey: stored };
}

/**
 * Changes site data the one way the API, imports and the CLI share: the change is applied to a
 * copy of the whole site and validated with the site-file rules (so the API enforces exactly what
 * `check-config` does), then written with its audit entry in one transaction.
 */
export class SiteService {
  constructor(private readonly deps: SiteServiceDeps) {}

  /** One collection as stored (its documents), without exporting the whole site. */
  list<C extends EditableCollection>(collection: C): Item<C>[] {
    return this.deps.store.documents.list(collection) as Item<C>[];
  }

  /**
   * A page of cardholders, filtered, searched and sorted in SQL along indexes [SITE-LIST]: a panel
   * of millions is never loaded to show a hundred. `card` (a whole number) finds its holder by digest.
   */
  async listCardholders(query: Omit<CardholderListQuery, 'holderId'> & { readonly card?: string }): Promise<{ page: SiteCardholder[]; total: number; next?: string }> {
    const { card, ...rest } = query;
    const holderId = card === undefined ? undefined : (this.cardholderOf(card) ?? null);
    const asked = { ...rest, ...(holderId === undefined ? {} : { holderId }) };
    // [SITE-LIST] On the list's own thread when there is one: a broad search at panel scale takes a second.
    const { json, ...counted } = this.deps.cardholderPages === undefined ? this.deps.store.cardholderList.page(asked) : await this.deps.cardholderPages.page(asked);
    return { page: json.map((text) => JSON.parse(text) as SiteCardholder), ...counted };
  }

  /** Whether an entity exists (one document read, never the collection). */
  has(collection: EditableCollection, id: string): boolean {
    return this.deps.store.documents.text(collection, id) !== undefined;
  }

  get<C extends EditableCollection>(collection: C, id: string): Item<C> {
    const item = this.deps.store.documents.get(collection, id) as Item<C> | undefined;
    if (item === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no ${singular[collection]} "${id}"`);
    return item;
  }

  /** Creates or replaces one entity; returns it as stored and whether it is new. */
  put<C extends EditableCollection>(collection: C, id: string, body: Record<string, unknown>, by: ChangeActor): { item: Item<C>; created: boolean } {
    if (body.id !== undefined && body.id !== id) throw new GuardpostError('GP_ERR_BAD_REQUEST', `body.id: "${String(body.id)}" does not match the id in the URL "${id}"`);
    if (collection === 'cardholders') return this.putCardholder(id, body, by) as { item: Item<C>; created: boolean };
    const { store, clock } = this.deps;
    const snapshot = this.siteWithPeopleConcerned(collection === 'groups' ? id : undefined);
    const items = snapshot[collection] as unknown[];
    const index = (items as { id: string }[]).findIndex((candidate) => candidate.id === id);
    const before = index === -1 ? undefined : items[index];
    const position = index === -1 ? items.length : index;
    items[position] = { ...keptSecrets(collection, before, body), ...body, id };
    const site = this.validate(snapshot, collection, position);
    const item = site[collection][position] as Item<C>;
    this.commit(collection, [id], { by: by.actor, what: `${singular[collection]} ${id}` }, () => {
      this.write(collection, item, site);
      store.audit.record({ ...by, action: `${actionOf(collection)}.${before === undefined ? 'created' : 'updated'}`, target: id, before: forAudit(collection, before), after: forAudit(collection, item) }, clock());
    });
    return { item, created: before === undefined };
  }

  delete(collection: EditableCollection, id: string, by: ChangeActor): void {
    const { store, clock } = this.deps;
    if (collection === 'cardholders') return this.deleteCardholder(id, by);
    const snapshot = this.siteWithPeopleConcerned(collection === 'groups' ? id : undefined);
    const items = snapshot[collection] as { id: string }[];
    const index = items.findIndex((candidate) => candidate.id === id);
    if (index === -1) throw new GuardpostError('GP_ERR_NOT_FOUND', `no ${singular[collection]} "${id}"`);
    const [before] = items.splice(index, 1);
    const site = this.validate(snapshot, collection, -1);
    this.commit(collection, [id], { by: by.actor, what: `${singular[collection]} ${id}` }, () => {
      if (isRuleCollection(collection)) {
        deleteRuleEntity(store, collection, id);
        writeRuleCollections(store, site);
      } else store[collection].delete(id);
      store.documents.delete(collection, id);
      store.audit.record({ ...by, action: `${actionOf(collection)}.deleted`, target: id, before: forAudit(collection, before) }, clock());
    });
  }

  /**
   * One cardholder, checked incrementally so a panel of millions can be edited through the API:
   * the person against the site without its people (groups, formats, the holder's own rules, with
   * the site-file rules), then their credentials against the store's unique indexes and the watch
   * list against what the change removes. O(rules + this person), never O(cardholders).
   */
  private putCardholder(id: string, body: Record<string, unknown>, by: ChangeActor): { item: SiteCardholder; created: boolean } {
    const { store, clock } = this.deps;
    const before = store.documents.get('cardholders', id) as SiteCardholder | undefined;
    // [SEC-CARD-DIGEST] numbers become digests before anything is checked or kept.
    const shownProblems: string[] = [];
    const sealProblems: CredentialProblem[] = [];
    const sealed = sealCardholderCredentials(store.cardDigests, keepShownCards(before, { ...body, id }, shownProblems), sealProblems);
    shownProblems.push(...sealProblems.map((problem) => `body.${problem.field}: ${problem.message}`));
    if (shownProblems.length > 0) throw new GuardpostError('GP_ERR_BAD_REQUEST', shownProblems.join('; '), shownProblems);
    const rules = exportSiteData(store, { withoutCardholders: true });
    const watchList = rules.watchList;
    rules.watchList = [];
    rules.cardholders = [sealed as unknown as SiteCardholder];
    const item = this.validate(rules, 'cardholders', 0).cardholders[0]!;
    const problems: string[] = [];
    item.credentials.forEach((credential, j) => {
      const path = `body.credentials[${j}]`;
      const sameId = store.cardholders.credentialHolderOf(credential.id);
      if (sameId !== undefined && sameId !== id) problems.push(`${path}.id: duplicate id "${credential.id}" (a credential of cardholder "${sameId}")`);
      const holder = this.holderOfCard(credential);
      if (holder !== undefined && holder.cardholderId !== id) problems.push(`${path}.${credential.cardDigest !== undefined ? 'card' : 'wiegand'}: this card is already held by credential "${holder.credentialId}" of cardholder "${holder.cardholderId}"`);
    });
    const kept = new Set(item.credentials.map((credential) => credential.id));
    problems.push(...this.watchListBreaks(watchList, id, (credentialId) => !kept.has(credentialId), false));
    if (problems.length > 0) throw new GuardpostError('GP_ERR_BAD_REQUEST', problems.join('; '), problems);
    this.commit('cardholders', [id], { by: by.actor, what: `cardholder ${id}` }, () => {
      writeCardholder(store, item);
      store.audit.record({ ...by, action: `cardholder.${before === undefined ? 'created' : 'updated'}`, target: id, before: forAudit('cardholders', before), after: forAudit('cardholders', item) }, clock());
    });
    return { item, created: before === undefined };
  }

  /** Who holds this (kept-form) card, through the store's unique index of digests. */
  private holderOfCard(credential: SiteCredential): { credentialId: string; cardholderId: string } | undefined {
    const stored = storedCardOf(this.deps.store.cardDigests, credential);
    return this.deps.store.cardholders.holderOfDigest(stored.kind, stored.digest);
  }

  /** [SEC-CARD-DIGEST] The cardholder holding this card number, if any (`?card=` searches). */
  cardholderOf(number: string): string | undefined {
    const digests = this.deps.store.cardDigests;
    if (digests === null || !/^[0-9]{1,20}$/.test(number)) return undefined;
    return this.deps.store.cardholders.holderOfDigest('card', digests.ofCard(number))?.cardholderId;
  }

  private deleteCardholder(id: string, by: ChangeActor): void {
    const { store, clock } = this.deps;
    const before = store.documents.get('cardholders', id);
    if (before === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no cardholder "${id}"`);
    const problems = this.watchListBreaks(store.siteRules.listWatchList().map((entry) => ({ ...(entry.cardholderId === null ? {} : { cardholder: entry.cardholderId }), ...(entry.credentialId === null ? {} : { credential: entry.credentialId }), reason: entry.reason })), id, () => true, true);
    if (problems.length > 0) throw new GuardpostError('GP_ERR_BAD_REQUEST', problems.join('; '), problems);
    this.commit('cardholders', [id], { by: by.actor, what: `cardholder ${id}` }, () => {
      store.cardholders.delete(id);
      store.documents.delete('cardholders', id);
      store.audit.record({ ...by, action: 'cardholder.deleted', target: id, before: forAudit('cardholders', before) }, clock());
    });
  }

  /** Watch-list entries a change to cardholder `id` would leave pointing at nothing. */
  private watchListBreaks(watchList: SiteData['watchList'], id: string, removes: (credentialId: string) => boolean, holderRemoved: boolean): string[] {
    const problems: string[] = [];
    watchList.forEach((entry, i) => {
      if (holderRemoved && entry.cardholder === id) problems.push(`would break watchList[${i}].cardholder: unknown cardholder "${id}"`);
      if (entry.credential !== undefined && this.deps.store.cardholders.credentialHolderOf(entry.credential) === id && removes(entry.credential)) {
        problems.push(`would break watchList[${i}].credential: unknown credential "${entry.credential}"`);
      }
    });
    return problems;
  }

  /** The watch list, each entry keyed by whom it names (`cardholder:<id>` or `credential:<id>`). */
  watchList(): WatchEntry[] {
    return (this.deps.store.documents.list('watchList') as SiteData['watchList']).map((entry) => ({ key: watchKey(entry), ...entry }));
  }

  watchEntry(key: string): WatchEntry {
    const entry = this.watchList().find((candidate) => candidate.key === key);
    if (entry === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no watch-list entry "${key}"`);
    return entry;
  }

  /** Puts one cardholder or credential on the watch list, or changes the reason it is there. */
  putWatchEntry(raw: Record<string, unknown>, by: ChangeActor, expectKey?: string): { entry: WatchEntry; created: boolean } {
    const { store, clock } = this.deps;
    const named = raw as { cardholder?: unknown; credential?: unknown };
    const snapshot = this.siteWithPeopleConcerned(undefined, [
      ...(typeof named.cardholder === 'string' ? [named.cardholder] : []),
      ...(typeof named.credential === 'string' ? [store.cardholders.credentialHolderOf(named.credential) ?? ''] : []),
    ]);
    const list = snapshot.watchList as unknown[];
    const key = watchKey(raw as SiteData['watchList'][number]);
    if (expectKey !== undefined && key !== expectKey) throw new GuardpostError('GP_ERR_BAD_REQUEST', `body: names "${key}", not the entry in the URL "${expectKey}"`);
    const index = snapshot.watchList.findIndex((entry) => watchKey(entry) === key);
    const before = index === -1 ? undefined : snapshot.watchList[index];
    const position = index === -1 ? list.length : index;
    list[position] = raw;
    const site = this.validate(snapshot, 'watchList', position);
    const entry = site.watchList[position]!;
    this.writeWatchList(site, { by: by.actor, what: `watch list ${key}` }, () =>
      store.audit.record({ ...by, action: `watchList.${before === undefined ? 'created' : 'updated'}`, target: key, before, after: entry }, clock()),
    );
    return { entry: { key, ...entry }, created: before === undefined };
  }

  deleteWatchEntry(key: string, by: ChangeActor): void {
    const { store, clock } = this.deps;
    const snapshot = this.siteWithPeopleConcerned();
    const index = snapshot.watchList.findIndex((entry) => watchKey(entry) === key);
    if (index === -1) throw new GuardpostError('GP_ERR_NOT_FOUND', `no watch-list entry "${key}"`);
    const [before] = snapshot.watchList.splice(index, 1);
    const site = this.validate(snapshot, 'watchList', -1);
    this.writeWatchList(site, { by: by.actor, what: `watch list ${key}` }, () => store.audit.record({ ...by, action: 'watchList.deleted', target: key, before }, clock()));
  }

  private writeWatchList(site: SiteData, change: SiteChange, audit: () => void): void {
    const { store } = this.deps;
    store.db.transaction(() => {
      store.siteRules.replaceWatchList(site.watchList.map((entry) => ({ cardholderId: entry.cardholder ?? null, credentialId: entry.credential ?? null, reason: entry.reason })));
      store.documents.replaceCollection('watchList', site.watchList.map((entry, position) => ({ id: String(position), item: entry })));
      audit();
    })();
    this.deps.onChanged(change);
  }

  /** Writes in one transaction, then brings the live index up to date: patched for cardholders, rebuilt otherwise. */
  private commit(collection: EditableCollection, ids: readonly string[], change: SiteChange, write: () => void): void {
    if (collection === 'cardholders') return this.deps.changeCardholders(ids, change, write);
    this.deps.store.db.transaction(write)();
    (this.deps.onRulesChanged ?? this.deps.onChanged)(change);
  }

  /**
   * Makes the store's site data equal to `raw` (a whole site file): validates it all, reports what
   * would be created, updated and deleted, and unless `dryRun` writes it, with an audit entry per
   * change, in short transactions once everything checked out [SITE-IMPORT], [SITE-IMPORT-SLICES].
   */
  replaceAll(raw: unknown, by: ChangeActor, dryRun: boolean): ImportReport {
    return this.importSite(importSourceOf(raw), by, dryRun);
  }


  /**
   * A whole-site import whose people come one at a time (a site file read as it goes:
   * site/siteFileReader.ts), so a panel of millions is never in memory at once [SITE-IMPORT].
   */
  importSite(content: ImportSource, by: ChangeActor, dryRun: boolean, pacing?: ImportPacing, onStep?: (step: 'wrote' | 'rules') => void): ImportReport {
    return this.imported(importSite(this.deps.store, content, by, dryRun, this.deps.clock(), (collection, item) => forAudit(collection, item), pacing, onStep), by);
  }

  /**
   * The API's whole-site import, on a thread of its own [SITE-IMPORT-SLICES]: the body is parsed,
   * checked and written there, on its own connection, in short transactions with pauses as the
   * CLI's beside a running gateway; this thread only catches the live index up after each commit
   * (a removal or a ban takes effect while the rest is written). One at a time.
   */
  async importOffThread(body: Buffer, format: 'json' | 'yaml', by: ChangeActor, dryRun: boolean): Promise<ImportReport> {
    const { stateDir } = this.deps;
    if (stateDir === undefined) throw new GuardpostError('GP_ERR_INTERNAL', 'an import off the gateway\'s thread needs the state directory');
    if (this.importing) throw new GuardpostError('GP_ERR_CONFLICT', 'a site import is already running; try again when it has finished');
    this.importing = true;
    try {
      const onStep = (step: 'wrote' | 'rules') => (step === 'rules' ? (this.deps.onRulesChanged ?? this.deps.onChanged)({ by: by.actor, what: 'site import (rules)' }) : this.deps.onPeopleWritten?.());
      return this.imported(await importOnThread({ stateDir, body, format, by, dryRun, nowMs: this.deps.clock() }, onStep), by);
    } finally {
      this.importing = false;
    }
  }

  private importing = false;

  private imported(report: ImportReport, by: ChangeActor): ImportReport {
    if (report.dryRun) return report;
    const { created, updated, deleted } = report.counts;
    const peopleChanged = created.cardholders + updated.cardholders + deleted.cardholders > 0;
    (peopleChanged ? this.deps.onChanged : (this.deps.onRulesChanged ?? this.deps.onChanged))({ by: by.actor, what: 'site import' });
    return report;
  }

  /**
   * Creates or updates cardholders from a CSV file (see cardholderCsv.ts). Every row is checked
   * against the whole site first; with any error nothing is written, and the report names each
   * row and what is wrong with it.
   */
  importCardholdersCsv(text: string, by: ChangeActor, dryRun: boolean): CsvImportReport {
    const { store, clock } = this.deps;
    // Incremental like one-person edits [ACC-INDEX]: the rows against the site without its people,
    // then against the store's unique indexes; never the whole population.
    const { rows, holders, errors } = parseCardholderCsv(text, (id) => store.documents.get('cardholders', id) as SiteCardholder | undefined, store.cardDigests);
    const before = new Map(holders.map(({ holder }) => [String(holder.id), store.documents.get('cardholders', String(holder.id)) as SiteCardholder | undefined]));
    const rules = exportSiteData(store, { withoutCardholders: true });
    const watchList = rules.watchList;
    rules.watchList = [];
    rules.cardholders = holders.map(({ holder }) => holder as unknown as SiteCardholder);
    const rowOf = (position: number): number | undefined => holders[position]?.row;
    const result = parseSiteData(rules);
    if (!result.ok) {
      for (const problem of result.problems) {
        const match = /^cardholders\[(\d+)\](.*)$/.exec(problem);
        const row = match === null ? undefined : rowOf(Number(match[1]));
        // "already held by cardholders[3].credentials[0]" names a position in this file: say the row.
        const message = (match?.[2] ?? '').replace(/^\./, '').replace(/cardholders\[(\d+)\]\.?/g, (all, position: string) => `row ${rowOf(Number(position)) ?? '?'}${all.endsWith('.') ? ', ' : ''}`);
        if (row !== undefined) errors.push({ row, id: String(holders[Number(match![1])]?.holder.id ?? ''), message });
        else errors.push({ row: 0, id: null, message: `would break ${problem}` });
      }
    }
    // Against the people outside the file, whether or not the file is sound in itself.
    const inFile = new Set(rules.cardholders.map((holder) => String(holder.id)));
    rules.cardholders.forEach((holder, position) => {
      const row = rowOf(position) ?? 0;
      if (!Array.isArray(holder.credentials)) return;
      holder.credentials.forEach((credential, j) => {
        if (typeof credential.id !== 'string' || (typeof credential.cardDigest !== 'string' && typeof credential.wiegandDigest !== 'string')) return;
        const owner = store.cardholders.credentialHolderOf(credential.id);
        if (owner !== undefined && owner !== holder.id && !inFile.has(owner)) errors.push({ row, id: holder.id, message: `credentials[${j}].id: duplicate id "${credential.id}" (a credential of cardholder "${owner}")` });
        // [SEC-CARD-DIGEST] by digest: the file's numbers were digested as it was read.
        let held: { credentialId: string; cardholderId: string } | undefined;
        try {
          held = this.holderOfCard(credential);
        } catch {
          return; // a digest of another key: reported by the validation above
        }
        // A card moving between two people of this file is checked within the file above.
        if (held !== undefined && held.cardholderId !== holder.id && !inFile.has(held.cardholderId)) {
          errors.push({ row, id: holder.id, message: `credentials[${j}].${credential.cardDigest !== undefined ? 'card' : 'wiegand'}: this card is already held by credential "${held.credentialId}" of cardholder "${held.cardholderId}"` });
        }
      });
      const kept = new Set(holder.credentials.map((credential) => credential.id));
      for (const problem of this.watchListBreaks(watchList, holder.id, (credentialId) => !kept.has(credentialId), false)) errors.push({ row, id: holder.id, message: problem });
    });
    const report: CsvImportReport = { dryRun, rows, created: [], updated: [], unchanged: [], errors: errors.sort((a, b) => a.row - b.row) };
    if (!result.ok || errors.length > 0) {
      if (dryRun) return report;
      throw new GuardpostError('GP_ERR_BAD_REQUEST', `${report.errors.length} problem(s) in the CSV; nothing was changed`, report.errors.map((error) => `row ${error.row}${error.id === null ? '' : ` (${error.id})`}: ${error.message}`));
    }
    const written = result.site.cardholders;
    for (const holder of written) {
      const old = before.get(holder.id);
      if (old === undefined) report.created.push(holder.id);
      else if (sameJson(old, holder)) report.unchanged.push(holder.id);
      else report.updated.push(holder.id);
    }
    if (dryRun) return report;
    const changed = written.filter((holder) => !sameJson(before.get(holder.id), holder));
    this.commit('cardholders', changed.map((holder) => holder.id), { by: by.actor, what: `cardholder CSV import (${report.created.length} created, ${report.updated.length} updated)` }, () => {
      const now = clock();
      // Cards given up first: a card moving to a person on an earlier row must be free when written.
      for (const holder of changed) if (before.get(holder.id) !== undefined) store.cardholders.deleteCredentialsExcept(holder.id, holder.credentials.map((credential) => credential.id));
      for (const holder of changed) {
        const old = before.get(holder.id);
        writeCardholder(store, holder);
        store.audit.record({ ...by, action: `cardholder.${old === undefined ? 'created' : 'updated'}`, target: holder.id, before: forAudit('cardholders', old), after: forAudit('cardholders', holder) }, now);
      }
    });
    return report;
  }

  /**
   * The site to validate a change of rules against [SITE-LIST]: everything but the people, plus
   * only the people the change can concern (those the watch list names, the members and escorts
   * of a group being changed, whoever `extra` names), never every person of a panel. People keep
   * their places in this partial list only: problems name them by id (see validate()).
   */
  private siteWithPeopleConcerned(group?: string, extra: readonly string[] = []): SiteData {
    const { store } = this.deps;
    const site = exportSiteData(store, { withoutCardholders: true });
    const ids = new Set(extra.filter((id) => id !== ''));
    for (const entry of site.watchList) {
      if (entry.cardholder !== undefined) ids.add(entry.cardholder);
      const holder = entry.credential === undefined ? undefined : store.cardholders.credentialHolderOf(entry.credential);
      if (holder !== undefined) ids.add(holder);
    }
    if (group !== undefined) for (const id of store.cardholders.concernedByGroup(group)) ids.add(id);
    site.cardholders = [...ids].flatMap((id) => {
      const holder = store.documents.get('cardholders', id) as SiteCardholder | undefined;
      return holder === undefined ? [] : [holder];
    });
    return site;
  }

  /** Problems with the changed entity name its fields (`body.unlockMs: …`); others name where they are. */
  private validate(snapshot: SiteData, collection: EditableCollection | 'watchList', position: number): SiteData {
    const result = parseSiteData(snapshot);
    if (result.ok) return result.site;
    const own = `${collection}[${position}]`;
    // The people in a rules change's site are a few, not the file's list: name them by id.
    const named = (problem: string): string => (collection === 'cardholders' ? problem : problem.replace(/cardholders\[(\d+)\]/g, (all, k: string) => (snapshot.cardholders[Number(k)] === undefined ? all : `cardholder "${snapshot.cardholders[Number(k)]!.id}"`)));
    const problems = result.problems.map(named).map((problem) =>
      problem.startsWith(`${own}.`) ? `body.${problem.slice(own.length + 1)}` : problem.startsWith(`${own}:`) ? `body${problem.slice(own.length)}` : `would break ${problem}`,
    );
    throw new GuardpostError('GP_ERR_BAD_REQUEST', problems.join('; '), problems);
  }

  private write(collection: EditableCollection, item: unknown, site: SiteData): void {
    const { store } = this.deps;
    if (isRuleCollection(collection)) {
      writeRuleCollections(store, site);
      return store.documents.put(collection, (item as { id: string }).id, item);
    }
    switch (collection) {
      case 'devices':
        return writeDevice(store, item as SiteData['devices'][number]);
      case 'doors':
        return writeDoor(store, item as SiteData['doors'][number]);
      case 'groups':
        return writeGroup(store, item as SiteData['groups'][number]);
      case 'cardholders':
        return writeCardholder(store, item as SiteCardholder);
    }
  }
}

function isRuleCollection(collection: EditableCollection): collection is RuleCollection {
  return (RuleCollections as readonly string[]).includes(collection);
}
