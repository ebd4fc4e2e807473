import { loadConfigFile } from '../config/load.js';
import { startGateway } from '../gateway.js';
import { createLogger } from '../logger.js';
import { portOption, stringOption, type CliIo, type ParsedArgs } from './run.js';

export const DEFAULT_CONFIG = 'config/demo.yaml';

/** Runs until SIGINT/SIGTERM, then stops cleanly so the journal records the stop. */
export async function startCommand(args: ParsedArgs, _io: CliIo): Promise<number> {
  const loaded = loadConfigFile(stringOption(args, 'config') ?? DEFAULT_CONFIG, {
    stateDir: stringOption(args, 'state-dir'),
    httpPort: portOption(args, 'http-port'),
    mqttPort: portOption(args, 'mqtt-port'),
  });
  const logger = createLogger(loaded.config.log.level);
  const gateway = await startGateway({ loaded, logger });
  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      logger.info({ signal }, 'stopping');
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await gateway.stop();
  return 0;
}
