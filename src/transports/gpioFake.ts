import type { GpioBackend, GpioInputPin, GpioOutputPin, Level } from './gpio.js';

/**
 * A GPIO header in memory for tests: the test drives input levels as wiring would, and reads
 * (or awaits) what the gateway wrote to outputs. Same interface as the real backend.
 */
export class FakeGpio implements GpioBackend {
  private readonly levels = new Map<number, Level>();
  private readonly listeners = new Map<number, ((level: Level) => void)[]>();
  private readonly outputs = new Map<number, Level[]>();
  private waiters: { bcm: number; level: Level; after: number; resolve: () => void }[] = [];
  readonly claimed = new Set<number>();

  /** Sets an input line's physical level (as a button or contact would), firing watchers on a change. */
  drive(bcm: number, level: Level): void {
    if (this.levels.get(bcm) === level) return;
    this.levels.set(bcm, level);
    for (const listener of this.listeners.get(bcm) ?? []) listener(level);
  }

  /** Every level written to an output, in order (the initial level first). */
  written(bcm: number): readonly Level[] {
    return this.outputs.get(bcm) ?? [];
  }

  /** Resolves when output `bcm` has been written `level` at a write index ≥ `after`. */
  nextWrite(bcm: number, level: Level, after = 0): Promise<void> {
    if (this.written(bcm).slice(after).includes(level)) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ bcm, level, after, resolve }));
  }

  input(bcm: number): GpioInputPin {
    this.claim(bcm);
    if (!this.levels.has(bcm)) this.levels.set(bcm, 1); // pull-up idle
    return {
      read: () => this.levels.get(bcm) ?? 1,
      watch: (listener) => this.listeners.set(bcm, [...(this.listeners.get(bcm) ?? []), listener]),
      close: () => {
        this.listeners.delete(bcm);
        this.claimed.delete(bcm);
      },
    };
  }

  output(bcm: number, initial: Level): GpioOutputPin {
    this.claim(bcm);
    this.outputs.set(bcm, []);
    this.record(bcm, initial);
    return {
      write: async (level) => this.record(bcm, level),
      close: () => this.claimed.delete(bcm),
    };
  }

  private claim(bcm: number): void {
    if (this.claimed.has(bcm)) throw new Error(`GPIO ${bcm} is already in use`);
    this.claimed.add(bcm);
  }

  private record(bcm: number, level: Level): void {
    const list = this.outputs.get(bcm) ?? [];
    list.push(level);
    this.outputs.set(bcm, list);
    this.waiters = this.waiters.filter((waiter) => {
      if (waiter.bcm !== bcm || !list.slice(waiter.after).includes(waiter.level)) return true;
      waiter.resolve();
      return false;
    });
  }
}
