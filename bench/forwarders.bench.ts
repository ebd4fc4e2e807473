/**
 * Forwarder catch-up after an outage, against a floor measured in the same run (issue 6).
 * Run with `npm run bench` or `npm run bench -- forwarders --events 100000`.
 *
 * - webhook catch-up: N events are already in the journal (the receiver was down); the real
 *   gateway (`guardpost start`, its own process) starts with a webhook forwarder in batches and
 *   the clock runs from the first delivery until a local HTTP receiver (this process) has every event.
 *   Floor: a bare read of the same rows from SQLite, plus bare keep-alive POSTs of the same
 *   CloudEvents batch bodies to the same receiver, one after another.
 * - panic press → webhook while the backlog drains: a panic button's real mqtt.js client presses
 *   every --press-gap-ms; the clock stops when the receiver gets that alarm.raised.
 * - MQTT uplink catch-up to a real Mosquitto (when installed): the same N events, QoS 1, --batch
 *   publishes in flight, until a subscriber has them all. Floor: bare QoS 1 publishes of the same payloads, each awaiting
 *   its PUBACK, from one mqtt.js client.
 * - alarm-class append (synchronous=FULL for that commit) beside an ordinary append.
 *
 * Targets: ≥ 5,000 events/s to the webhook with batching, ratio to floor ≤ 1.5; panic press p99 < 50 ms.
 * Flags: --events N (100000), --batch N (100), --presses N (20), --press-gap-ms N (100), --appends N (500).
 * Exits 0 whatever the figures (never a CI gate); 1 only when events went missing or the run failed.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import mqtt from 'mqtt';
import { loadSiteFile } from '../src/config/load.js';
import { toCloudEvent } from '../src/forwarders/cloudEvents.js';
import { sign } from '../src/forwarders/signature.js';
import { Journal, type JournalEvent } from '../src/journal/index.js';
import { Store } from '../src/store/index.js';
import { repoRoot, startGatewayProcess, stopGatewayProcess } from './support.js';

const SECRET = 'whsec_YmVuY2gtc2VjcmV0';
const MOSQUITTO = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((file) => fs.existsSync(file));

const FLAGS = {
  events: { type: 'string', default: '100000' },
  batch: { type: 'string', default: '100' },
  presses: { type: 'string', default: '20' },
  'press-gap-ms': { type: 'string', default: '100' },
  appends: { type: 'string', default: '500' },
} as const;

function positive(name: string, text: string): number {
  const value = Number(text);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`--${name}: expected a positive integer, got ${JSON.stringify(text)}`);
  return value;
}

const percentile = (sorted: readonly number[], p: number): number => sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? NaN;

/** A state dir whose journal already holds `count` badge events, as after an outage. */
function prefilledStateDir(count: number): string {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-bench-fwd-'));
  const store = Store.open(stateDir);
  store.importSiteData(loadSiteFile(path.join(repoRoot, 'config/demo-site.yaml')));
  const journal = new Journal(store.db, 'demo');
  store.db.transaction(() => {
    for (let i = 0; i < count; i++) journal.append({ type: 'access.granted', door: 'main-entrance', device: 'main-entrance-reader', cardholder: 'alice-adams', reason: 'granted', data: { n: i } });
  })();
  store.close();
  return stateDir;
}

async function startGateway(stateDir: string, forwarderYaml: string): Promise<{ child: ChildProcess; mqttPort: number }> {
  const configFile = path.join(stateDir, 'bench.yaml');
  fs.writeFileSync(configFile, `demo: true\nsiteFile: ${JSON.stringify(path.join(repoRoot, 'config/demo-site.yaml'))}\nforwarders:\n${forwarderYaml}\n`);
  const { child, mqttPort } = await startGatewayProcess(configFile, stateDir);
  return { child, mqttPort };
}

/** A local webhook receiver that counts badge events and timestamps alarms. */
class Receiver {
  received = 0;
  /** When the first badge event arrived: catch-up is timed from here, without the gateway's start-up. */
  firstAtMs: number | undefined;
  alarms: { atMs: number; id: string }[] = [];
  private server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const atMs = performance.now();
      const events = JSON.parse(body) as { id: string; type: string }[] | { id: string; type: string };
      const list = Array.isArray(events) ? events : [events];
      for (const event of list) {
        if (event.type === 'guardpost.access.granted') {
          this.firstAtMs ??= atMs;
          this.received++;
        }
        // A press of a button whose alarm is still open is journalled as alarm.repeated.
        else if (event.type === 'guardpost.alarm.raised' || event.type === 'guardpost.alarm.repeated') this.alarms.push({ atMs, id: event.id });
      }
      response.writeHead(204).end();
      this.waiters = this.waiters.filter((waiter) => (waiter.check() ? (waiter.resolve(), false) : true));
    });
  });
  private waiters: { check: () => boolean; resolve: () => void }[] = [];
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as { port: number }).port;
  }

  until(check: () => boolean, what: string, timeoutMs = 600_000): Promise<void> {
    return new Promise((resolve, reject) => {
      if (check()) return resolve();
      const timer = setTimeout(() => reject(new Error(`${what} did not arrive within ${timeoutMs} ms (${this.received} events so far)`)), timeoutMs);
      this.waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** The floor: read the same rows in the same batches and POST the same bodies, nothing else. */
async function webhookFloor(stateDir: string, receiver: Receiver, batch: number): Promise<{ readMs: number; postMs: number }> {
  const db = new Database(path.join(stateDir, 'guardpost.db'), { readonly: true });
  const select = db.prepare<[number, number], Record<string, unknown>>('SELECT * FROM events WHERE seq > ? ORDER BY seq LIMIT ?');
  const bodies: string[] = [];
  let afterSeq = 0;
  const readStart = performance.now();
  for (;;) {
    const rows = select.all(afterSeq, batch);
    if (rows.length === 0) break;
    afterSeq = Number(rows.at(-1)?.seq);
    bodies.push(JSON.stringify(rows));
  }
  const readMs = performance.now() - readStart;
  db.close();
  // Bodies shaped as the forwarder sends them, built outside the clock.
  const cloudBodies = bodies.map((text) => {
    const rows = JSON.parse(text) as { seq: number; id: string; time_ms: number; type: string; severity: string; site: string; door: string; device: string; cardholder: string; reason: string; data: string }[];
    return JSON.stringify(
      rows.map((row) =>
        toCloudEvent(
          { id: row.id, seq: row.seq, time: new Date(row.time_ms).toISOString(), type: row.type, severity: row.severity, site: row.site, door: row.door, device: row.device, cardholder: row.cardholder, reason: row.reason, data: JSON.parse(row.data) } as JournalEvent,
          { site: 'demo', gateway: 'bench' },
        ),
      ),
    );
  });
  const before = receiver.received;
  const postStart = performance.now();
  for (const body of cloudBodies) {
    const id = 'floor';
    const response = await fetch(`http://127.0.0.1:${receiver.port}/hook`, {
      method: 'POST',
      headers: { 'content-type': 'application/cloudevents-batch+json', 'webhook-id': id, 'webhook-timestamp': '0', 'webhook-signature': sign(SECRET, id, 0, body) },
      body,
    });
    await response.text();
  }
  const postMs = performance.now() - postStart;
  if (receiver.received - before === 0) throw new Error('the floor posted nothing');
  return { readMs, postMs };
}

async function startMosquitto(): Promise<{ url: string; stop: () => Promise<void> } | undefined> {
  if (MOSQUITTO === undefined) return undefined;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-bench-mosq-'));
  const port = 20_000 + Math.floor(Math.random() * 20_000);
  fs.writeFileSync(path.join(dir, 'm.conf'), `listener ${port} 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nlog_dest stderr\nlog_type error\n`);
  const child = spawn(MOSQUITTO, ['-c', path.join(dir, 'm.conf')], { stdio: 'ignore' });
  const url = `mqtt://127.0.0.1:${port}`;
  for (let attempt = 0; attempt < 50; attempt++) {
    try {
      const probe = await mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: 200 });
      await probe.endAsync();
      return { url, stop: () => new Promise((resolve) => (child.once('exit', () => resolve()), child.kill('SIGTERM'))) };
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  child.kill('SIGKILL');
  return undefined;
}

async function mqttRun(events: number, batch: number, stateDir: string, url: string): Promise<{ catchUpMs: number; floorMs: number; got: number }> {
  const consumer = await mqtt.connectAsync(url, { clientId: 'bench-consumer', reconnectPeriod: 0 });
  let got = 0;
  let firstAtMs: number | undefined;
  let done: (() => void) | undefined;
  consumer.on('message', (topic) => {
    if (!topic.endsWith('/access.granted')) return;
    firstAtMs ??= performance.now();
    got++;
    if (got === events) done?.();
  });
  await consumer.subscribeAsync('guardpost/#', { qos: 1 });
  const all = new Promise<void>((resolve) => (done = resolve));
  const start = performance.now();
  const { child } = await startGateway(stateDir, `  - id: central\n    kind: mqtt\n    url: ${url}\n    gateway: bench\n    batchSize: ${batch}\n    initialBackoffMs: 50\n    maxBackoffMs: 500`);
  await all;
  // From the first delivery to the last, so the gateway's own start-up is not counted.
  const catchUpMs = performance.now() - (firstAtMs ?? start);
  await stopGatewayProcess(child);
  // Floor: the same payloads, QoS 1, one at a time.
  const db = new Database(path.join(stateDir, 'guardpost.db'), { readonly: true });
  const payloads = db.prepare<[], { data: string; id: string }>("SELECT id, data FROM events WHERE type = 'access.granted' ORDER BY seq").all();
  db.close();
  const publisher = await mqtt.connectAsync(url, { clientId: 'bench-floor', reconnectPeriod: 0 });
  const floorStart = performance.now();
  for (const row of payloads) await publisher.publishAsync('bench/floor/events/access.granted', JSON.stringify(row), { qos: 1 });
  const floorMs = performance.now() - floorStart;
  await publisher.endAsync();
  await consumer.endAsync();
  return { catchUpMs, floorMs, got };
}

function appendCost(count: number): { ordinaryUs: number; alarmUs: number } {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-bench-append-'));
  const store = Store.open(stateDir);
  const journal = new Journal(store.db, 'demo');
  const time = (type: 'access.granted' | 'alarm.raised'): number => {
    const start = performance.now();
    for (let i = 0; i < count; i++) journal.append({ type, door: 'main-entrance', data: { alarm: `a-${i}` } });
    return ((performance.now() - start) * 1000) / count;
  };
  time('access.granted');
  const ordinaryUs = time('access.granted');
  const alarmUs = time('alarm.raised');
  store.close();
  fs.rmSync(stateDir, { recursive: true, force: true });
  return { ordinaryUs, alarmUs };
}

function table(rows: readonly (readonly string[])[]): void {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length))) ?? [];
  for (const row of rows) console.log(row.map((cell, column) => (column === 0 ? cell.padEnd(widths[column] ?? 0) : cell.padStart(widths[column] ?? 0))).join('  '));
}

async function main(): Promise<number> {
  const { values } = parseArgs({ options: FLAGS, strict: true });
  const events = positive('events', values.events);
  const batch = positive('batch', values.batch);
  const presses = positive('presses', values.presses);
  const pressGapMs = positive('press-gap-ms', values['press-gap-ms']);
  const appends = positive('appends', values.appends);
  let missing = false;

  console.log(`forwarders: ${events} events queued, webhook batches of ${batch}, ${os.cpus().length} CPUs, node ${process.version}`);
  const stateDir = prefilledStateDir(events);
  const floorDir = prefilledStateDir(events);
  const receiver = new Receiver();
  await receiver.start();

  const webhookYaml = `  - id: incidents\n    kind: webhook\n    url: http://127.0.0.1:${receiver.port}/hook\n    secret: ${SECRET}\n    batchSize: ${batch}\n    initialBackoffMs: 50\n    maxBackoffMs: 500`;

  // Webhook catch-up alone, timed against the floor (the throughput target).
  const start = performance.now();
  const quiet = await startGateway(stateDir, webhookYaml);
  const catchUpMs = await receiver.until(() => receiver.received >= events, 'the whole backlog').then(() => performance.now() - (receiver.firstAtMs ?? start));
  await stopGatewayProcess(quiet.child);
  if (receiver.received < events) missing = true;

  // A second outage of the same size, drained while a panic button is pressed (the latency target).
  const pressedDir = prefilledStateDir(events);
  const receivedBefore = receiver.received;
  const pressStart = performance.now();
  const { child, mqttPort } = await startGateway(pressedDir, webhookYaml);
  const panic = await mqtt.connectAsync(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'bench-panic', username: 'reception-panic', password: 'demo', reconnectPeriod: 0 });
  const latencies: number[] = [];
  const drained = receiver.until(() => receiver.received >= receivedBefore + events, 'the second backlog').then(() => performance.now() - pressStart);
  let draining = true;
  void drained.then(() => (draining = false));
  while (latencies.length < presses && draining) {
    const seen = receiver.alarms.length;
    const pressedAt = performance.now();
    panic.publish('guardpost/devices/reception-panic/input', JSON.stringify({ type: 'button', state: 'pressed' }));
    await receiver.until(() => receiver.alarms.length > seen, 'a panic alarm', 10_000);
    // Only presses answered while the backlog was still draining count.
    if (draining) latencies.push((receiver.alarms[seen]?.atMs ?? NaN) - pressedAt);
    await new Promise((resolve) => setTimeout(resolve, pressGapMs));
  }
  await drained;
  await panic.endAsync();
  await stopGatewayProcess(child);
  if (receiver.received < receivedBefore + events) missing = true;

  const floor = await webhookFloor(floorDir, receiver, batch);
  const floorMs = floor.readMs + floor.postMs;
  const rate = (ms: number): string => `${Math.round((events / ms) * 1000).toLocaleString('en')}/s`;
  console.log('\nWebhook catch-up after an outage');
  table([
    ['path', 'time ms', 'events/s', 'ratio'],
    ['floor: SQLite read + bare POSTs', floorMs.toFixed(0), rate(floorMs), '1.00'],
    ['  of which SQLite read', floor.readMs.toFixed(0), rate(floor.readMs), ''],
    ['guardpost webhook catch-up', catchUpMs.toFixed(0), rate(catchUpMs), (catchUpMs / floorMs).toFixed(2)],
  ]);
  console.log(`target: ≥ 5,000 events/s (${(events / catchUpMs) * 1000 >= 5000 ? 'met' : 'missed'}), ratio ≤ 1.5 (${catchUpMs / floorMs <= 1.5 ? 'met' : 'missed'})`);

  const sorted = [...latencies].sort((a, b) => a - b);
  console.log(`\nPanic press → webhook while the backlog drains (${sorted.length} presses)`);
  table([
    ['p50 ms', 'p99 ms', 'max ms'],
    [percentile(sorted, 50).toFixed(1), percentile(sorted, 99).toFixed(1), (sorted.at(-1) ?? NaN).toFixed(1)],
  ]);
  console.log(`target: p99 < 50 ms (${percentile(sorted, 99) < 50 ? 'met' : sorted.length === 0 ? 'not measured: the backlog drained first' : 'missed'})`);
  await receiver.stop();

  const broker = await startMosquitto();
  if (broker === undefined) console.log('\nMQTT uplink: skipped in this run, Mosquitto is not installed (apt-get install mosquitto)');
  else {
    const mqttDir = prefilledStateDir(events);
    const result = await mqttRun(events, batch, mqttDir, broker.url);
    await broker.stop();
    if (result.got < events) missing = true;
    console.log('\nMQTT uplink catch-up to Mosquitto (QoS 1)');
    table([
      ['path', 'time ms', 'events/s', 'ratio'],
      ['floor: bare QoS 1 publishes', result.floorMs.toFixed(0), rate(result.floorMs), '1.00'],
      ['guardpost uplink catch-up', result.catchUpMs.toFixed(0), rate(result.catchUpMs), (result.catchUpMs / result.floorMs).toFixed(2)],
    ]);
  }

  const cost = appendCost(appends);
  console.log(`\nJournal append (${appends} each)`);
  table([
    ['event', 'µs per append'],
    ['ordinary (synchronous=NORMAL)', cost.ordinaryUs.toFixed(1)],
    ['alarm-class (synchronous=FULL)', cost.alarmUs.toFixed(1)],
  ]);
  if (missing) console.error('events went missing: see above');
  return missing ? 1 : 0;
}

main().then(
  (code) => (process.exitCode = code),
  (error: unknown) => {
    console.error((error as Error).message);
    process.exitCode = 1;
  },
);

