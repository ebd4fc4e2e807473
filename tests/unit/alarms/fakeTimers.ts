import type { Timers } from '../../../src/doors/timers.js';

/**
 * A fake clock and timers: `advance(ms)` runs what falls due, in order. Timers count monotonic
 * time, as real ones do: `stepWallClock(ms)` moves only the wall clock (an NTP step).
 */
export class FakeTime implements Timers {
  nowMs = 0;
  /** Monotonic time (performance.now): only `advance` moves it. */
  monotonic = 0;
  private nextId = 1;
  private readonly pending = new Map<number, { atMonotonic: number; callback: () => void }>();

  readonly clock = (): number => this.nowMs;
  readonly monotonicMs = (): number => this.monotonic;

  set(callback: () => void, delayMs: number): unknown {
    const id = this.nextId++;
    this.pending.set(id, { atMonotonic: this.monotonic + delayMs, callback });
    return id;
  }

  clear(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  advance(ms: number): void {
    const until = this.monotonic + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, timer]) => timer.atMonotonic <= until).sort((a, b) => a[1].atMonotonic - b[1].atMonotonic)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.moveTo(due[1].atMonotonic);
      due[1].callback();
    }
    this.moveTo(until);
  }

  /** The wall clock is set (NTP): timers already armed still fire after their monotonic delay. */
  stepWallClock(ms: number): void {
    this.nowMs += ms;
  }

  private moveTo(monotonic: number): void {
    this.nowMs += monotonic - this.monotonic;
    this.monotonic = monotonic;
  }
}
