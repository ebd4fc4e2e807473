import fs from 'node:fs';
import path from 'node:path';
import type { GatewayConfig } from '../config/schema.js';
import { GuardpostError } from '../errors.js';
import type { BrokerTlsOptions, EmbeddedBrokerOptions } from '../transports/embeddedBroker.js';

type Listeners = Pick<EmbeddedBrokerOptions<unknown>, 'plain' | 'tls' | 'websocket'>;

/** The embedded broker's TLS and WebSocket listeners from the config, certificate files read (relative to the config file). */
export function brokerListeners(mqtt: GatewayConfig['mqtt'], configDir: string): Listeners {
  const read = (key: string, file: string): Buffer => {
    const resolved = path.resolve(configDir, file);
    try {
      return fs.readFileSync(resolved);
    } catch (error) {
      throw new GuardpostError('GP_ERR_CONFIG_INVALID', `mqtt.${key}: cannot read ${resolved}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  let tlsFiles: BrokerTlsOptions | undefined;
  if (mqtt.tls !== undefined) {
    const { certFile, keyFile, caFile, clientCertificates } = mqtt.tls;
    tlsFiles = {
      cert: read('tls.certFile', certFile),
      key: read('tls.keyFile', keyFile),
      ...(caFile === undefined ? {} : { ca: read('tls.caFile', caFile) }),
      clientCertificates,
    };
  }
  return {
    plain: mqtt.plain,
    ...(mqtt.tls === undefined || tlsFiles === undefined ? {} : { tls: { ...tlsFiles, host: mqtt.tls.host ?? mqtt.host, port: mqtt.tls.port } }),
    ...(mqtt.websocket === undefined
      ? {}
      : { websocket: { host: mqtt.websocket.host ?? mqtt.host, port: mqtt.websocket.port, path: mqtt.websocket.path, ...(mqtt.websocket.tls && tlsFiles !== undefined ? { tls: tlsFiles } : {}) } }),
  };
}
