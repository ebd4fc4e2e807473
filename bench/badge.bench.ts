/**
 * Badge-to-strike latency against a bare MQTT round trip over the same broker (DESIGN.md,
 * "Tests and benchmarks"). Run with `npm run bench` or `npx tsx bench/badge.bench.ts --reads 2000`.
 *
 * - badge → strike: the reader's real mqtt.js client publishes a card read on its own input
 *   topic; the clock stops when the strike's real mqtt.js client receives `{"type":"strike",…}`
 *   on its output topic. Every read goes through the broker's ACLs, decode, decide, the strike
 *   command, then LED, buzzer, journal append (SQLite, WAL) and the live `guardpost/events` fan-out.
 * - bare pub → sub (the floor): the reader publishes `online` (not retained) on its own
 *   availability topic and an anonymous observer client subscribed to it receives it. The
 *   gateway also sees it, but journals only changes of availability, so it does no journal work.
 *
 * The gateway runs as its own process (the real `guardpost start` on the demo config, ephemeral
 * ports, a temp state dir), as it does beside remote devices: what it does after the strike has
 * left (LED, buzzer, journal) overlaps with the strike's trip, as it would on a real floor.
 * Run in one thread with its clients instead, that work is charged to every read: on the machine
 * this was written on that measured p50 39 µs against a 24 µs floor (ratio 1.6).
 *
 * One message at a time, the same QoS for every client publish and subscription on both paths
 * (0 by default, `--qos 1` to change), measured in interleaved blocks so machine noise hits both
 * alike. Flags: --reads N (10000), --warmup N (500), --blocks N (10), --qos 0|1 (0).
 * The reader client does not subscribe to its own output, so the LED and buzzer commands the
 * gateway sends it cost only their broker publish, as they would with a remote reader.
 * The process exits 0 whatever the ratios (a benchmark is never a CI gate) and 1 only when the
 * journal did not record every read (or the run itself failed).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setImmediate as nextTurn } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import type { ChildProcess } from 'node:child_process';
import Database from 'better-sqlite3';
import mqtt, { type MqttClient } from 'mqtt';
import { latencyTable, repoRoot, startGatewayProcess, stopGatewayProcess, summarise } from './support.js';

const READER = 'main-entrance-reader';
const STRIKE = 'main-entrance-strike';
const CARD = '1001'; // alice-adams, staff: granted at the main entrance
const INPUT_TOPIC = `guardpost/devices/${READER}/input`;
const AVAILABILITY_TOPIC = `guardpost/devices/${READER}/availability`;
const STRIKE_TOPIC = `guardpost/devices/${STRIKE}/output`;
const TIMEOUT_MS = 5_000;

const TARGET_P50 = 1.5;
const TARGET_P99 = 2;

interface Options {
  readonly reads: number;
  readonly warmup: number;
  readonly blocks: number;
  readonly qos: 0 | 1;
}

/** A bad command-line flag: reported as one line, without a stack. */
class UsageError extends Error {}

function positiveInt(name: string, text: string | undefined, fallback: number, min = 1): number {
  if (text === undefined) return fallback;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < min) {
    throw new UsageError(`--${name}: expected an integer ≥ ${min}, got ${JSON.stringify(text)}`);
  }
  return value;
}

const FLAGS = {
  reads: { type: 'string' },
  warmup: { type: 'string' },
  blocks: { type: 'string' },
  qos: { type: 'string' },
} as const;

function readOptions(): Options {
  let values: ReturnType<typeof parseArgs<{ options: typeof FLAGS; strict: true }>>['values'];
  try {
    ({ values } = parseArgs({ options: FLAGS, strict: true }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const reads = positiveInt('reads', values.reads, 10_000);
  const warmup = positiveInt('warmup', values.warmup, 500, 0);
  const blocks = Math.min(positiveInt('blocks', values.blocks, 10), reads);
  if (values.qos !== undefined && values.qos !== '0' && values.qos !== '1') throw new UsageError(`--qos: expected 0 or 1, got ${JSON.stringify(values.qos)}`);
  const qos = values.qos === '1' ? 1 : 0;
  return { reads, warmup, blocks, qos };
}

/** Resolves the next time `accept` says yes to a message; one waiter at a time. */
class Waiter {
  private pending: { resolve: () => void; reject: (error: Error) => void; timer: NodeJS.Timeout } | undefined;

  constructor(
    client: MqttClient,
    private readonly what: string,
    accept: (topic: string, payload: Buffer) => boolean,
  ) {
    client.on('message', (topic, payload) => {
      const pending = this.pending;
      if (pending === undefined || !accept(topic, payload)) return;
      this.pending = undefined;
      clearTimeout(pending.timer);
      pending.resolve();
    });
  }

  /** Arm before publishing, so a message that beats the publish's own callback is not missed. */
  arm(): Promise<void> {
    if (this.pending !== undefined) throw new Error(`${this.what}: already waiting`);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending = undefined;
        reject(new Error(`${this.what}: nothing within ${TIMEOUT_MS} ms`));
      }, TIMEOUT_MS);
      this.pending = { resolve, reject, timer };
    });
  }
}

function isStrike(topic: string, payload: Buffer): boolean {
  if (topic !== STRIKE_TOPIC) return false;
  try {
    return (JSON.parse(payload.toString('utf8')) as { type?: unknown }).type === 'strike';
  } catch {
    return false;
  }
}

const isOnline = (topic: string, payload: Buffer): boolean => topic === AVAILABILITY_TOPIC && payload.toString('utf8') === 'online';

function connect(url: string, options: mqtt.IClientOptions): Promise<MqttClient> {
  return mqtt.connectAsync(url, { reconnectPeriod: 0, connectTimeout: TIMEOUT_MS, ...options });
}

async function subscribe(client: MqttClient, topic: string, qos: 0 | 1): Promise<void> {
  const [grant] = await client.subscribeAsync(topic, { qos });
  if (grant === undefined || grant.qos !== qos) throw new Error(`subscription to ${topic} refused or downgraded (granted ${grant?.qos ?? 'nothing'})`);
}

/** Nanoseconds for each of `count` round trips, one at a time. */
async function measure(count: number, samples: bigint[] | null, roundTrip: () => Promise<void>): Promise<void> {
  for (let index = 0; index < count; index++) {
    // One untimed turn of the event loop first, so a client's own leftovers are not charged to the next one.
    await nextTurn();
    const start = process.hrtime.bigint();
    await roundTrip();
    const elapsed = process.hrtime.bigint() - start;
    samples?.push(elapsed);
  }
}

async function main(): Promise<number> {
  const options = readOptions();
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-bench-'));
  const clients: MqttClient[] = [];
  let gateway: ChildProcess | undefined;
  let journalDb: Database.Database | undefined;

  try {
    const started = await startGatewayProcess(path.join(repoRoot, 'config/demo.yaml'), stateDir);
    gateway = started.child;
    const url = `mqtt://127.0.0.1:${started.mqttPort}`;
    journalDb = new Database(path.join(stateDir, 'guardpost.db'), { readonly: true });
    const countGranted = journalDb.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM events WHERE type = 'access.granted'");
    const grantedBefore = countGranted.get()?.n ?? 0;

    const reader = await connect(url, { clientId: `bench-${READER}`, username: READER, password: 'demo' });
    clients.push(reader);
    const strike = await connect(url, { clientId: `bench-${STRIKE}`, username: STRIKE, password: 'demo' });
    clients.push(strike);
    await subscribe(strike, STRIKE_TOPIC, options.qos);
    const observer = await connect(url, { clientId: 'bench-observer' });
    clients.push(observer);
    await subscribe(observer, AVAILABILITY_TOPIC, options.qos);

    const strikeArrives = new Waiter(strike, 'strike command', isStrike);
    const onlineArrives = new Waiter(observer, 'availability', isOnline);
    const cardPayload = Buffer.from(JSON.stringify({ type: 'card', card: CARD }));
    const onlinePayload = Buffer.from('online');

    const badge = async (): Promise<void> => {
      const arrived = strikeArrives.arm();
      reader.publish(INPUT_TOPIC, cardPayload, { qos: options.qos });
      await arrived;
    };
    const bare = async (): Promise<void> => {
      const arrived = onlineArrives.arm();
      reader.publish(AVAILABILITY_TOPIC, onlinePayload, { qos: options.qos, retain: false });
      await arrived;
    };

    // Warm-up: JIT, SQLite page cache, socket buffers. Not counted, but the reads are journalled.
    await measure(options.warmup, null, badge);
    await measure(options.warmup, null, bare);

    const badgeSamples: bigint[] = [];
    const bareSamples: bigint[] = [];
    for (let block = 0; block < options.blocks; block++) {
      const size = Math.floor(options.reads / options.blocks) + (block < options.reads % options.blocks ? 1 : 0);
      // Alternate which goes first so neither always follows the other's GC debt.
      if (block % 2 === 0) {
        await measure(size, badgeSamples, badge);
        await measure(size, bareSamples, bare);
      } else {
        await measure(size, bareSamples, bare);
        await measure(size, badgeSamples, badge);
      }
    }

    // The gateway journals each read just after its strike leaves: give the last one time to land.
    const expected = options.warmup + options.reads;
    let granted = (countGranted.get()?.n ?? 0) - grantedBefore;
    for (let attempt = 0; granted < expected && attempt < 100; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      granted = (countGranted.get()?.n ?? 0) - grantedBefore;
    }

    const badgeSummary = summarise(badgeSamples);
    const floor = summarise(bareSamples);
    const ratio50 = badgeSummary.p50 / floor.p50;
    const ratio99 = badgeSummary.p99 / floor.p99;
    const verdict = (ratio: number, target: number): string => `${ratio.toFixed(2)} (target ≤ ${target}: ${ratio <= target ? 'PASS' : 'MISS'})`;

    console.log(`guardpost badge bench — Node ${process.version}, ${os.cpus().length} CPU(s), gateway in its own process, ${options.reads} reads in ${options.blocks} interleaved blocks after ${options.warmup} warm-up, MQTT QoS ${options.qos} publish and subscribe on both rows`);
    console.log('');
    console.log(
      latencyTable([
        ['badge → strike', badgeSummary],
        ['bare pub → sub', floor],
      ]),
    );
    console.log('');
    console.log(`ratio p50 ${verdict(ratio50, TARGET_P50)}   ratio p99 ${verdict(ratio99, TARGET_P99)}`);
    console.log(`journal: ${granted} access.granted rows for ${expected} reads — ${granted === expected ? 'OK' : 'MISMATCH'}`);
    return granted === expected ? 0 : 1;
  } finally {
    await Promise.all(clients.map((client) => client.endAsync(true)));
    journalDb?.close();
    if (gateway !== undefined) await stopGatewayProcess(gateway);
    fs.rmSync(stateDir, { recursive: true, force: true });
  }
}

main().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    console.error(error instanceof UsageError ? `badge bench: ${error.message}` : error instanceof Error ? (error.stack ?? error.message) : error);
    process.exitCode = 1;
  },
);
