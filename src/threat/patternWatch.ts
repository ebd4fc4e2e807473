import type { AlarmService } from '../alarms/service.js';
import type { Timers } from '../doors/timers.js';
import type { Clock, Journal, JournalEvent } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { PatternEngine, observationOf, type Finding, type Observation } from './patterns.js';
import type { ThreatSiteFacts } from './siteFacts.js';

export interface PatternWatchDeps {
  readonly journal: Journal;
  readonly alarms: AlarmService;
  readonly logger: Logger;
  readonly metrics: Metrics;
  readonly clock: Clock;
  readonly timers: Timers;
}

/**
 * Runs the pattern rules over the live journal, after the fact: an event is looked at a turn
 * later (the causing transaction has committed, the strike has long left), never on the badge path.
 */
export class PatternWatch {
  private engine: PatternEngine | undefined;
  private timer: unknown;
  private timerDueMs: number | null = null;
  private loadedKey = '';

  constructor(private readonly deps: PatternWatchDeps) {
    deps.metrics.define('guardpost_threat_patterns_total', 'Suspicious patterns found, by pattern');
  }

  /** New rules or doors: counts so far start over. Other changes (a cardholder, a visitor) keep them. */
  load(facts: ThreatSiteFacts): void {
    const key = JSON.stringify([facts.rules, [...facts.doors.values()].map((door) => [door.id, door.unlockMs, door.contact ?? null])]);
    if (this.engine !== undefined && key === this.loadedKey) return;
    this.loadedKey = key;
    this.engine = new PatternEngine(facts.rules, (doorId) => {
      const door = facts.doors.get(doorId);
      return door === undefined ? undefined : { unlockMs: door.unlockMs ?? 5000, hasContact: door.contact !== undefined };
    });
    this.reschedule();
  }

  /** After a start: the journal of the rules' memory replayed, findings already journalled then. */
  replay(events: Iterable<JournalEvent>): number {
    if (this.engine === undefined) return 0;
    let replayed = 0;
    for (const event of events) {
      const observation = observationOf(event);
      if (observation === undefined) continue;
      this.engine.observe(observation, true);
      replayed += 1;
    }
    return replayed;
  }

  /** How far back replay() needs the journal. */
  memoryMs(): number {
    return this.engine?.memoryMs() ?? 0;
  }

  stop(): void {
    if (this.timer !== undefined) this.deps.timers.clear(this.timer);
    this.timer = undefined;
  }

  onEvent(event: JournalEvent): void {
    const observation = observationOf(event);
    if (observation !== undefined) this.observe(observation);
  }

  /** The door's contact reported it open (door.opened is not journalled: a busy door opens all day). */
  doorOpened(doorId: string): void {
    this.observe({ kind: 'opened', atMs: this.deps.clock(), door: doorId });
  }

  private observe(observation: Observation): void {
    if (this.engine === undefined) return;
    this.report(this.engine.observe(observation));
    this.reschedule();
  }

  private reschedule(): void {
    const dueMs = this.engine?.nextDueMs() ?? null;
    if (dueMs === this.timerDueMs) return;
    if (this.timer !== undefined) this.deps.timers.clear(this.timer);
    this.timer = undefined;
    this.timerDueMs = dueMs;
    if (dueMs === null) return;
    this.timer = this.deps.timers.set(() => {
      this.timer = undefined;
      this.timerDueMs = null;
      if (this.engine === undefined) return;
      this.report(this.engine.due(this.deps.clock()));
      this.reschedule();
    }, Math.max(0, dueMs - this.deps.clock()));
  }

  private report(findings: readonly Finding[]): void {
    for (const finding of findings) {
      try {
        this.deps.metrics.increment('guardpost_threat_patterns_total', { pattern: finding.pattern });
        const alarm = finding.alarm ? this.raise(finding) : null;
        this.deps.journal.append({
          type: finding.type,
          severity: finding.severity,
          door: finding.door,
          device: finding.device,
          cardholder: finding.cardholder,
          reason: finding.pattern,
          data: alarm === null ? finding.data : { ...finding.data, alarm },
        });
      } catch (error) {
        this.deps.logger.error({ err: error, pattern: finding.pattern }, 'recording a suspicious pattern failed');
      }
    }
  }

  /** [THR-DENIED-READS] [THR-WRONG-PINS] an alarm security must acknowledge; silent, so nobody at the door is warned. */
  private raise(finding: Finding): string {
    const key = finding.pattern === 'wrong_pins' ? `credential:${String(finding.data.credential ?? finding.cardholder)}` : `door:${finding.door ?? 'unknown'}`;
    const { alarm } = this.deps.alarms.raise({
      kind: 'suspicious',
      source: { device: finding.device, door: finding.door, zone: null, location: null },
      sourceKey: `suspicious:${finding.pattern}:${key}`,
      silent: true,
      actor: { via: 'system', by: 'guardpost' },
    });
    return alarm.id;
  }
}
