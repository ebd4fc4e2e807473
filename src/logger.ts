import pino, { type Logger, type LevelWithSilent } from 'pino';

/**
 * Structured logs. Anything that could carry a secret is redacted by key wherever it sits, as a
 * second line of defence: code logs masked card numbers (maskCardNumber) in the first place.
 */
export const REDACTED_KEYS = ['card', 'pin', 'password', 'passwordHash', 'token', 'secret', 'authorization', 'osdpKey'] as const;

export type LogLine = Record<string, unknown> & { readonly level: number; readonly msg?: string; readonly time?: number };

/**
 * Warnings and errors, already redacted, for whoever listens (the MQTT bridge's
 * `guardpost/bridge/logging`, in zigbee2mqtt's manner). Lines go to stdout whether or not anyone does.
 */
class LogTap {
  private readonly listeners = new Set<(line: LogLine) => void>();

  listen(listener: (line: LogLine) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  write(chunk: string): void {
    if (this.listeners.size === 0) return;
    let line: LogLine;
    try {
      line = JSON.parse(chunk) as LogLine;
    } catch {
      return;
    }
    for (const listener of this.listeners) listener(line);
  }
}

export const logTap = new LogTap();

export function createLogger(level: LevelWithSilent = 'info', destination?: pino.DestinationStream): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  const streams = pino.multistream([
    { level: 'trace', stream: destination ?? pino.destination({ dest: 1, sync: true }) },
    { level: 'warn', stream: logTap },
  ]);
  return pino({ level, base: { app: 'guardpost' }, redact: { paths, censor: '[redacted]' } }, streams);
}

export type { Logger } from 'pino';
