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

export interface LoggerOptions {
  /** Levels for single modules (the `module` of a child logger: broker, api, access, …). */
  readonly modules?: Readonly<Partial<Record<string, LevelWithSilent>>>;
  /** `pretty` lines for a person at a terminal, `json` for journald; `auto` picks by stdout. */
  readonly format?: 'json' | 'pretty' | 'auto';
}

const LEVEL_NAMES: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' };

/** One JSON log line as a person reads it: time, level, module, message, then the fields. */
export function prettyLine(json: string): string {
  let line: LogLine;
  try {
    line = JSON.parse(json) as LogLine;
  } catch {
    return json;
  }
  const { level, time, msg, module, app: _app, pid: _pid, hostname: _hostname, ...fields } = line;
  const clock = typeof time === 'number' ? new Date(time).toISOString().slice(11, 23) : '';
  const rest = Object.entries(fields)
    .map(([key, value]) => `${key}=${typeof value === 'string' ? value : JSON.stringify(value)}`)
    .join(' ');
  return `${clock} ${(LEVEL_NAMES[level] ?? String(level)).padEnd(5)} ${typeof module === 'string' ? `[${module}] ` : ''}${msg ?? ''}${rest === '' ? '' : `  ${rest}`}\n`;
}

/** stdout, one pretty line per JSON line. */
class PrettyStream {
  write(chunk: string): void {
    process.stdout.write(prettyLine(chunk));
  }
}

export function createLogger(level: LevelWithSilent = 'info', destination?: pino.DestinationStream, options: LoggerOptions = {}): Logger {
  const paths = REDACTED_KEYS.flatMap((key) => [key, `*.${key}`, `*.*.${key}`]);
  const pretty = destination === undefined && (options.format === 'pretty' || (options.format !== 'json' && process.stdout.isTTY === true));
  const streams = pino.multistream([
    { level: 'trace', stream: destination ?? (pretty ? new PrettyStream() : pino.destination({ dest: 1, sync: true })) },
    { level: 'warn', stream: logTap },
  ]);
  const modules = options.modules ?? {};
  return pino(
    {
      level,
      base: { app: 'guardpost' },
      redact: { paths, censor: '[redacted]' },
      // Per-module levels: every module logs through `logger.child({ module })`.
      onChild: (child) => {
        const module = (child.bindings() as { module?: unknown }).module;
        const wanted = typeof module === 'string' ? modules[module] : undefined;
        if (wanted !== undefined) child.level = wanted;
      },
    },
    streams,
  );
}

export type { Logger } from 'pino';
