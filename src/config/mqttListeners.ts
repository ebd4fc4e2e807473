import { Type } from '@sinclair/typebox';
import { Port, Strict, Text } from './common.js';
import { isPlainObject, type Problem } from './validate.js';

/**
 * The embedded broker's listeners besides plain MQTT (issue 10): MQTT over TLS (8883) and MQTT
 * over WebSocket (browser and cloud clients), from certificate files; the plain listener can be
 * switched off. Paths are relative to the config file's directory.
 */
export const MqttTlsSchema = Strict({
  host: Type.Optional(Text()),
  port: Port({ default: 8883 }),
  /** PEM: the server certificate (with its chain) and its private key. */
  certFile: Text(),
  keyFile: Text(),
  /** PEM: the CA that signs device (client) certificates. */
  caFile: Type.Optional(Text()),
  /**
   * `required`: a device must present a certificate signed by caFile; `optional`: checked when
   * presented. A verified certificate's common name must equal the MQTT user name it logs in with.
   */
  clientCertificates: Type.Union([Type.Literal('off'), Type.Literal('optional'), Type.Literal('required')], { default: 'off' }),
});

export const MqttWebSocketSchema = Strict({
  host: Type.Optional(Text()),
  port: Port({ default: 8083 }),
  path: Type.String({ pattern: '^/', expected: 'a path starting with /', default: '/mqtt' }),
  /** wss:// with mqtt.tls's certificate and key. */
  tls: Type.Boolean({ default: false }),
});

/** Cross-key checks of the listeners; run even when other keys are bad. */
export function mqttListenerProblems(config: unknown): Problem[] {
  const mqtt = isPlainObject(config) ? config.mqtt : undefined;
  if (!isPlainObject(mqtt)) return [];
  const problems: Problem[] = [];
  const external = mqtt.mode === 'external';
  for (const key of ['tls', 'websocket', 'plain'] as const) {
    // plain is defaulted to true before this runs: only an explicit false is out of place.
    if (external && mqtt[key] !== undefined && !(key === 'plain' && mqtt.plain === true)) problems.push({ path: `mqtt.${key}`, message: 'only used when mqtt.mode is embedded (an external broker has its own listeners)' });
  }
  if (external) return problems;
  const tls = isPlainObject(mqtt.tls) ? mqtt.tls : undefined;
  const ws = isPlainObject(mqtt.websocket) ? mqtt.websocket : undefined;
  if (tls !== undefined && tls.clientCertificates !== undefined && tls.clientCertificates !== 'off' && tls.caFile === undefined) {
    problems.push({ path: 'mqtt.tls.caFile', message: `required when mqtt.tls.clientCertificates is ${String(tls.clientCertificates)}: the CA that signs device certificates` });
  }
  if (ws?.tls === true && tls === undefined) problems.push({ path: 'mqtt.websocket.tls', message: 'needs mqtt.tls (its certificate and key serve wss:// too)' });
  if (mqtt.plain === false && tls === undefined && ws === undefined) problems.push({ path: 'mqtt.plain', message: 'false leaves no listener: configure mqtt.tls or mqtt.websocket first' });
  return problems;
}
