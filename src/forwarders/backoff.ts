/**
 * Retry timing, pure: time and randomness are parameters.
 * Exponential backoff with "equal jitter": half the step is fixed, half random, so a fleet of
 * gateways coming back from the same outage does not retry in lockstep, yet never hammers at 0 ms.
 */
export function backoffDelayMs(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const stepMs = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 40));
  return Math.round(stepMs / 2 + random() * (stepMs / 2));
}

/** A server may ask for more than our cap, but not for longer than this. */
export const MAX_RETRY_AFTER_MS = 3_600_000;

/**
 * `Retry-After` as milliseconds from now: delta-seconds or an HTTP-date (RFC 9110 §10.2.3).
 * Undefined when absent or unreadable (then plain backoff applies).
 */
export function parseRetryAfterMs(header: string | null | undefined, nowMs: number): number | undefined {
  if (header === null || header === undefined) return undefined;
  const text = header.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  const dateMs = Date.parse(text);
  if (Number.isNaN(dateMs)) return undefined;
  return Math.min(Math.max(0, dateMs - nowMs), MAX_RETRY_AFTER_MS);
}

/** The wait before the next attempt: the backoff step, or longer if the destination asked. */
export function retryDelayMs(attempt: number, initialMs: number, maxMs: number, retryAfterMs: number | undefined, random: () => number = Math.random): number {
  const backoffMs = backoffDelayMs(attempt, initialMs, maxMs, random);
  return retryAfterMs === undefined ? backoffMs : Math.max(backoffMs, retryAfterMs);
}
