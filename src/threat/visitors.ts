import { randomBytes, randomInt } from 'node:crypto';
import { maskCardNumber } from '../access/credentials.js';
import { utcOffsetMs } from '../access/localTime.js';
import type { AlarmService } from '../alarms/service.js';
import type { Actor } from '../doors/actor.js';
import type { Timers } from '../doors/timers.js';
import { GuardpostError } from '../errors.js';
import type { Clock, Journal } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { SiteService } from '../site/siteService.js';
import type { Store } from '../store/index.js';
import { screen, type ScreeningMatch, type WatchedPerson } from './screening.js';
import type { VisitorRecord, VisitorStatus } from './visitorRecord.js';
import type { ThreatSiteFacts } from './siteFacts.js';

export type { VisitorRecord, VisitorStatus } from './visitorRecord.js';

export interface RegisterInput {
  readonly name: string;
  readonly company?: string;
  readonly host: string;
  readonly expectedAt: string;
  readonly photoUrl?: string;
  readonly escorted?: boolean;
  /** Document numbers, e-mail, phone: screened against the watch list, never journalled. */
  readonly identifiers?: readonly string[];
  /** The number of the visitor card handed out; omitted = one is issued from the site's range. */
  readonly card?: string;
}

export interface WatchPersonInput {
  readonly name?: string;
  readonly identifiers?: readonly string[];
  readonly reason: string;
}

export interface VisitorDeps {
  readonly store: Store;
  readonly journal: Journal;
  readonly alarms: AlarmService;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly timers: Timers;
  readonly cardholderOfCard: (card: string) => string | null;
}

const MINUTE_MS = 60_000;
/** A list answers at once; narrow it by date or status for older visits. */
const MAX_LISTED = 1000;
const iso = (ms: number): string => new Date(ms).toISOString();

/** Local wall-clock time on a local date in a zone → UTC ms (the offset looked up twice around DST). */
export function localToUtcMs(zone: string, date: string, time: string): number {
  const [year, month, day] = date.split('-').map(Number) as [number, number, number];
  const [hour, minute] = time.split(':').map(Number) as [number, number];
  const wall = Date.UTC(year, month - 1, day, hour, minute);
  const first = wall - utcOffsetMs(zone, wall);
  return wall - utcOffsetMs(zone, first);
}

function localDate(zone: string, ms: number): string {
  return new Date(ms + utcOffsetMs(zone, ms)).toISOString().slice(0, 10);
}

/**
 * Visitors [THR-VISITOR]: registration issues a temporary credential (a cardholder in the visitor
 * group, valid on the expected day until closing, optionally escorted) after screening against the
 * watch list; a match blocks it and raises an alarm. At closing the credential ends on its own.
 */
export class Visitors {
  private site: SiteService | undefined;
  private facts: ThreatSiteFacts;
  private timer: unknown;

  constructor(
    private readonly deps: VisitorDeps,
    facts: ThreatSiteFacts,
    /** Areas a person is inside now (occupancy). */
    private readonly areasOf: (cardholder: string) => string[],
  ) {
    this.facts = facts;
    deps.metrics.define('guardpost_visitors_registered_total', 'Visitors registered, by screening outcome');
  }

  attachSiteService(site: SiteService): void {
    this.site = site;
    this.sweep();
  }

  configure(facts: ThreatSiteFacts): void {
    this.facts = facts;
  }

  stop(): void {
    if (this.timer !== undefined) this.deps.timers.clear(this.timer);
    this.timer = undefined;
  }

  /** Newest first; a day's visitors are those whose credential ends that day (at its closing time). */
  list(filter: { readonly status?: VisitorStatus; readonly date?: string }): VisitorRecord[] {
    const where: string[] = [];
    const params: (string | number)[] = [];
    if (filter.status !== undefined) {
      where.push('status = ?');
      params.push(filter.status);
    }
    if (filter.date !== undefined) {
      // The credential ends on the visit's day: a window of that local day, a day either side for the zone.
      const dayMs = Date.parse(`${filter.date}T00:00:00Z`);
      where.push('valid_until_ms BETWEEN ? AND ?');
      params.push(dayMs - 86_400_000, dayMs + 2 * 86_400_000);
    }
    const rows = this.deps.store.db
      .prepare<(string | number)[], { record: string }>(`SELECT record FROM visitors ${where.length > 0 ? `WHERE ${where.join(' AND ')}` : ''} ORDER BY created_ms DESC, id LIMIT ${MAX_LISTED}`)
      .all(...params);
    return rows
      .map((row) => JSON.parse(row.record) as VisitorRecord)
      .filter((visitor) => filter.date === undefined || localDate(this.facts.timezone, Date.parse(visitor.expectedAt)) === filter.date);
  }

  get(id: string): VisitorRecord {
    const row = this.deps.store.db.prepare<[string], { record: string }>('SELECT record FROM visitors WHERE id = ?').get(id);
    if (row === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no visitor "${id}"`);
    return JSON.parse(row.record) as VisitorRecord;
  }

  register(input: RegisterInput, actor: Actor): VisitorRecord {
    const rules = this.facts.rules.visitors;
    if (rules === undefined) throw new GuardpostError('GP_ERR_CONFLICT', 'visitors are not set up: add threatRules.visitors (the visitor group and closing time) to the site data');
    const site = this.siteService();
    const nowMs = this.deps.clock();
    const expectedMs = Date.parse(input.expectedAt);
    const zone = this.facts.timezone;
    const day = localDate(zone, expectedMs);
    const validFromMs = Math.floor(Math.max(nowMs, localToUtcMs(zone, day, '00:00')) / 1000) * 1000;
    const validUntilMs = localToUtcMs(zone, day, rules.closingTime);
    if (validUntilMs <= nowMs) throw new GuardpostError('GP_ERR_BAD_REQUEST', `body.expectedAt: the site closes at ${rules.closingTime} (${zone}) on ${day}, which has passed; register the visit for a later day`);
    if (validUntilMs - validFromMs < MINUTE_MS) throw new GuardpostError('GP_ERR_BAD_REQUEST', `body.expectedAt: less than a minute before closing (${rules.closingTime})`);
    const card = input.card ?? this.issueCard(rules.cardRange);
    if (input.card !== undefined && this.deps.cardholderOfCard(input.card) !== null) throw new GuardpostError('GP_ERR_CONFLICT', `body.card: card ${maskCardNumber(input.card)} is already in use; hand out another visitor card`);

    // [THR-VISITOR-SCREEN] every registration is screened before a credential exists.
    const matches = screen({ name: input.name, identifiers: input.identifiers ?? [] }, this.watchList());
    const blocked = matches.length > 0;
    const id = `visitor-${randomBytes(5).toString('hex')}`;
    const by = actor.by;
    const cardholder = {
      id,
      name: input.name,
      status: blocked ? 'suspended' : 'active',
      groups: [rules.group],
      credentials: [{ id: `${id}-card`, card, status: blocked ? 'suspended' : 'active', validFrom: iso(validFromMs), validUntil: iso(validUntilMs) }],
      ...(input.escorted === true ? { escort: { groups: rules.escortGroups, withinSeconds: rules.escortWithinSeconds } } : {}),
    };
    if (input.escorted === true && rules.escortGroups.length === 0) throw new GuardpostError('GP_ERR_CONFLICT', 'body.escorted: the site names no escort groups (threatRules.visitors.escortGroups)');
    site.put('cardholders', id, cardholder, { actor: by ?? 'anonymous', source: actor.address ?? 'api' });
    const record: VisitorRecord = {
      id,
      cardholder: id,
      name: input.name,
      company: input.company ?? null,
      host: input.host,
      expectedAt: iso(expectedMs),
      photoUrl: input.photoUrl ?? null,
      escorted: input.escorted === true,
      status: blocked ? 'blocked' : 'active',
      card: maskCardNumber(card),
      credential: `${id}-card`,
      validFrom: iso(validFromMs),
      validUntil: iso(validUntilMs),
      registeredBy: by,
      registeredAt: iso(nowMs),
      matches,
      approvedBy: null,
      endedAt: null,
      endedBy: null,
    };
    try {
      this.deps.journal.durableTransaction(() => {
        this.deps.store.db.prepare('INSERT INTO visitors (id, cardholder_id, record, status, valid_until_ms, created_ms) VALUES (?, ?, ?, ?, ?, ?)').run(id, id, JSON.stringify(record), record.status, validUntilMs, nowMs);
        this.deps.journal.append({ type: 'visitor.registered', cardholder: id, data: { visitor: id, host: record.host, company: record.company, expectedAt: record.expectedAt, validUntil: record.validUntil, escorted: record.escorted, card: record.card, status: record.status, by } });
      });
    } catch (error) {
      // No credential may outlive its record: without the record nothing would expire it.
      this.removeCredential(id, by ?? 'anonymous', 'rollback');
      throw error;
    }
    this.deps.metrics.increment('guardpost_visitors_registered_total', { outcome: blocked ? 'watchlist_match' : 'admitted' });
    if (blocked) this.raiseMatch(record);
    this.schedule();
    return record;
  }

  /** Security reviewed a match (a namesake) and lets the visitor in after all. */
  approve(id: string, actor: Actor, note: string): VisitorRecord {
    const visitor = this.get(id);
    if (visitor.status !== 'blocked') throw new GuardpostError('GP_ERR_CONFLICT', `visitor ${id} is ${visitor.status}, not blocked`);
    const site = this.siteService();
    const holder = site.get('cardholders', id);
    site.put('cardholders', id, { ...holder, status: 'active', credentials: holder.credentials.map((credential) => ({ ...credential, status: 'active' })) }, { actor: actor.by ?? 'anonymous', source: actor.address ?? 'api' });
    return this.update(visitor, { ...visitor, status: 'active', approvedBy: actor.by }, () =>
      this.deps.journal.append({ type: 'visitor.registered', cardholder: id, reason: 'approved_after_match', data: { visitor: id, host: visitor.host, status: 'active', approvedAfterMatch: true, note, by: actor.by } }),
    );
  }

  checkOut(id: string, actor: Actor): VisitorRecord {
    const visitor = this.get(id);
    if (visitor.status !== 'active' && visitor.status !== 'blocked') throw new GuardpostError('GP_ERR_CONFLICT', `visitor ${id} has already ${visitor.status === 'expired' ? 'expired' : 'checked out'}`);
    this.removeCredential(id, actor.by ?? 'anonymous', actor.address ?? 'api');
    return this.update(visitor, { ...visitor, status: 'checked_out', endedAt: iso(this.deps.clock()), endedBy: actor.by }, () =>
      this.deps.journal.append({ type: 'visitor.checked_out', cardholder: id, data: { visitor: id, host: visitor.host, by: actor.by } }),
    );
  }

  /**
   * Closing time: credentials past their end are withdrawn (decide() already refuses them by
   * their validity); a visitor still inside an area then is an event for security.
   */
  sweep(): void {
    if (this.site === undefined) return;
    const nowMs = this.deps.clock();
    const due = this.deps.store.db
      .prepare<[number], { record: string }>("SELECT record FROM visitors WHERE status IN ('active', 'blocked') AND valid_until_ms <= ? ORDER BY valid_until_ms")
      .all(nowMs)
      .map((row) => JSON.parse(row.record) as VisitorRecord);
    for (const visitor of due) {
      try {
        const areas = this.areasOf(visitor.id);
        if (areas.length > 0) {
          this.deps.journal.append({ type: 'visitor.still_inside', cardholder: visitor.id, data: { visitor: visitor.id, name: visitor.name, host: visitor.host, areas, closedAt: visitor.validUntil } });
        }
        this.removeCredential(visitor.id, 'guardpost', 'closing-time');
        this.update(visitor, { ...visitor, status: 'expired', endedAt: iso(nowMs), endedBy: null }, () =>
          this.deps.journal.append({ type: 'visitor.expired', cardholder: visitor.id, data: { visitor: visitor.id, host: visitor.host, validUntil: visitor.validUntil, stillInside: areas } }),
        );
      } catch (error) {
        this.deps.logger.error({ err: error, visitor: visitor.id }, 'expiring a visitor failed; retrying at the next sweep');
      }
    }
    this.schedule();
  }

  // --- the watch list of people (names and identifiers), kept by security ---

  watchList(): WatchedPerson[] {
    const people = this.deps.store.db
      .prepare<[], { record: string }>('SELECT record FROM watchlist_people ORDER BY added_ms, id')
      .all()
      .map((row) => JSON.parse(row.record) as WatchedPerson);
    // Watch-listed cardholders of the site data are screened by name too (a banned former employee).
    const listed = (this.deps.store.documents.list('watchList') as { cardholder?: string; reason: string }[]).flatMap((entry) => {
      if (entry.cardholder === undefined) return [];
      const holder = this.deps.store.cardholders.get(entry.cardholder);
      return holder === undefined ? [] : [{ id: `cardholder:${holder.id}`, name: holder.name, identifiers: [], reason: entry.reason, addedBy: null, addedAt: '', source: 'cardholder' as const }];
    });
    return [...people, ...listed];
  }

  addWatched(input: WatchPersonInput, actor: Actor): WatchedPerson {
    const identifiers = (input.identifiers ?? []).map((value) => value.trim()).filter((value) => value !== '');
    if ((input.name === undefined || input.name.trim() === '') && identifiers.length === 0) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'body: give a name or at least one identifier');
    const nowMs = this.deps.clock();
    const entry: WatchedPerson = { id: `watch-${randomBytes(5).toString('hex')}`, name: input.name?.trim() ?? null, identifiers, reason: input.reason, addedBy: actor.by, addedAt: iso(nowMs), source: 'people' };
    // [SEC-AUDIT] the entry, its audit row and its event in one transaction.
    this.deps.journal.durableTransaction(() => {
      this.deps.store.db.prepare('INSERT INTO watchlist_people (id, record, added_ms) VALUES (?, ?, ?)').run(entry.id, JSON.stringify(entry), nowMs);
      this.deps.store.audit.record({ actor: actor.by ?? 'anonymous', source: actor.address ?? 'api', action: 'watchlist.added', target: entry.id, after: { name: entry.name, identifiers: entry.identifiers.length, reason: entry.reason } }, nowMs);
      this.deps.journal.append({ type: 'watchlist.added', data: { entry: entry.id, name: entry.name, identifiers: identifiers.length, reason: entry.reason, by: actor.by } });
    });
    return entry;
  }

  removeWatched(id: string, actor: Actor): void {
    const row = this.deps.store.db.prepare<[string], { record: string }>('SELECT record FROM watchlist_people WHERE id = ?').get(id);
    if (row === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no watch-list entry "${id}"`);
    const entry = JSON.parse(row.record) as WatchedPerson;
    const nowMs = this.deps.clock();
    this.deps.journal.durableTransaction(() => {
      this.deps.store.db.prepare('DELETE FROM watchlist_people WHERE id = ?').run(id);
      this.deps.store.audit.record({ actor: actor.by ?? 'anonymous', source: actor.address ?? 'api', action: 'watchlist.removed', target: id, before: { name: entry.name, identifiers: entry.identifiers.length, reason: entry.reason } }, nowMs);
      this.deps.journal.append({ type: 'watchlist.removed', data: { entry: id, name: entry.name, by: actor.by } });
    });
  }

  private raiseMatch(visitor: VisitorRecord): void {
    try {
      // Silent: reception must not tip the visitor off; security reviews it from the console.
      const { alarm } = this.deps.alarms.raise({
        kind: 'watchlist',
        source: { device: null, door: null, zone: null, location: 'visitor registration' },
        sourceKey: `visitor:${visitor.id}`,
        silent: true,
        actor: { via: 'system', by: visitor.registeredBy },
      });
      this.deps.journal.append({
        type: 'visitor.watchlist_match',
        cardholder: visitor.id,
        reason: 'watchlist',
        data: { visitor: visitor.id, name: visitor.name, company: visitor.company, host: visitor.host, matches: visitor.matches, alarm: alarm.id, watchlist: true, by: visitor.registeredBy },
      });
    } catch (error) {
      this.deps.logger.error({ err: error, visitor: visitor.id }, 'raising the watch-list alarm for a visitor failed');
    }
  }

  private update(before: VisitorRecord, after: VisitorRecord, journal: () => void): VisitorRecord {
    this.deps.journal.durableTransaction(() => {
      this.deps.store.db.prepare('UPDATE visitors SET record = ?, status = ? WHERE id = ?').run(JSON.stringify(after), after.status, before.id);
      journal();
    });
    return after;
  }

  private removeCredential(id: string, actor: string, source: string): void {
    const site = this.siteService();
    try {
      site.delete('cardholders', id, { actor, source });
    } catch (error) {
      // Already gone (an admin deleted the cardholder): nothing left to withdraw.
      if (!(error instanceof GuardpostError && error.code === 'GP_ERR_NOT_FOUND')) throw error;
    }
  }

  private issueCard(range: { readonly from: number; readonly to: number }): string {
    for (let attempt = 0; attempt < 50; attempt++) {
      const card = String(randomInt(range.from, range.to + 1));
      if (this.deps.cardholderOfCard(card) === null) return card;
    }
    throw new GuardpostError('GP_ERR_CONFLICT', 'no free visitor card number in threatRules.visitors.cardRange');
  }

  private siteService(): SiteService {
    if (this.site === undefined) throw new GuardpostError('GP_ERR_NOT_READY', 'visitor registration is not ready yet');
    return this.site;
  }

  private schedule(): void {
    if (this.timer !== undefined) this.deps.timers.clear(this.timer);
    this.timer = undefined;
    const next = this.deps.store.db.prepare<[], { due: number | null }>("SELECT MIN(valid_until_ms) AS due FROM visitors WHERE status IN ('active', 'blocked')").get()?.due ?? null;
    if (next === null) return;
    // Timers cap near 24.8 days; a sweep that finds nothing due just schedules again.
    this.timer = this.deps.timers.set(() => this.sweep(), Math.min(Math.max(0, next - this.deps.clock()), 86_400_000));
  }
}
