/**
 * Login throttling per user and per address: after `maxFailures` failures inside `windowMs`,
 * that key is locked for `lockoutMs`. Pure bookkeeping with an injected clock; it holds only
 * small counters in memory (a restart forgives, the journal keeps the record).
 */
export interface ThrottleOptions {
  readonly maxFailures: number;
  readonly windowMs: number;
  readonly lockoutMs: number;
}

export const DEFAULT_THROTTLE: ThrottleOptions = { maxFailures: 5, windowMs: 15 * 60_000, lockoutMs: 5 * 60_000 };

interface Entry {
  failures: number[];
  lockedUntilMs: number;
}

export class LoginThrottle {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: () => number,
    private readonly options: ThrottleOptions = DEFAULT_THROTTLE,
  ) {}

  /** Milliseconds until any of these keys may try again; 0 when none is locked. */
  retryAfterMs(keys: readonly string[]): number {
    const now = this.clock();
    let wait = 0;
    for (const key of keys) {
      const entry = this.entries.get(key);
      if (entry !== undefined && entry.lockedUntilMs > now) wait = Math.max(wait, entry.lockedUntilMs - now);
    }
    return wait;
  }

  /** Records a failure for each key; returns the keys that this failure locked. */
  fail(keys: readonly string[]): string[] {
    const now = this.clock();
    const locked: string[] = [];
    for (const key of keys) {
      const entry = this.entries.get(key) ?? { failures: [], lockedUntilMs: 0 };
      entry.failures = entry.failures.filter((at) => now - at < this.options.windowMs);
      entry.failures.push(now);
      if (entry.failures.length >= this.options.maxFailures) {
        entry.lockedUntilMs = now + this.options.lockoutMs;
        entry.failures = [];
        locked.push(key);
      }
      this.entries.set(key, entry);
    }
    return locked;
  }

  succeed(keys: readonly string[]): void {
    for (const key of keys) this.entries.delete(key);
  }
}
