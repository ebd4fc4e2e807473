import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { drainForStop, exitCodeOf, nextStopSignal, stopWithin, type SignalSource, type StopSignal } from '../../../src/ops/shutdown.js';

function signals(): SignalSource & { raise(signal: StopSignal): void; listening(): number } {
  const emitter = new EventEmitter();
  return {
    once: (signal, listener) => emitter.once(signal, listener),
    removeListener: (signal, listener) => emitter.removeListener(signal, listener),
    raise: (signal) => emitter.emit(signal, signal),
    listening: () => emitter.listenerCount('SIGTERM') + emitter.listenerCount('SIGINT'),
  };
}

describe('stopping on a signal [OPS-SHUTDOWN]', () => {
  it('resolves with the first of SIGTERM or SIGINT and stops listening for either', async () => {
    const source = signals();
    const next = nextStopSignal(source);
    source.raise('SIGINT');
    expect(await next).toBe('SIGINT');
    expect(source.listening()).toBe(0);
  });

  it('reports a clean stop as exit code 0', async () => {
    const outcome = await stopWithin(() => Promise.resolve(), 1_000, { signals: signals() });
    expect(outcome.kind).toBe('stopped');
    expect(exitCodeOf(outcome)).toBe(0);
  });

  it('gives up on a stop that overruns its budget and exits with 1', async () => {
    const outcome = await stopWithin(() => new Promise<void>(() => undefined), 20, { signals: signals() });
    expect(outcome.kind).toBe('timed_out');
    expect(exitCodeOf(outcome)).toBe(1);
  });

  it('exits at once with 1 on a second signal while stopping', async () => {
    const source = signals();
    const outcome = stopWithin(() => new Promise<void>(() => undefined), 60_000, { signals: source });
    source.raise('SIGTERM');
    expect(await outcome).toMatchObject({ kind: 'forced', signal: 'SIGTERM' });
    expect(source.listening()).toBe(0);
  });

  it('reports a stop that throws as a failure with its message', async () => {
    const outcome = await stopWithin(() => Promise.reject(new Error('disk gone')), 1_000, { signals: signals() });
    expect(outcome).toMatchObject({ kind: 'failed', error: { message: 'disk gone' } });
    expect(exitCodeOf(outcome)).toBe(1);
  });
});

describe('draining before the stop [OPS-SHUTDOWN]', () => {
  it('refuses new reads first, waits for the accepted ones, then journals the stop and announces offline, in that order', async () => {
    const steps: string[] = [];
    await drainForStop({
      broker: {
        stopAccepting: () => steps.push('broker refuses'),
        drained: async () => {
          steps.push('broker drained');
        },
      },
      bindings: { stop: async () => void steps.push('serial and gpio closed') },
      closeApi: async () => void steps.push('api closed'),
      journalStopped: () => steps.push('system.stopped'),
      publishOffline: (onSent) => {
        steps.push('offline');
        onSent();
      },
    });
    expect(steps).toEqual(['broker refuses', 'serial and gpio closed', 'api closed', 'broker drained', 'system.stopped', 'offline']);
  });

  it('does not wait for ever for offline to leave when the broker is unreachable', async () => {
    await drainForStop({ bindings: { stop: async () => undefined }, closeApi: async () => undefined, journalStopped: () => undefined, publishOffline: () => undefined, offlineWaitMs: 10 });
  });
});
