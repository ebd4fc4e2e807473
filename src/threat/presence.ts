import { v7 as uuidv7 } from 'uuid';
import { maskCardNumber } from '../access/credentials.js';
import { GuardpostError } from '../errors.js';
import { addSafe, markSafe, replayEvacuations, summary, type Evacuation, type MusterEntry, type MusterSummary } from '../journal/evacuations.js';
import type { Clock, Journal, JournalEvent } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { DeviceCommand } from '../drivers/types.js';
import type { Store } from '../store/index.js';
import { musterList } from './mustering.js';
import { OCCUPANCY_EVENT_TYPES, Occupancy, type AreaOccupancy } from './occupancy.js';
import type { ThreatSiteFacts } from './siteFacts.js';

export interface PresenceDeps {
  readonly store: Store;
  readonly journal: Journal;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  /** The cardholder a card read belongs to (the live access index), for muster-point readers. */
  readonly cardholderOfCard: (card: string) => string | null;
  /** [THR-CAPACITY] tells the access rules which entry doors lead into a full area (decide() stays pure: it reads a set). */
  readonly setFullAreaEntryDoors: (doors: ReadonlySet<string>) => void;
  /** Reader feedback at muster points (LED, buzzer). */
  readonly command: (deviceId: string, command: DeviceCommand) => void;
}

export interface EvacuationView extends Evacuation {
  readonly summary: MusterSummary;
}

const HOUR_MS = 3_600_000;

/**
 * Occupancy per area and evacuations. Occupancy is a view of the journal (granted reads at entry
 * and exit doors), rebuilt by replaying it at start; an evacuation's list is journalled whole in
 * `muster.started`, so it survives a restart and goes out to the incident system as it is.
 */
export class Presence {
  private readonly occupancy: Occupancy;
  private evacuation: Evacuation | null = null;
  private facts: ThreatSiteFacts;
  private musterPoints = new Map<string, string>();
  private fullAreas = '';

  constructor(
    private readonly deps: PresenceDeps,
    facts: ThreatSiteFacts,
  ) {
    this.facts = facts;
    this.occupancy = new Occupancy(facts.areas, facts.rules.maxOccupancy, facts.rules.occupancyStaleHours * HOUR_MS);
    this.musterPoints = new Map(facts.rules.musterPoints.map((point) => [point.reader, point.name]));
    deps.metrics.define('guardpost_evacuations_total', 'Evacuations started, by trigger');
    deps.metrics.define('guardpost_muster_marked_safe_total', 'People marked safe during evacuations, by how (api or reader)');
  }

  /** Replays the journal: occupancy over the stale window, and an evacuation still open. */
  rebuild(): void {
    const nowMs = this.deps.clock();
    const sinceMs = nowMs - this.facts.rules.occupancyStaleHours * HOUR_MS;
    for (const event of this.deps.journal.iterate({ sinceMs })) if (OCCUPANCY_EVENT_TYPES.has(event.type)) this.occupancy.apply(event);
    const [started] = this.deps.journal.query({ type: 'muster.started', limit: 1 });
    if (started !== undefined) {
      const replayed = replayEvacuations(this.deps.journal.iterate({ type: 'muster', sinceMs: Date.parse(started.time) }));
      const open = replayed.find((evacuation) => evacuation.id === started.data.evacuation && evacuation.endedAt === null);
      this.evacuation = open ?? null;
    }
    this.publishFullAreas();
  }

  /** Areas at or above their maximum: the next entry is refused. Published only when the set changes. */
  private publishFullAreas(): void {
    const nowMs = this.deps.clock();
    const full = this.facts.rules.maxOccupancy.filter((limit) => this.occupancy.count(limit.area, nowMs) >= limit.max).map((limit) => limit.area);
    const doors = this.facts.areas.filter((area) => full.includes(area.id)).flatMap((area) => area.entryDoors);
    const key = doors.join('|');
    if (key === this.fullAreas) return;
    this.fullAreas = key;
    this.deps.setFullAreaEntryDoors(new Set(doors));
  }

  configure(facts: ThreatSiteFacts): void {
    this.facts = facts;
    this.occupancy.configure(facts.areas, facts.rules.maxOccupancy, facts.rules.occupancyStaleHours * HOUR_MS);
    this.musterPoints = new Map(facts.rules.musterPoints.map((point) => [point.reader, point.name]));
    this.publishFullAreas();
  }

  /** Muster-point readers: a card there marks its holder safe. */
  musterReaders(): ReadonlyMap<string, (card: string) => void> {
    return new Map([...this.musterPoints.keys()].map((reader) => [reader, (card: string) => this.musterBadge(reader, card)]));
  }

  onEvent(event: JournalEvent): void {
    if (!OCCUPANCY_EVENT_TYPES.has(event.type)) return;
    for (const change of this.occupancy.apply(event)) {
      const max = this.occupancy.max(change.area);
      // [THR-CAPACITY] over the limit: security hears of it at once.
      if (change.kind === 'entered' && max !== null && change.count > max) {
        this.deps.journal.append({ type: 'occupancy.exceeded', door: event.door, cardholder: change.cardholder, reason: 'max_occupancy', data: { area: change.area, count: change.count, max, cause: event.id } });
      }
    }
    this.publishFullAreas();
  }

  snapshot(): AreaOccupancy[] {
    return this.occupancy.snapshot(this.deps.clock());
  }

  areasOf(cardholder: string): string[] {
    return this.occupancy.isInside(cardholder, this.deps.clock());
  }

  current(): EvacuationView | null {
    return this.evacuation === null ? null : { ...this.evacuation, summary: summary(this.evacuation) };
  }

  /** The evacuation with this id, open or closed (closed ones from the journal). */
  find(id: string): EvacuationView | undefined {
    if (this.evacuation?.id === id) return this.current() ?? undefined;
    const events = this.deps.journal.iterate({ type: 'muster' });
    const found = replayEvacuations([...events].filter((event) => event.data.evacuation === id))[0];
    return found === undefined ? undefined : { ...found, summary: summary(found) };
  }

  /** [THR-MUSTER] the list of everyone last seen inside, journalled whole so it survives anything. */
  start(trigger: Evacuation['trigger'], by: string | null, reason: string | null): EvacuationView {
    if (this.evacuation !== null) throw new GuardpostError('GP_ERR_CONFLICT', `evacuation ${this.evacuation.id} is already under way (started ${this.evacuation.startedAt})`);
    const people = musterList(this.snapshot(), (cardholder) => this.deps.store.cardholders.get(cardholder)?.name ?? cardholder);
    const id = uuidv7();
    const event = this.deps.journal.append({ type: 'muster.started', reason: trigger.kind, data: { evacuation: id, trigger, by, reason, people, count: people.length } });
    this.evacuation = { id, startedAt: event.time, startedBy: by, trigger, reason, endedAt: null, endedBy: null, people };
    this.deps.metrics.increment('guardpost_evacuations_total', { trigger: trigger.kind });
    return this.current() as EvacuationView;
  }

  /** A fire-alarm input went into alarm: start mustering unless an evacuation is already running. */
  fireAlarm(deviceId: string): void {
    if (this.evacuation !== null) return;
    this.start({ kind: 'fire-alarm', device: deviceId }, null, 'fire alarm');
  }

  markSafe(evacuationId: string, cardholder: string, by: string | null, via: 'api' | 'reader', point: string | null): MusterEntry {
    const evacuation = this.evacuation;
    if (evacuation === null || evacuation.id !== evacuationId) throw new GuardpostError('GP_ERR_NOT_FOUND', `no evacuation "${evacuationId}" under way`);
    const at = new Date(this.deps.clock()).toISOString();
    const mark = { at, by, via, point } as const;
    const result = markSafe(evacuation, cardholder, mark);
    if (!result.ok && result.code === 'not_on_list') return this.addSafe(evacuation, cardholder, mark);
    if (!result.ok) throw new GuardpostError('GP_ERR_CONFLICT', result.message);
    this.deps.journal.append({ type: 'muster.marked_safe', cardholder, device: via === 'reader' ? point : null, data: { evacuation: evacuation.id, by, via, point, ...summaryCounts(summary(result.evacuation)) } });
    this.evacuation = result.evacuation;
    this.deps.metrics.increment('guardpost_muster_marked_safe_total', { via });
    return result.entry;
  }

  /** A cardholder not seen inside, found at the assembly point: added to the list, safe (never unknown people). */
  private addSafe(evacuation: Evacuation, cardholder: string, mark: NonNullable<MusterEntry['safe']>): MusterEntry {
    const holder = this.deps.store.cardholders.get(cardholder);
    if (holder === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no cardholder "${cardholder}"`);
    const next = addSafe(evacuation, { cardholder, name: holder.name, areas: [], lastSeenAt: mark.at, lastSeenDoor: null }, mark);
    this.deps.journal.append({
      type: 'muster.marked_safe',
      cardholder,
      device: mark.via === 'reader' ? mark.point : null,
      reason: 'not_on_list',
      data: { evacuation: evacuation.id, by: mark.by, via: mark.via, point: mark.point, onList: false, name: holder.name, ...summaryCounts(summary(next)) },
    });
    this.evacuation = next;
    this.deps.metrics.increment('guardpost_muster_marked_safe_total', { via: mark.via });
    return next.people.at(-1) as MusterEntry;
  }

  /** Ends the evacuation; everyone left by the fire exits without badging, so occupancy starts afresh. */
  end(evacuationId: string, by: string | null): EvacuationView {
    const evacuation = this.evacuation;
    if (evacuation === null || evacuation.id !== evacuationId) throw new GuardpostError('GP_ERR_NOT_FOUND', `no evacuation "${evacuationId}" under way`);
    const totals = summary(evacuation);
    const event = this.deps.journal.append({
      type: 'muster.ended',
      data: { evacuation: evacuation.id, by, resetOccupancy: true, ...summaryCounts(totals), missingPeople: evacuation.people.filter((entry) => entry.safe === null).map((entry) => entry.cardholder) },
    });
    this.evacuation = null;
    this.occupancy.apply(event);
    this.publishFullAreas();
    const ended = { ...evacuation, endedAt: event.time, endedBy: by };
    return { ...ended, summary: totals };
  }

  /** A badge at a muster point: green once marked safe, amber if there was nothing to mark, red for an unknown card. */
  private musterBadge(reader: string, card: string): void {
    const feedback = (color: 'green' | 'amber' | 'red'): void => {
      try {
        this.deps.command(reader, { type: 'led', color, durationMs: 2000 });
        this.deps.command(reader, { type: 'buzzer', pattern: color === 'green' ? 'grant' : 'deny' });
      } catch (error) {
        this.deps.logger.warn({ err: error, reader }, 'muster reader feedback failed');
      }
    };
    const cardholder = this.deps.cardholderOfCard(card);
    if (cardholder === null) {
      this.deps.metrics.increment('guardpost_bad_input_total', { device: reader, code: 'unknown_credential' });
      this.deps.journal.append({ type: 'device.bad_input', device: reader, reason: 'unknown_credential', data: { message: 'a card this site does not know was read at a muster point', card: maskCardNumber(card) } });
      return feedback('red');
    }
    if (this.evacuation === null) return feedback('amber');
    try {
      this.markSafe(this.evacuation.id, cardholder, cardholder, 'reader', reader);
      return feedback('green');
    } catch (error) {
      if (!(error instanceof GuardpostError)) throw error;
      // Already marked safe (someone not on the list is added, safe): the reader says there was nothing to do.
      return feedback('amber');
    }
  }
}

const summaryCounts = (totals: MusterSummary): { total: number; safe: number; missing: number } => ({ total: totals.total, safe: totals.safe, missing: totals.missing });
