import { describe, expect, it } from 'vitest';
import { backoffDelayMs, MAX_RETRY_AFTER_MS, parseRetryAfterMs, retryDelayMs } from '../../../src/forwarders/backoff.js';

describe('retry backoff', () => {
  it('doubles each attempt from the initial delay up to the cap, half fixed and half jitter', () => {
    const low = () => 0;
    const high = () => 0.999999;
    expect([0, 1, 2, 3, 10].map((attempt) => backoffDelayMs(attempt, 1_000, 8_000, low))).toEqual([500, 1_000, 2_000, 4_000, 4_000]);
    expect([0, 1, 2, 3, 10].map((attempt) => backoffDelayMs(attempt, 1_000, 8_000, high))).toEqual([1_000, 2_000, 4_000, 8_000, 8_000]);
  });

  it('spreads retries of many gateways over the second half of the step', () => {
    const delays = Array.from({ length: 1_000 }, () => backoffDelayMs(3, 1_000, 60_000));
    expect(Math.min(...delays)).toBeGreaterThanOrEqual(4_000);
    expect(Math.max(...delays)).toBeLessThanOrEqual(8_000);
    expect(new Set(delays).size).toBeGreaterThan(100);
  });

  it('never overflows however long the outage lasts', () => {
    expect(backoffDelayMs(10_000, 1_000, 300_000, () => 1)).toBe(300_000);
  });

  it('reads Retry-After as seconds or as an HTTP date, and ignores what it cannot read', () => {
    const nowMs = Date.parse('2026-01-01T00:00:00Z');
    expect(parseRetryAfterMs('120', nowMs)).toBe(120_000);
    expect(parseRetryAfterMs('Thu, 01 Jan 2026 00:00:30 GMT', nowMs)).toBe(30_000);
    expect(parseRetryAfterMs('Wed, 31 Dec 2025 23:00:00 GMT', nowMs)).toBe(0);
    expect(parseRetryAfterMs('soon', nowMs)).toBeUndefined();
    expect(parseRetryAfterMs(null, nowMs)).toBeUndefined();
    expect(parseRetryAfterMs('99999999', nowMs)).toBe(MAX_RETRY_AFTER_MS);
  });

  it('waits for the longer of the backoff step and what the server asked', () => {
    expect(retryDelayMs(0, 100, 1_000, 5_000, () => 0)).toBe(5_000);
    expect(retryDelayMs(5, 100, 1_000, 10, () => 0)).toBe(500);
    expect(retryDelayMs(0, 100, 1_000, undefined, () => 0)).toBe(50);
  });
});
