import { spawn } from 'node:child_process';
import type { Logger } from '../logger.js';

/**
 * systemd readiness and watchdog (`Type=notify`, `WatchdogSec=`) without compiling against
 * libsystemd: NOTIFY_SOCKET is an AF_UNIX datagram socket, which Node cannot open, so each
 * message is sent by the `systemd-notify` tool. Since systemd 246 it waits on a notification
 * barrier (sd_notify_barrier) until the manager has read the message, so the manager can still
 * attribute it to our unit although the sender is a short-lived child: that needs
 * `NotifyAccess=all` in the unit. The watchdog is fed from a timer on the event loop, so a
 * wedged loop stops the pings and systemd restarts the service.
 */
export interface ServiceNotifier {
  /** READY=1 with a status line: only once the broker, store and device transports are up. */
  ready(status: string): void;
  /** STOPPING=1: systemd then waits for the exit instead of counting it a crash. */
  stopping(status: string): void;
  /** The watchdog interval in use (half of WATCHDOG_USEC), or null when there is no watchdog. */
  readonly watchdogIntervalMs: number | null;
  close(): void;
}

export const SYSTEMD_NOTIFY = '/usr/bin/systemd-notify';

/** At most this many `systemd-notify` children at once: a slow manager must not pile them up. */
const MAX_IN_FLIGHT = 2;

export interface NotifierOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly logger: Logger;
  /** The systemd-notify binary (tests may point at another path to see a missing one reported). */
  readonly command?: string;
  readonly pid?: number;
}

/** null when not started by systemd with Type=notify (no NOTIFY_SOCKET): nothing to tell. */
export function systemdNotifier(options: NotifierOptions): ServiceNotifier | null {
  const env = options.env ?? process.env;
  const socket = env.NOTIFY_SOCKET;
  if (socket === undefined || socket === '') return null;
  const { logger } = options;
  const command = options.command ?? SYSTEMD_NOTIFY;
  const pid = options.pid ?? process.pid;
  let inFlight = 0;
  let failed = false;

  const send = (fields: readonly string[]): void => {
    if (inFlight >= MAX_IN_FLIGHT) {
      logger.warn({ fields }, 'systemd-notify is still busy with earlier messages; skipped one');
      return;
    }
    inFlight++;
    const child = spawn(command, [...fields], { env: { ...process.env, NOTIFY_SOCKET: socket }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const done = (problem: string | null): void => {
      inFlight--;
      if (problem === null) return;
      // Said once: a missing tool would otherwise log on every watchdog ping.
      if (!failed) logger.error({ command, fields: fields.map((field) => field.split('=')[0]) }, `cannot notify systemd: ${problem}; install systemd (systemd-notify) or use Type=simple`);
      failed = true;
    };
    child.once('error', (error) => done(error.message));
    child.once('exit', (code) => {
      if (code === null) return; // 'error' reported it
      done(code === 0 ? null : `${command} exited with ${code}${stderr === '' ? '' : `: ${stderr.trim().slice(0, 200)}`}`);
    });
  };

  // WATCHDOG_PID, when set, names the process the watchdog is meant for.
  const watchdogPid = env.WATCHDOG_PID === undefined || env.WATCHDOG_PID === '' ? pid : Number(env.WATCHDOG_PID);
  const watchdogUsec = Number(env.WATCHDOG_USEC ?? '');
  const watchdogIntervalMs = watchdogPid === pid && Number.isFinite(watchdogUsec) && watchdogUsec > 0 ? Math.max(1, Math.floor(watchdogUsec / 2_000)) : null;
  let timer: NodeJS.Timeout | undefined;

  return {
    watchdogIntervalMs,
    ready: (status) => {
      send(['READY=1', `STATUS=${status}`]);
      if (watchdogIntervalMs !== null && timer === undefined) {
        timer = setInterval(() => send(['WATCHDOG=1']), watchdogIntervalMs);
        timer.unref();
      }
    },
    stopping: (status) => {
      clearInterval(timer);
      send(['STOPPING=1', `STATUS=${status}`]);
    },
    close: () => clearInterval(timer),
  };
}
