import type { AccessState, SiteConditions } from '../access/types.js';
import type { Clock } from '../journal/index.js';
import type { Logger } from '../logger.js';
import type { Timers } from './timers.js';
import { hasUnlockSchedule, needsFirstPerson, nextScheduleChangeMs, scheduledUnlockAt, SCHEDULE_HORIZON_MS, type ScheduledUnlock } from './unlockSchedule.js';

export interface ScheduledUnlocksDeps {
  readonly clock: Clock;
  readonly timers: Timers;
  readonly logger: Logger;
  /** The site as decisions see it (doors, schedules, zone, threat levels). */
  readonly access: () => AccessState;
  readonly conditions: () => SiteConditions;
  /** [ACC-FIRST-IN] door → local date its first person in released it (the access rules' state). */
  readonly released: () => ReadonlyMap<string, string>;
  /** Holds the door unlocked or ends that (DoorService.setScheduledUnlock). */
  readonly apply: (doorId: string, unlock: ScheduledUnlock) => void;
}

/**
 * Holds doors unlocked during their unlock schedules [SAFE-SCHEDULE]: evaluated at start (a
 * gateway started inside the interval unlocks at once), on every site or condition change and on
 * a first-person-in grant, and otherwise only when the one timer fires at the next boundary of
 * any door's schedule. No polling: between boundaries nothing runs.
 */
export class ScheduledUnlocks {
  private timer: unknown;
  private stopped = true;

  constructor(private readonly deps: ScheduledUnlocksDeps) {}

  start(): void {
    this.stopped = false;
    this.evaluate();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
  }

  /** Re-evaluates every door now and re-arms the timer (site data, lockdown or threat level changed). */
  evaluate(): void {
    if (this.stopped) return;
    const { deps } = this;
    const nowMs = deps.clock();
    const access = deps.access();
    const conditions = deps.conditions();
    const released = deps.released();
    let nextMs: number | null = null;
    // The next change depends on the schedule only (~1 ms to find across a weekend): once per schedule, not per door.
    const changes = new Map<string, number | null>();
    for (const door of access.doors.values()) {
      if (!hasUnlockSchedule(door)) {
        deps.apply(door.id, { unlocked: false, schedule: null, why: 'no-schedule' });
        continue;
      }
      try {
        deps.apply(door.id, scheduledUnlockAt(access, conditions, door, released, nowMs));
        const schedule = access.schedules?.get(door.unlockScheduleId as string);
        const key = `${door.unlockScheduleId}|${needsFirstPerson(door)}`;
        let changeMs = changes.get(key);
        if (changeMs === undefined) {
          changeMs = schedule === undefined ? null : nextScheduleChangeMs(schedule, access.timezone ?? 'UTC', nowMs, { dateChanges: needsFirstPerson(door) });
          changes.set(key, changeMs);
        }
        if (changeMs !== null && (nextMs === null || changeMs < nextMs)) nextMs = changeMs;
      } catch (error) {
        deps.logger.error({ err: error, door: door.id }, 'evaluating an unlock schedule failed; the door stays as it was');
      }
    }
    this.arm(nextMs ?? nowMs + SCHEDULE_HORIZON_MS, nowMs);
  }

  private arm(atMs: number, nowMs: number): void {
    this.clearTimer();
    // setTimeout holds at most ~24.8 days; the horizon is well inside that.
    this.timer = this.deps.timers.set(() => {
      this.timer = undefined;
      this.evaluate();
    }, Math.max(0, atMs - nowMs));
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.deps.timers.clear(this.timer);
    this.timer = undefined;
  }
}
