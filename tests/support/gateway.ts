import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Writable } from 'node:stream';
import mqtt, { type MqttClient } from 'mqtt';
import { loadConfigFile } from '../../src/config/load.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import type { JournalEvent } from '../../src/journal/index.js';
import { hashSecret } from '../../src/auth/passwords.js';
import { createLogger } from '../../src/logger.js';
import { Store, type Role } from '../../src/store/index.js';
import type { GpioBackend } from '../../src/transports/gpio.js';

export const repoRoot = path.resolve(import.meta.dirname, '../..');
export const demoConfigFile = path.join(repoRoot, 'config/demo.yaml');
export const demoSiteFile = path.join(repoRoot, 'config/demo-site.yaml');

export function tempDir(prefix = 'gp-test-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

export interface TestGateway {
  readonly gateway: Gateway;
  readonly stateDir: string;
  readonly mqttUrl: string;
  readonly httpUrl: string;
  /** Every log line the gateway wrote, as raw JSON text. */
  readonly logs: string[];
  stop(): Promise<void>;
  /** Logs in over HTTP and returns the bearer token. */
  login(user?: string, password?: string): Promise<string>;
  /** Authorization headers of the seeded admin (logged in once, then cached). */
  adminHeaders(): Promise<Record<string, string>>;
}

export interface TestGatewayOptions {
  readonly stateDir?: string;
  /** Extra YAML appended to a config that reuses the demo site (e.g. "demo: false"). */
  readonly configYaml?: string;
  /** Site data to use instead of the demo site (needs configYaml too). */
  readonly siteYaml?: string;
  readonly clock?: () => number;
  /** A fake GPIO header for devices bound to pins. */
  readonly gpio?: GpioBackend;
  /** Create the admin `TEST_ADMIN` before starting (default true), as `guardpost user add` would. */
  readonly seedAdmin?: boolean;
}

export const TEST_ADMIN = { user: 'admin', password: 'test-admin-password' } as const;

/** Adds a user straight into a state directory's store, as `guardpost user add` does. */
export async function seedUser(stateDir: string, user: string, role: Role, password: string): Promise<void> {
  const store = Store.open(stateDir);
  try {
    if (store.users.get(user) === undefined) store.users.insert({ id: user, role, passwordHash: await hashSecret(password), disabled: false, createdMs: Date.now() });
  } finally {
    store.close();
  }
}

/** Starts a whole gateway in-process on ephemeral ports with its own temp state directory. */
export async function startTestGateway(options: TestGatewayOptions = {}): Promise<TestGateway> {
  const stateDir = options.stateDir ?? tempDir();
  let configFile = demoConfigFile;
  if (options.configYaml !== undefined) {
    configFile = path.join(stateDir, 'test-config.yaml');
    let siteFile = demoSiteFile;
    if (options.siteYaml !== undefined) {
      siteFile = path.join(stateDir, 'test-site.yaml');
      fs.writeFileSync(siteFile, options.siteYaml);
    }
    fs.writeFileSync(configFile, `siteFile: ${JSON.stringify(siteFile)}\n${options.configYaml}\n`);
  }
  const loaded = loadConfigFile(configFile, { stateDir, httpPort: 0, mqttPort: 0 });
  // Tests call the API far faster than people do: the per-caller rate limits stay off unless a
  // test sets them (tests/integration/apiRateLimit.test.ts does).
  if (!(options.configYaml ?? '').includes('rateLimits')) loaded.config.http.rateLimits = { readPerMinute: 0, writePerMinute: 0, exportPerMinute: 0 };
  if (options.seedAdmin !== false) await seedUser(stateDir, TEST_ADMIN.user, 'admin', TEST_ADMIN.password);
  const logs: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      logs.push(chunk.toString('utf8'));
      done();
    },
  });
  const logger = createLogger('debug', sink);
  const gateway = await startGateway({ loaded: { ...loaded, config: { ...loaded.config, mqtt: { ...loaded.config.mqtt, host: '127.0.0.1' } } }, logger, clock: options.clock, gpio: options.gpio });
  let adminToken: Promise<string> | undefined;
  const login = async (user: string = TEST_ADMIN.user, password: string = TEST_ADMIN.password): Promise<string> => {
    const response = await fetch(`http://127.0.0.1:${gateway.httpPort}/api/v1/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ user, password }),
    });
    if (response.status !== 200) throw new Error(`login as ${user} failed with ${response.status}: ${await response.text()}`);
    return ((await response.json()) as { token: string }).token;
  };
  return {
    gateway,
    stateDir,
    mqttUrl: `mqtt://127.0.0.1:${gateway.mqttPort}`,
    httpUrl: `http://127.0.0.1:${gateway.httpPort}`,
    logs,
    stop: () => gateway.stop(),
    login,
    adminHeaders: async () => ({ authorization: `Bearer ${await (adminToken ??= login())}` }),
  };
}

export interface Received {
  readonly topic: string;
  readonly json: Record<string, unknown>;
}

/** A real mqtt.js client that records what it receives and can await a matching message. */
export class TestClient {
  readonly received: Received[] = [];
  private waiters: { match: (message: Received) => boolean; resolve: (message: Received) => void }[] = [];

  constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => {
      let json: Record<string, unknown>;
      try {
        json = JSON.parse(payload.toString('utf8')) as Record<string, unknown>;
      } catch {
        json = { raw: payload.toString('utf8') };
      }
      const message = { topic, json };
      this.received.push(message);
      this.waiters = this.waiters.filter((waiter) => {
        if (!waiter.match(message)) return true;
        waiter.resolve(message);
        return false;
      });
    });
  }

  /** How many messages have arrived so far: pass it to next() to look only at later ones. */
  mark(): number {
    return this.received.length;
  }

  /** Resolves with the first message from index `after` on (received or still to come) that matches. */
  next(match: (message: Received) => boolean, after = 0, timeoutMs = 5_000): Promise<Received> {
    const seen = this.received.slice(after).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    const calledFrom = new Error('no matching MQTT message').stack?.split('\n').find((line) => line.includes('.test.ts')) ?? '';
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching MQTT message within ${timeoutMs} ms (awaited ${calledFrom.trim()})`)), timeoutMs);
      this.waiters.push({
        match,
        resolve: (message) => {
          clearTimeout(timer);
          resolve(message);
        },
      });
    });
  }

  nextEvent(match: (event: JournalEvent) => boolean, after = 0, timeoutMs?: number): Promise<JournalEvent> {
    return this.next((message) => message.topic.endsWith('/events') && match(message.json as unknown as JournalEvent), after, timeoutMs).then(
      (message) => message.json as unknown as JournalEvent,
    );
  }

  /** The granted QoS, or 128 when the broker refused the subscription. */
  async subscribe(topic: string): Promise<number> {
    try {
      const [grant] = await this.client.subscribeAsync(topic, { qos: 1 });
      return grant?.qos ?? 128;
    } catch (error) {
      // mqtt.js rejects a SUBACK failure (0x80) instead of returning it.
      if ((error as { packet?: unknown }).packet !== undefined) return 128;
      throw error;
    }
  }

  publish(topic: string, payload: string | Buffer): Promise<unknown> {
    return this.client.publishAsync(topic, payload, { qos: 1 });
  }

  end(): Promise<void> {
    return this.client.endAsync(true);
  }
}

export async function connect(url: string, options: mqtt.IClientOptions = {}): Promise<TestClient> {
  const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
  return new TestClient(client);
}

/** Logs in as a demo device (username = device id) and subscribes to its own output. */
export async function connectDevice(url: string, deviceId: string, password = 'demo'): Promise<TestClient> {
  const device = await connect(url, { clientId: `test-${deviceId}-${Math.random().toString(16).slice(2)}`, username: deviceId, password });
  await device.subscribe(`guardpost/devices/${deviceId}/output`);
  return device;
}

/** Connecting must fail: resolves with the broker's refusal. */
export async function connectRefused(url: string, options: mqtt.IClientOptions = {}): Promise<Error> {
  try {
    const client = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 5_000, ...options });
    await client.endAsync(true);
  } catch (error) {
    return error as Error;
  }
  throw new Error('the broker accepted a connection it should have refused');
}
