/**
 * Graceful shutdown [OPS-SHUTDOWN]: on SIGTERM (systemd stop) or SIGINT (Ctrl-C) the gateway
 * stops taking new reads, lets decisions in flight finish, journals `system.stopped`, publishes
 * `offline` and closes the store (which folds the WAL back into the database) — all within
 * SHUTDOWN_LIMIT_MS, after which systemd would kill it anyway.
 */

/** What the issue and the unit file promise: the process is gone this long after SIGTERM. */
export const SHUTDOWN_LIMIT_MS = 5_000;

/** The gateway's own stop gets this much; the rest is for the process to exit. */
export const STOP_BUDGET_MS = 4_000;

/**
 * How long a stop waits for the broker to confirm the retained `offline` (dashboards and the
 * incident system read it): under a burst of reads the embedded broker's queue can hold it past
 * a second, and a broker closed before then drops it. Within STOP_BUDGET_MS with the 1 s drain.
 */
export const OFFLINE_WAIT_MS = 1_500;

export type StopSignal = 'SIGTERM' | 'SIGINT';
export const STOP_SIGNALS: readonly StopSignal[] = ['SIGTERM', 'SIGINT'];

export type StopOutcome =
  | { readonly kind: 'stopped'; readonly elapsedMs: number }
  | { readonly kind: 'timed_out'; readonly elapsedMs: number }
  | { readonly kind: 'forced'; readonly elapsedMs: number; readonly signal: StopSignal }
  | { readonly kind: 'failed'; readonly elapsedMs: number; readonly error: Error };

/** The part of `process` shutdown listens on: lets tests raise signals without killing vitest. */
export interface SignalSource {
  once(signal: StopSignal, listener: (signal: StopSignal) => void): unknown;
  removeListener(signal: StopSignal, listener: (signal: StopSignal) => void): unknown;
}

/** Resolves with the first stop signal; the listeners are removed again once one came. */
export function nextStopSignal(source: SignalSource = process): Promise<StopSignal> {
  return new Promise((resolve) => {
    const listener = (signal: StopSignal): void => {
      for (const name of STOP_SIGNALS) source.removeListener(name, listener);
      resolve(signal);
    };
    for (const name of STOP_SIGNALS) source.once(name, listener);
  });
}

/**
 * Runs `stop` with a budget. A second signal while stopping (an impatient Ctrl-C) forces the
 * exit at once; a stop that overruns is abandoned so the process still exits in time.
 */
export async function stopWithin(stop: () => Promise<void>, budgetMs: number, options: { readonly signals?: SignalSource; readonly clock?: () => number } = {}): Promise<StopOutcome> {
  const clock = options.clock ?? Date.now;
  const startedMs = clock();
  const elapsed = (): number => clock() - startedMs;
  let timer: NodeJS.Timeout | undefined;
  const source = options.signals ?? process;
  let forcedListener: ((signal: StopSignal) => void) | undefined;
  const forced = new Promise<StopOutcome>((resolve) => {
    forcedListener = (signal) => resolve({ kind: 'forced', signal, elapsedMs: elapsed() });
    for (const name of STOP_SIGNALS) source.once(name, forcedListener);
  });
  const timedOut = new Promise<StopOutcome>((resolve) => {
    timer = setTimeout(() => resolve({ kind: 'timed_out', elapsedMs: elapsed() }), budgetMs);
  });
  const stopped = stop().then(
    (): StopOutcome => ({ kind: 'stopped', elapsedMs: elapsed() }),
    (error: unknown): StopOutcome => ({ kind: 'failed', elapsedMs: elapsed(), error: error instanceof Error ? error : new Error(String(error)) }),
  );
  try {
    return await Promise.race([stopped, forced, timedOut]);
  } finally {
    clearTimeout(timer);
    if (forcedListener !== undefined) for (const name of STOP_SIGNALS) source.removeListener(name, forcedListener);
  }
}

/** The exit code for an outcome: only a clean stop is 0, so systemd records anything else. */
export function exitCodeOf(outcome: StopOutcome): number {
  switch (outcome.kind) {
    case 'stopped':
      return 0;
    case 'timed_out':
    case 'forced':
    case 'failed':
      return 1;
    default: {
      const unreachable: never = outcome;
      return unreachable;
    }
  }
}

/** What the first step of a stop needs from the gateway's parts. */
export interface DrainDeps {
  /** The embedded broker, when there is one: it stops taking connections and publishes. */
  readonly broker?: { stopAccepting(): void; drained(timeoutMs: number): Promise<void> } | undefined;
  /** Serial ports and GPIO inputs: closed, so no read comes in from the wire. */
  readonly bindings: { stop(): Promise<void> };
  /** The HTTP API: closed, after the requests in flight (a door command) have answered. */
  readonly closeApi: () => Promise<void>;
  /** Journals `system.stopped`: the last event of this run. */
  readonly journalStopped: () => void;
  /** Publishes the retained `offline` bridge state; the callback runs once it left. */
  readonly publishOffline: (onSent: (error?: Error) => void) => void;
  /** How long to wait for `offline` to leave (an external broker may be unreachable). */
  readonly offlineWaitMs?: number;
  /** Told when `offline` was not confirmed in time (it may not reach subscribers). */
  readonly onOfflineUnconfirmed?: (waitedMs: number) => void;
  /** How long to wait for publishes the broker already accepted to be decided. */
  readonly inFlightWaitMs?: number;
}

/**
 * Stops taking new reads and commands, lets the reads already accepted be decided, then
 * journals the stop and announces `offline`. A decision itself is synchronous (decide → strike →
 * journal), so "in flight" means a publish the broker authorised that is still on its way to
 * the site runtime, and an HTTP request still being answered.
 */
export async function drainForStop(deps: DrainDeps): Promise<void> {
  deps.broker?.stopAccepting();
  await deps.bindings.stop();
  await deps.closeApi();
  await deps.broker?.drained(deps.inFlightWaitMs ?? 1_000);
  deps.journalStopped();
  const offlineWaitMs = deps.offlineWaitMs ?? OFFLINE_WAIT_MS;
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      deps.onOfflineUnconfirmed?.(offlineWaitMs);
      resolve();
    }, offlineWaitMs);
    deps.publishOffline(() => {
      clearTimeout(timer);
      resolve();
    });
  });
}
