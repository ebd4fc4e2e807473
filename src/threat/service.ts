import type { AlarmService } from '../alarms/service.js';
import type { Timers } from '../doors/timers.js';
import type { Clock, Journal, JournalEvent } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/index.js';
import type { DeviceRecord } from '../store/index.js';
import type { DeviceCommand } from '../drivers/types.js';
import { PatternWatch } from './patternWatch.js';
import { Presence } from './presence.js';
import { ResponseMetrics } from './responseMetrics.js';
import { Visitors } from './visitors.js';
import type { SiteService } from '../site/siteService.js';
import { loadThreatSiteFacts, type ThreatSiteFacts } from './siteFacts.js';

export interface ThreatManagementDeps {
  readonly store: Store;
  readonly journal: Journal;
  readonly alarms: AlarmService;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly timers: Timers;
  /** The cardholder a card read belongs to (the live access index). */
  readonly cardholderOfCard: (card: string) => string | null;
  /** Hands muster-point readers' cards to us instead of the access path. */
  readonly claimReaders: (claims: ReadonlyMap<string, (card: string) => void>) => void;
  /** [THR-CAPACITY] entry doors of areas at their maximum occupancy, for the access rules. */
  readonly setFullAreaEntryDoors: (doors: ReadonlySet<string>) => void;
  readonly command: (deviceId: string, command: DeviceCommand) => void;
}

/**
 * Threat management (issue 12): suspicious patterns, visitors, occupancy and mustering, response
 * times. Everything here listens to the journal after the fact; nothing sits on the badge path.
 */
export class ThreatManagement {
  readonly patterns: PatternWatch;
  readonly presence: Presence;
  readonly visitors: Visitors;
  private readonly responseMetrics: ResponseMetrics;
  private facts: ThreatSiteFacts;
  private readonly queue: JournalEvent[] = [];
  private draining = false;
  private stopped = false;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: ThreatManagementDeps) {
    this.facts = loadThreatSiteFacts(deps.store);
    this.patterns = new PatternWatch(deps);
    this.presence = new Presence(deps, this.facts);
    this.visitors = new Visitors(deps, this.facts, (cardholder) => {
      this.flush();
      return this.presence.areasOf(cardholder);
    });
    this.responseMetrics = new ResponseMetrics(deps.metrics, (alarmId) => deps.alarms.get(alarmId)?.raisedAtMs);
  }

  start(): void {
    this.patterns.load(this.facts);
    // Counts survive a restart: three refusals before it and two after are five.
    const memoryMs = this.patterns.memoryMs();
    if (memoryMs > 0) this.patterns.replay(this.deps.journal.iterate({ sinceMs: this.deps.clock() - memoryMs }));
    this.presence.rebuild();
    this.deps.claimReaders(this.presence.musterReaders());
    this.unsubscribe = this.deps.journal.onAppend((event) => this.enqueue(event));
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    this.unsubscribe?.();
    this.patterns.stop();
    this.visitors.stop();
  }

  /** Visitor credentials are cardholders, changed the one way site data changes (audited, validated). */
  attachSiteService(site: SiteService): void {
    this.visitors.attachSiteService(site);
  }

  /** The gateway's clock (reports default to "until now"). */
  get clock(): Clock {
    return this.deps.clock;
  }

  get site(): ThreatSiteFacts {
    return this.facts;
  }

  /** A contact reported (from the site runtime): a door opened, or a fire alarm [THR-MUSTER]. */
  contact(device: DeviceRecord, state: 'open' | 'closed'): void {
    if (state !== 'open') return;
    if (device.kind === 'fire-alarm') {
      // [SAFE-FIRE] the doors are released first; the mustering list follows a turn later.
      setImmediate(() => {
        if (this.stopped) return;
        try {
          this.flush();
          this.presence.fireAlarm(device.id);
        } catch (error) {
          this.deps.logger.error({ err: error, device: device.id }, 'starting the evacuation for a fire alarm failed');
        }
      });
      return;
    }
    const door = this.facts.doorOfContact.get(device.id);
    if (door !== undefined) this.patterns.doorOpened(door);
  }

  /** Applies what the journal has told us so far: before a read of occupancy or a mustering list. */
  flush(): void {
    this.drain();
  }

  private reload(): void {
    this.facts = loadThreatSiteFacts(this.deps.store);
    this.patterns.load(this.facts);
    this.presence.configure(this.facts);
    this.visitors.configure(this.facts);
    this.deps.claimReaders(this.presence.musterReaders());
  }

  /** Looked at on a later turn: the causing transaction has committed and the badge path is done. */
  private enqueue(event: JournalEvent): void {
    this.queue.push(event);
    if (this.draining) return;
    this.draining = true;
    setImmediate(() => this.drain());
  }

  private drain(): void {
    this.draining = false;
    if (this.stopped) return;
    for (let event = this.queue.shift(); event !== undefined; event = this.queue.shift()) {
      try {
        if (event.type === 'config.changed') this.reload();
        this.patterns.onEvent(event);
        this.presence.onEvent(event);
        this.responseMetrics.onEvent(event);
      } catch (error) {
        this.deps.logger.error({ err: error, event: event.id }, 'threat management could not process an event');
      }
    }
  }
}
