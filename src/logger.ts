import pino, { type Logger, type LevelWithSilent } from 'pino';

/**
 * Structured logs. Anything that could carry a secret is redacted by key wherever it sits, as a
 * second line of defence: code logs masked card numbers (maskCardNumber) in the first place.
 */
export const REDACTED_KEYS = ['card', 'pin', 'password', 'passwordHash', 'token', 'secret', 'authorization', 'osdpKey'] as const;

export function createLogger(level: LevelWithSilent = 'info', destination?: pino.DestinationStream): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  return pino({ level, base: { app: 'guardpost' }, redact: { paths, censor: '[redacted]' } }, destination);
}

export type { Logger } from 'pino';
