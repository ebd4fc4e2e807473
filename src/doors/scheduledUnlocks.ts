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
  /**
   * The time of the newest journalled event at start: a clock more than CLOCK_TOLERANCE_MS
   * behind it is not trusted (a board without a real-time clock before NTP has synced).
   */
  readonly notBeforeMs?: number;
  /** A clock that never jumps (performance.now), to notice the wall clock being stepped. */
  readonly monotonicMs?: () => number;
  /** Told when the wall clock stops or starts being trusted for schedules. */
  readonly onClockTrust?: (trusted: boolean, clockMs: number, notBeforeMs: number) => void;
}

/** How far behind the newest journalled event the clock may be and still be trusted. */
export const CLOCK_TOLERANCE_MS = 5 * 60_000;
/** How often the wall clock is compared with the monotonic one. */
export const CLOCK_CHECK_MS = 10_000;
/** A difference between the two clocks larger than this is a step of the wall clock. */
export const CLOCK_JUMP_MS = 2_000;

/**
 * Holds doors unlocked during their unlock schedules [SAFE-SCHEDULE]: evaluated at start (a
 * gateway started inside the interval unlocks at once), on every site or condition change and on
 * a first-person-in grant, and otherwise only when the one timer fires at the next boundary of
 * any door's schedule. No polling of schedules: between boundaries only a cheap clock check runs,
 * since a timer counts monotonic time and a stepped wall clock (NTP) would move every boundary.
 * [SAFE-CLOCK] a clock behind the journal keeps every scheduled door locked until it catches up.
 */
export class ScheduledUnlocks {
  private timer: unknown;
  private watch: unknown;
  private stopped = true;
  private trusted = true;
  private lastWallMs = 0;
  private lastMonotonicMs = 0;

  constructor(private readonly deps: ScheduledUnlocksDeps) {}

  start(): void {
    this.stopped = false;
    this.evaluate();
    this.watchClock();
  }

  stop(): void {
    this.stopped = true;
    this.clearTimer();
    if (this.watch !== undefined) this.deps.timers.clear(this.watch);
    this.watch = undefined;
  }

  /** Whether the wall clock is trusted for schedules (false: every scheduled door stays locked). */
  clockTrusted(): boolean {
    return this.trusted;
  }

  /** Re-evaluates every door now and re-arms the timer (site data, lockdown or threat level changed). */
  evaluate(): void {
    if (this.stopped) return;
    const { deps } = this;
    const nowMs = deps.clock();
    const access = deps.access();
    const conditions = deps.conditions();
    const released = deps.released();
    const notBeforeMs = deps.notBeforeMs ?? Number.NEGATIVE_INFINITY;
    const trusted = nowMs >= notBeforeMs - CLOCK_TOLERANCE_MS;
    if (trusted !== this.trusted) {
      this.trusted = trusted;
      // Worth an event only where a door stands open on a schedule.
      if ([...access.doors.values()].some(hasUnlockSchedule)) deps.onClockTrust?.(trusted, nowMs, notBeforeMs);
    }
    if (!trusted) {
      for (const door of access.doors.values()) deps.apply(door.id, { unlocked: false, schedule: door.unlockScheduleId ?? null, why: hasUnlockSchedule(door) ? 'clock' : 'no-schedule' });
      // Look again when the clock would have caught up; a step (NTP) is noticed sooner by the clock check.
      this.arm(Math.min(notBeforeMs - CLOCK_TOLERANCE_MS, nowMs + SCHEDULE_HORIZON_MS), nowMs);
      return;
    }
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

  /** Re-evaluates when the wall clock was stepped: the boundary timer counted the old time. */
  private watchClock(): void {
    const { monotonicMs } = this.deps;
    if (monotonicMs === undefined || this.stopped) return;
    this.lastWallMs = this.deps.clock();
    this.lastMonotonicMs = monotonicMs();
    this.watch = this.deps.timers.set(() => {
      this.watch = undefined;
      const stepMs = this.deps.clock() - this.lastWallMs - (monotonicMs() - this.lastMonotonicMs);
      if (Math.abs(stepMs) > CLOCK_JUMP_MS) {
        this.deps.logger.warn({ stepMs }, 'the wall clock was stepped; unlock schedules re-evaluated');
        this.evaluate();
      }
      this.watchClock();
    }, CLOCK_CHECK_MS);
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.deps.timers.clear(this.timer);
    this.timer = undefined;
  }
}
