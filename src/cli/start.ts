import { loadConfigFile } from '../config/load.js';
import { startGateway } from '../gateway.js';
import { createLogger } from '../logger.js';
import { systemdNotifier } from '../ops/notify.js';
import { exitCodeOf, nextStopSignal, SHUTDOWN_LIMIT_MS, stopWithin, STOP_BUDGET_MS } from '../ops/shutdown.js';
import { portOption, stringOption, type CliIo, type ParsedArgs } from './run.js';

export const DEFAULT_CONFIG = 'config/demo.yaml';

/** Runs until SIGINT/SIGTERM, then stops gracefully within the limit [OPS-SHUTDOWN]. */
export async function startCommand(args: ParsedArgs, _io: CliIo): Promise<number> {
  const loaded = loadConfigFile(stringOption(args, 'config') ?? DEFAULT_CONFIG, {
    stateDir: stringOption(args, 'state-dir'),
    httpPort: portOption(args, 'http-port'),
    mqttPort: portOption(args, 'mqtt-port'),
  });
  const logger = createLogger(loaded.config.log.level);
  for (const notice of loaded.notices) logger.warn(`config: ${notice}`);
  const notifier = systemdNotifier({ logger: logger.child({ module: 'systemd' }) });
  const gateway = await startGateway({ loaded, logger });
  // startGateway resolves once the store, the broker (or the external link's first try), the
  // device transports and the API are up: only then is the service ready.
  notifier?.ready(`running: ${gateway.mqttPort === null ? 'MQTT client' : `MQTT broker on port ${gateway.mqttPort}`}, HTTP on port ${gateway.httpPort}`);
  if (notifier?.watchdogIntervalMs != null) logger.info({ intervalMs: notifier.watchdogIntervalMs }, 'feeding the systemd watchdog');
  const signal = await nextStopSignal();
  notifier?.stopping(`stopping on ${signal}`);
  logger.info({ signal, limitMs: SHUTDOWN_LIMIT_MS }, `${signal}: stopping (reads refused, decisions in flight finished, journal flushed)`);
  const outcome = await stopWithin(() => gateway.stop(), STOP_BUDGET_MS);
  switch (outcome.kind) {
    case 'stopped':
      logger.info({ elapsedMs: outcome.elapsedMs }, 'stopped');
      break;
    case 'timed_out':
      logger.error({ elapsedMs: outcome.elapsedMs }, `did not stop within ${STOP_BUDGET_MS} ms; exiting anyway (the journal is in the WAL and survives)`);
      break;
    case 'forced':
      logger.warn({ elapsedMs: outcome.elapsedMs, signal: outcome.signal }, `second ${outcome.signal} while stopping: exiting at once`);
      break;
    case 'failed':
      logger.error({ elapsedMs: outcome.elapsedMs, err: outcome.error }, 'stopping failed; exiting');
      break;
    default: {
      const unreachable: never = outcome;
      return unreachable;
    }
  }
  notifier?.close();
  const code = exitCodeOf(outcome);
  // Nothing left open (a client's socket, a stuck stop) may keep the process past the limit.
  const graceMs = outcome.kind === 'stopped' ? Math.max(0, SHUTDOWN_LIMIT_MS - 250 - outcome.elapsedMs) : 0;
  setTimeout(() => process.exit(code), graceMs).unref();
  return code;
}
