import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import mqtt from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connect, connectRefused, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';

const OPENSSL = '/usr/bin/openssl';
const DEVICE = 'main-entrance-reader';

interface Pem {
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** Certificates made with the real openssl for this run: two CAs, a server, and devices. */
class Pki {
  constructor(readonly dir: string) {
    if (!fs.existsSync(OPENSSL)) throw new Error(`the TLS tests need ${OPENSSL} to make certificates: install it (apt-get install openssl, as .ci/run does)`);
  }

  private run(...args: string[]): void {
    execFileSync(OPENSSL, args, { cwd: this.dir, stdio: ['ignore', 'ignore', 'pipe'] });
  }

  ca(name: string): Pem {
    this.run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '30', '-subj', `/CN=${name}`);
    return this.read(name);
  }

  /** A certificate for `cn` signed by `ca`; `days` -1 makes one that has already expired. */
  issue(name: string, cn: string, ca: string, days: number, server = false): Pem {
    this.run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`);
    const extensions = path.join(this.dir, `${name}.ext`);
    fs.writeFileSync(extensions, server ? 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n' : 'extendedKeyUsage=clientAuth\n');
    this.run('x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.crt`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', `${name}.crt`, '-days', String(days), '-extfile', extensions);
    return this.read(name);
  }

  file(name: string, ext: 'crt' | 'key'): string {
    return path.join(this.dir, `${name}.${ext}`);
  }

  private read(name: string): Pem {
    return { cert: fs.readFileSync(this.file(name, 'crt')), key: fs.readFileSync(this.file(name, 'key')) };
  }
}

let pki: Pki;
let ca: Pem;
let otherCa: Pem;
let good: Pem;
let expired: Pem;
let foreign: Pem;
let gw: TestGateway;

function tlsUrl(kind: 'mqtts' | 'wss'): string {
  const port = gw.gateway.mqttPorts[kind];
  if (port === undefined) throw new Error(`no ${kind} listener`);
  return kind === 'mqtts' ? `mqtts://127.0.0.1:${port}` : `wss://127.0.0.1:${port}/mqtt`;
}

beforeAll(async () => {
  pki = new Pki(tempDir('gp-pki-'));
  ca = pki.ca('site-ca');
  otherCa = pki.ca('other-ca');
  pki.issue('server', 'guardpost.local', 'site-ca', 30, true);
  good = pki.issue('good', DEVICE, 'site-ca', 30);
  expired = pki.issue('expired', DEVICE, 'site-ca', -1);
  foreign = pki.issue('foreign', DEVICE, 'other-ca', 30);
  const files = `certFile: ${JSON.stringify(pki.file('server', 'crt'))}, keyFile: ${JSON.stringify(pki.file('server', 'key'))}, caFile: ${JSON.stringify(pki.file('site-ca', 'crt'))}`;
  gw = await startTestGateway({ configYaml: `demo: true\nmqtt:\n  plain: false\n  tls: { port: 0, ${files}, clientCertificates: required }\n  websocket: { port: 0, tls: true }\n` });
});

afterAll(async () => {
  await gw?.stop();
});

describe('MQTT over TLS with client certificates', () => {
  it('listens on TLS and secure WebSocket only when the plain port is switched off', () => {
    expect(Object.keys(gw.gateway.mqttPorts).sort()).toEqual(['mqtts', 'wss']);
  });

  it('accepts a device with a good certificate, whose card read opens the door', async () => {
    const device = await connect(tlsUrl('mqtts'), { ca: ca.cert, cert: good.cert, key: good.key, username: DEVICE, password: 'demo', clientId: 'tls-good' });
    try {
      await device.subscribe(`guardpost/devices/${DEVICE}/output`);
      await device.publish(`guardpost/devices/${DEVICE}/input`, JSON.stringify({ type: 'card', card: '1001' }));
      const led = await device.next((message) => message.json.type === 'led');
      expect(led.json).toMatchObject({ color: 'green' });
    } finally {
      await device.end();
    }
  });

  it('refuses an expired certificate and says why in the log', async () => {
    const error = await connectRefused(tlsUrl('mqtts'), { ca: ca.cert, cert: expired.cert, key: expired.key, username: DEVICE, password: 'demo', clientId: 'tls-expired' });
    expect(error.message).toMatch(/not authorized/i);
    expect(gw.logs.some((line) => line.includes('MQTT TLS client certificate refused') && line.includes('CERT_HAS_EXPIRED'))).toBe(true);
  });

  it('refuses a certificate signed by another CA', async () => {
    const error = await connectRefused(tlsUrl('mqtts'), { ca: ca.cert, cert: foreign.cert, key: foreign.key, username: DEVICE, password: 'demo', clientId: 'tls-foreign' });
    expect(error.message).toMatch(/not authorized/i);
    expect(gw.logs.some((line) => line.includes('MQTT TLS client certificate refused') && line.includes('UNABLE_TO_VERIFY_LEAF_SIGNATURE'))).toBe(true);
  });

  it('refuses a device without a certificate when certificates are required', async () => {
    const error = await connectRefused(tlsUrl('mqtts'), { ca: ca.cert, username: DEVICE, password: 'demo', clientId: 'tls-none' });
    expect(error.message).toMatch(/not authorized/i);
  });

  it('is refused by a device that trusts another CA than the one that signed the gateway', async () => {
    const error = await connectRefused(tlsUrl('mqtts'), { ca: otherCa.cert, cert: good.cert, key: good.key, username: DEVICE, password: 'demo', clientId: 'tls-distrust' });
    expect(error.message).toMatch(/self.signed|unable to (verify|get)/i);
  });

  it('refuses a good certificate used to log in as another device', async () => {
    const error = await connectRefused(tlsUrl('mqtts'), { ca: ca.cert, cert: good.cert, key: good.key, username: 'server-room-reader', password: 'demo', clientId: 'tls-impostor' });
    expect(error.message).toMatch(/not authorized/i);
  });

  it('accepts the same device over secure WebSocket', async () => {
    const client = await mqtt.connectAsync(tlsUrl('wss'), { ca: ca.cert, cert: good.cert, key: good.key, username: DEVICE, password: 'demo', clientId: 'wss-good', reconnectPeriod: 0 });
    try {
      const [grant] = await client.subscribeAsync(`guardpost/devices/${DEVICE}/output`, { qos: 1 });
      expect(grant?.qos).toBe(1);
    } finally {
      await client.endAsync(true);
    }
  });
});

describe('MQTT over WebSocket and optional client certificates', () => {
  let plain: TestGateway;
  beforeAll(async () => {
    const files = `certFile: ${JSON.stringify(pki.file('server', 'crt'))}, keyFile: ${JSON.stringify(pki.file('server', 'key'))}, caFile: ${JSON.stringify(pki.file('site-ca', 'crt'))}`;
    plain = await startTestGateway({ configYaml: `demo: true\nmqtt:\n  tls: { port: 0, ${files}, clientCertificates: optional }\n  websocket: { port: 0 }\n` });
  });
  afterAll(async () => {
    await plain?.stop();
  });

  it('serves MQTT on ws:// at /mqtt and answers plain HTTP with 426', async () => {
    const port = plain.gateway.mqttPorts.ws!;
    const client = await mqtt.connectAsync(`ws://127.0.0.1:${port}/mqtt`, { username: DEVICE, password: 'demo', clientId: 'ws-plain', reconnectPeriod: 0 });
    await client.endAsync(true);
    const response = await fetch(`http://127.0.0.1:${port}/`);
    expect(response.status).toBe(426);
    expect(Object.keys(plain.gateway.mqttPorts).sort()).toEqual(['mqtt', 'mqtts', 'ws']);
  });

  it('lets a device without a certificate log in with its password, but refuses one with a bad certificate', async () => {
    const url = `mqtts://127.0.0.1:${plain.gateway.mqttPorts.mqtts}`;
    const device = await connect(url, { ca: ca.cert, username: DEVICE, password: 'demo', clientId: 'optional-none' });
    await device.end();
    await connectRefused(url, { ca: ca.cert, cert: foreign.cert, key: foreign.key, username: DEVICE, password: 'demo', clientId: 'optional-foreign' });
    expect(plain.logs.some((line) => line.includes('MQTT TLS client certificate refused'))).toBe(true);
  });
});
