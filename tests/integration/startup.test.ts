import net from 'node:net';
import { describe, expect, it } from 'vitest';
import { loadConfigFile } from '../../src/config/load.js';
import { startGateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import { demoConfigFile, tempDir } from '../support/gateway.js';

async function occupiedPort(): Promise<{ port: number; close: () => Promise<void> }> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address() as net.AddressInfo;
  return { port: address.port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

describe('starting on a port that is taken', () => {
  it('fails with a clear error naming the MQTT address, and the state directory can be reused at once', async () => {
    const taken = await occupiedPort();
    const stateDir = tempDir();
    try {
      const loaded = loadConfigFile(demoConfigFile, { stateDir, httpPort: 0, mqttPort: taken.port });
      const config = { ...loaded.config, mqtt: { ...loaded.config.mqtt, host: '127.0.0.1' } };
      await expect(startGateway({ loaded: { ...loaded, config }, logger: createLogger('silent') })).rejects.toMatchObject({
        code: 'GP_ERR_TRANSPORT',
        message: expect.stringMatching(new RegExp(`^cannot listen for MQTT on 127\\.0\\.0\\.1:${taken.port}: .*EADDRINUSE`)),
      });
      // Nothing was left open: the same state directory starts cleanly on free ports.
      const gateway = await startGateway({ loaded: { ...loaded, config: { ...config, mqtt: { ...config.mqtt, port: 0 } } }, logger: createLogger('silent') });
      await gateway.stop();
    } finally {
      await taken.close();
    }
  });

  it('fails with a clear error naming the HTTP address', async () => {
    const taken = await occupiedPort();
    try {
      const loaded = loadConfigFile(demoConfigFile, { stateDir: tempDir(), httpPort: taken.port, mqttPort: 0 });
      await expect(startGateway({ loaded, logger: createLogger('silent') })).rejects.toMatchObject({
        code: 'GP_ERR_TRANSPORT',
        message: expect.stringContaining(`cannot listen for HTTP on 127.0.0.1:${taken.port}`),
      });
    } finally {
      await taken.close();
    }
  });
});
