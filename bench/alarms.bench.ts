/**
 * Panic press → alarm, against a bare MQTT round trip over the same broker, while 200 badge
 * reads a second run at another door (issue 5). Run with `npm run bench` or
 * `npm run bench -- alarms --presses 300`.
 *
 * - panic → alarm.raised: the panic button's real mqtt.js client publishes a press on its own
 *   input topic; the clock stops when an observer subscribed to `guardpost/events` receives the
 *   `alarm.raised` event (the alarm row and its event committed in one SQLite transaction).
 * - panic → camera request: the same press; the clock stops when a local HTTP server standing in
 *   for a Frigate NVR receives `POST /api/events/reception/panic/create`.
 * - bare pub → sub (the floor): the panic button publishes `online` on its availability topic and
 *   the observer receives it.
 *
 * Each alarm is acknowledged and cleared through the HTTP API by a security user between presses (untimed), since
 * a press while its alarm is open only adds to it. The gateway runs as its own process.
 * Flags: --presses N (300), --warmup N (30), --blocks N (10), --load N badge reads/s (200).
 * Exits 0 whatever the ratios; 1 only when the run itself failed.
 */
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import YAML from 'yaml';
import { hashSecret } from '../src/auth/passwords.js';
import { Store } from '../src/store/index.js';
import { latencyTable, repoRoot, startGatewayProcess, stopGatewayProcess, summarise } from './support.js';

const PANIC = 'reception-panic';
const LOAD_READER = 'server-room-reader';
const TIMEOUT_MS = 5_000;
const TARGET_P99 = 2;

class UsageError extends Error {}

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) throw new UsageError(`--${name}: expected an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  return value;
}

function readOptions(): { presses: number; warmup: number; blocks: number; load: number } {
  let values: Record<string, string | undefined>;
  try {
    ({ values } = parseArgs({ options: { presses: { type: 'string' }, warmup: { type: 'string' }, blocks: { type: 'string' }, load: { type: 'string' } }, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const presses = positiveInt('presses', values.presses, 300);
  return { presses, warmup: positiveInt('warmup', values.warmup, 30, 0), blocks: Math.min(positiveInt('blocks', values.blocks, 10), presses), load: positiveInt('load', values.load, 200, 0) };
}

/** One pending expectation at a time, resolved by the first matching arrival. */
class Waiter<T> {
  private pending: { resolve: (value: T) => void; timer: NodeJS.Timeout } | undefined;

  constructor(private readonly what: string) {}

  arm(): Promise<T> {
    if (this.pending !== undefined) throw new Error(`${this.what}: already waiting`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new Error(`${this.what}: nothing within ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
      this.pending = { resolve, timer };
    });
  }

  arrive(value: T): void {
    const pending = this.pending;
    if (pending === undefined) return;
    this.pending = undefined;
    clearTimeout(pending.timer);
    pending.resolve(value);
  }
}

async function main(): Promise<number> {
  const options = readOptions();
  const workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-bench-alarms-'));
  const clients: MqttClient[] = [];
  let gateway: ChildProcess | undefined;
  let loadTimer: NodeJS.Timeout | undefined;

  // The NVR: answers at once and tells the bench when its request arrived.
  const cameraArrives = new Waiter<bigint>('camera request');
  const nvr = http.createServer((req, res) => {
    const at = process.hrtime.bigint();
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'application/json' }).end('{"success":true}');
      if (req.url === '/api/events/reception/panic/create') cameraArrives.arrive(at);
    });
  });
  await new Promise<void>((resolve) => nvr.listen(0, '127.0.0.1', resolve));

  try {
    const site = YAML.parse(fs.readFileSync(path.join(repoRoot, 'config/demo-site.yaml'), 'utf8')) as { cameras: unknown[]; panicButtons: Record<string, unknown>[] };
    site.cameras.push({ id: 'bench-frigate', kind: 'frigate', url: `http://127.0.0.1:${(nvr.address() as AddressInfo).port}`, camera: 'reception', label: 'panic', zones: ['ground-floor'], on: ['panic'] });
    // Silent: the zone's reader buzzers are not part of what is measured.
    site.panicButtons = [{ device: PANIC, zone: 'ground-floor', silent: true }];
    const siteFile = path.join(workDir, 'site.yaml');
    fs.writeFileSync(siteFile, YAML.stringify(site));
    const configFile = path.join(workDir, 'config.yaml');
    // Logs at info: the bench waits for the "running" line, then drains the pipe.
    fs.writeFileSync(configFile, `demo: true\nsiteFile: ${JSON.stringify(siteFile)}\nlog:\n  level: info\nmqtt:\n  host: 127.0.0.1\n`);

    // A security user to acknowledge and clear with, created as `guardpost user add` would.
    const stateDir = path.join(workDir, 'state');
    const password = 'bench-security-password';
    const store = Store.open(stateDir);
    try {
      store.users.insert({ id: 'bench-security', role: 'security', passwordHash: await hashSecret(password), disabled: false, createdMs: Date.now() });
    } finally {
      store.close();
    }
    const started = await startGatewayProcess(configFile, stateDir);
    gateway = started.child;
    const url = `mqtt://127.0.0.1:${started.mqttPort}`;
    const api = `http://127.0.0.1:${started.httpPort}`;
    const connect = (options: mqtt.IClientOptions) => mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: TIMEOUT_MS, ...options });

    const panic = await connect({ clientId: 'bench-panic', username: PANIC, password: 'demo' });
    const loadReader = await connect({ clientId: 'bench-load-reader', username: LOAD_READER, password: 'demo' });
    const observer = await connect({ clientId: 'bench-observer' });
    clients.push(panic, loadReader, observer);
    await observer.subscribeAsync(['guardpost/events', `guardpost/devices/${PANIC}/availability`], { qos: 0 });

    const raisedArrives = new Waiter<{ at: bigint; alarm: string }>('alarm.raised');
    const onlineArrives = new Waiter<bigint>('availability');
    observer.on('message', (topic, payload) => {
      const at = process.hrtime.bigint();
      if (topic.endsWith('/availability')) {
        if (payload.toString('utf8') === 'online') onlineArrives.arrive(at);
        return;
      }
      const text = payload.toString('utf8');
      if (!text.includes('"alarm.raised"')) return;
      const event = JSON.parse(text) as { type: string; data: { alarm: string } };
      if (event.type === 'alarm.raised') raisedArrives.arrive({ at, alarm: event.data.alarm });
    });

    // The background: badge reads at another door.
    if (options.load > 0) {
      const card = Buffer.from(JSON.stringify({ type: 'card', card: '1002' }));
      const everyMs = 1_000 / options.load;
      let next = performance.now();
      const tick = (): void => {
        const now = performance.now();
        while (next <= now) {
          loadReader.publish(`guardpost/devices/${LOAD_READER}/input`, card, { qos: 0 });
          next += everyMs;
        }
        loadTimer = setTimeout(tick, Math.max(0, next - performance.now()));
      };
      tick();
    }

    const press = Buffer.from(JSON.stringify({ type: 'button', state: 'pressed' }));
    const raisedSamples: bigint[] = [];
    const cameraSamples: bigint[] = [];
    const bareSamples: bigint[] = [];
    const login = await fetch(`${api}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'bench-security', password }) });
    if (!login.ok) throw new Error(`login failed: ${login.status} ${await login.text()}`);
    const { token } = (await login.json()) as { token: string };
    const post = async (pathname: string, body: unknown): Promise<void> => {
      const response = await fetch(`${api}${pathname}`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` }, body: JSON.stringify(body) });
      if (!response.ok) throw new Error(`${pathname}: ${response.status} ${await response.text()}`);
    };

    const pressOnce = async (record: boolean): Promise<void> => {
      await nextTurn();
      const raised = raisedArrives.arm();
      const camera = cameraArrives.arm();
      const start = process.hrtime.bigint();
      panic.publish(`guardpost/devices/${PANIC}/input`, press, { qos: 0 });
      const [event, cameraAt] = await Promise.all([raised, camera]);
      if (record) {
        raisedSamples.push(event.at - start);
        cameraSamples.push(cameraAt - start);
      }
      await post(`/api/v1/alarms/${event.alarm}/acknowledge`, { note: 'bench' });
      await post(`/api/v1/alarms/${event.alarm}/clear`, { resolution: 'bench' });
    };
    const bareOnce = async (record: boolean): Promise<void> => {
      await nextTurn();
      const arrived = onlineArrives.arm();
      const start = process.hrtime.bigint();
      panic.publish(`guardpost/devices/${PANIC}/availability`, 'online', { qos: 0, retain: false });
      const at = await arrived;
      if (record) bareSamples.push(at - start);
    };

    for (let index = 0; index < options.warmup; index++) {
      await pressOnce(false);
      await bareOnce(false);
    }
    for (let block = 0; block < options.blocks; block++) {
      const size = Math.floor(options.presses / options.blocks) + (block < options.presses % options.blocks ? 1 : 0);
      for (let index = 0; index < size; index++) {
        if (block % 2 === 0) {
          await pressOnce(true);
          await bareOnce(true);
        } else {
          await bareOnce(true);
          await pressOnce(true);
        }
      }
    }

    const raised = summarise(raisedSamples);
    const camera = summarise(cameraSamples);
    const floor = summarise(bareSamples);
    const verdict = (ratio: number): string => `${ratio.toFixed(2)} (target ≤ ${TARGET_P99}: ${ratio <= TARGET_P99 ? 'PASS' : 'MISS'})`;
    console.log(`guardpost alarms bench — Node ${process.version}, ${os.cpus().length} CPU(s), gateway in its own process, ${options.presses} presses in ${options.blocks} interleaved blocks after ${options.warmup} warm-up, ${options.load} badge reads/s at ${LOAD_READER}`);
    console.log('');
    console.log(latencyTable([
      ['panic → alarm.raised event', raised],
      ['panic → camera HTTP request', camera],
      ['bare pub → sub', floor],
    ]));
    console.log('');
    console.log(`ratio p99 alarm.raised ${verdict(raised.p99 / floor.p99)}   camera ${verdict(camera.p99 / floor.p99)}`);
    return 0;
  } finally {
    if (loadTimer !== undefined) clearTimeout(loadTimer);
    await Promise.all(clients.map((client) => client.endAsync(true)));
    if (gateway !== undefined) await stopGatewayProcess(gateway);
    await new Promise<void>((resolve) => nvr.close(() => resolve()));
    fs.rmSync(workDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof UsageError ? `alarms bench: ${error.message}` : error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
