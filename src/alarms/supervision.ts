import type { Timers } from '../doors/timers.js';
import type { Clock, Journal } from '../journal/index.js';

export interface SupervisionDeps {
  readonly journal: Journal;
  readonly clock: Clock;
  readonly timers: Timers;
}

interface Watched {
  readonly supervisionMs: number;
  lastSeenMs: number;
  trouble: boolean;
  timer: unknown;
}

/**
 * A supervised device (panic button, reader) that sends nothing — no heartbeat, no input, no
 * "online" — for supervisionMs is in trouble (an "offline" does not count as hearing from it): a panic button that cannot be heard is a fault
 * security must see [SAFE-SUPERVISION]. Its return clears the trouble.
 */
export class Supervision {
  private readonly watched = new Map<string, Watched>();

  constructor(private readonly deps: SupervisionDeps) {}

  load(periods: ReadonlyMap<string, number>): void {
    const nowMs = this.deps.clock();
    for (const [deviceId, entry] of this.watched) {
      if (periods.get(deviceId) === entry.supervisionMs) continue;
      this.deps.timers.clear(entry.timer);
      this.watched.delete(deviceId);
    }
    for (const [deviceId, supervisionMs] of periods) {
      if (this.watched.has(deviceId)) continue;
      const entry: Watched = { supervisionMs, lastSeenMs: nowMs, trouble: false, timer: undefined };
      this.watched.set(deviceId, entry);
      this.arm(deviceId, entry);
    }
  }

  stop(): void {
    for (const entry of this.watched.values()) this.deps.timers.clear(entry.timer);
  }

  inTrouble(deviceId: string): boolean {
    return this.watched.get(deviceId)?.trouble ?? false;
  }

  /** Anything heard from the device. */
  seen(deviceId: string): void {
    const entry = this.watched.get(deviceId);
    if (entry === undefined) return;
    entry.lastSeenMs = this.deps.clock();
    if (entry.trouble) {
      entry.trouble = false;
      this.deps.journal.append({ type: 'device.trouble_cleared', device: deviceId, reason: 'supervision', data: { device: deviceId } });
    }
    this.arm(deviceId, entry);
  }

  private arm(deviceId: string, entry: Watched): void {
    this.deps.timers.clear(entry.timer);
    const delayMs = Math.max(0, entry.lastSeenMs + entry.supervisionMs - this.deps.clock());
    entry.timer = this.deps.timers.set(() => {
      if (!entry.trouble) this.trouble(deviceId, entry, 'silent');
    }, delayMs);
  }

  private trouble(deviceId: string, entry: Watched, cause: 'silent'): void {
    entry.trouble = true;
    this.deps.timers.clear(entry.timer);
    this.deps.journal.append({
      type: 'device.trouble',
      device: deviceId,
      reason: 'supervision',
      data: { device: deviceId, cause, supervisionMs: entry.supervisionMs, lastSeen: new Date(entry.lastSeenMs).toISOString() },
    });
  }
}
