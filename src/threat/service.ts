import type { AlarmService } from '../alarms/service.js';
import type { Timers } from '../doors/timers.js';
import type { Clock, Journal, JournalEvent } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/index.js';
import { PatternWatch } from './patternWatch.js';
import { loadThreatSiteFacts, type ThreatSiteFacts } from './siteFacts.js';

export interface ThreatManagementDeps {
  readonly store: Store;
  readonly journal: Journal;
  readonly alarms: AlarmService;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly timers: Timers;
}

/**
 * Threat management (issue 12): suspicious patterns, visitors, occupancy and mustering, response
 * times. Everything here listens to the journal after the fact; nothing sits on the badge path.
 */
export class ThreatManagement {
  readonly patterns: PatternWatch;
  private facts: ThreatSiteFacts;
  private readonly queue: JournalEvent[] = [];
  private draining = false;
  private unsubscribe: (() => void) | undefined;

  constructor(private readonly deps: ThreatManagementDeps) {
    this.facts = loadThreatSiteFacts(deps.store);
    this.patterns = new PatternWatch(deps);
  }

  start(): void {
    this.patterns.load(this.facts);
    this.unsubscribe = this.deps.journal.onAppend((event) => this.enqueue(event));
  }

  stop(): void {
    this.unsubscribe?.();
    this.patterns.stop();
  }

  get site(): ThreatSiteFacts {
    return this.facts;
  }

  /** A door contact reported (from the site runtime). */
  doorContact(contactDeviceId: string, state: 'open' | 'closed'): void {
    const door = this.facts.doorOfContact.get(contactDeviceId);
    if (door !== undefined && state === 'open') this.patterns.doorOpened(door);
  }

  private reload(): void {
    this.facts = loadThreatSiteFacts(this.deps.store);
    this.patterns.load(this.facts);
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
    for (let event = this.queue.shift(); event !== undefined; event = this.queue.shift()) {
      try {
        if (event.type === 'config.changed') this.reload();
        this.patterns.onEvent(event);
      } catch (error) {
        this.deps.logger.error({ err: error, event: event.id }, 'threat management could not process an event');
      }
    }
  }
}
