/**
 * Soak: the gateway under a floor's worth of traffic for N minutes (issue 11). Not run by CI.
 *   npm run soak -- --minutes 30
 *
 * Load: 50 badge reads/s across 20 doors, a panic press every minute (acknowledged and cleared
 * through the API), 200 MQTT clients connecting and disconnecting, the API polled as a console
 * would, and a webhook destination that fails 10% of requests. Each minute prints the gateway's
 * RSS, heap, open file descriptors and event-loop delay p99 (from its /metrics), the badge
 * p99 (card published → strike received) and a floor measured in the same minute: the p99 of a
 * bare MQTT round trip through the same broker (a reader's `online` on its availability topic,
 * received by an observer; the gateway journals nothing for it), 10 a second. At the end: every
 * journalled event reached the webhook (zero lost), and the targets over the run: RSS growth
 * < 10%, fds flat, badge p99 within 1.2× of the start.
 *
 * On a shared machine other work moves both the badge p99 and the floor, so "within 1.2× of the
 * start" compares badge p99 ÷ floor p99 (what the gateway's own path adds), and it and RSS compare
 * the median of the last fifth of the run with the median of the first fifth after minute 1
 * (JIT, caches and the SQLite page cache warm up in minute 1); the raw minute-1 figures are
 * printed too.
 *
 * `--profile <dir>` runs the gateway under `node --cpu-prof --trace-gc` (the profile and its
 * stdout, GC lines included, land in <dir>) and prints each minute the gateway's longest GC
 * pause and the GC pauses so far from /metrics, to attribute event-loop delay. SOAK_NODE_ARGS
 * passes further node flags to the gateway.
 */
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import mqtt, { type MqttClient } from 'mqtt';
import { parse as parseYaml, stringify } from 'yaml';
import { hashSecret } from '../src/auth/passwords.js';
import { Store } from '../src/store/index.js';
import { repoRoot, startGatewayProcess, stopGatewayProcess } from './support.js';

const DOORS = 20;
const { values } = parseArgs({ options: { minutes: { type: 'string', default: '30' }, 'reads-per-second': { type: 'string', default: '50' }, clients: { type: 'string', default: '200' }, profile: { type: 'string' } }, strict: true });
const minutes = Number(values.minutes);
const readsPerSecond = Number(values['reads-per-second']);
const churnClients = Number(values.clients);
if (!(minutes > 0) || !(readsPerSecond > 0) || !(churnClients >= 0)) throw new Error('--minutes, --reads-per-second and --clients take positive numbers');

/** The demo site plus 20 doors, each with a reader and a strike, open to staff. */
function soakSite(): string {
  const site = parseYaml(fs.readFileSync(path.join(repoRoot, 'config/demo-site.yaml'), 'utf8')) as Record<string, unknown[]> & { groups: { id: string; doors: string[] }[] };
  for (let i = 1; i <= DOORS; i++) {
    site.devices!.push({ id: `soak-reader-${i}`, name: `Soak reader ${i}`, kind: 'reader' }, { id: `soak-strike-${i}`, name: `Soak strike ${i}`, kind: 'strike' });
    site.doors!.push({ id: `soak-door-${i}`, name: `Soak door ${i}`, reader: `soak-reader-${i}`, strike: `soak-strike-${i}`, unlockMs: 3000 });
    site.groups.find((group) => group.id === 'staff')!.doors.push(`soak-door-${i}`);
  }
  return stringify(site);
}

/** The incident system: fails one request in ten with a 503, counts every event id it accepts. */
class FlakyWebhook {
  readonly accepted = new Set<string>();
  requests = 0;
  private server = http.createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      this.requests += 1;
      if (Math.random() < 0.1) return void response.writeHead(503).end();
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { data: { seq: number } } | { data: { seq: number } }[];
      for (const event of Array.isArray(body) ? body : [body]) this.accepted.add(String(event.data.seq));
      response.writeHead(204).end();
    });
  });
  port = 0;

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as { port: number }).port;
  }

  stop(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? Number.NaN;
};

async function main(): Promise<number> {
  const stateDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-soak-'));
  const siteFile = path.join(stateDir, 'soak-site.yaml');
  fs.writeFileSync(siteFile, soakSite());
  const webhook = new FlakyWebhook();
  await webhook.start();
  const configFile = path.join(stateDir, 'soak.yaml');
  fs.writeFileSync(
    configFile,
    stringify({
      demo: true,
      siteFile,
      mqtt: { limits: { connectionsPerAddressPerMinute: 100_000, maxClients: 2_000, failedLoginsPerAddress: 100_000 } },
      http: { rateLimits: { readPerMinute: 0, writePerMinute: 0, exportPerMinute: 0 } },
      forwarders: [{ id: 'incidents', kind: 'webhook', url: `http://127.0.0.1:${webhook.port}/hook`, secret: 'whsec_c29hay1zZWNyZXQ=', batchSize: 50, initialBackoffMs: 50, maxBackoffMs: 1_000 }],
    }),
  );
  // Security staff who handle the alarms, as `guardpost user add` would create them.
  const password = `soak-${Math.random().toString(36).slice(2)}`;
  const seed = Store.open(stateDir);
  seed.users.insert({ id: 'soak-guard', role: 'security', passwordHash: await hashSecret(password), disabled: false, createdMs: Date.now() });
  seed.close();
  const profileDir = values.profile === undefined ? undefined : path.resolve(values.profile);
  if (profileDir !== undefined) fs.mkdirSync(profileDir, { recursive: true });
  // SOAK_NODE_ARGS adds node flags of one's own (`--trace-gc-nvp`, `--max-semi-space-size=32`).
  const nodeArgs = [...(profileDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, '--trace-gc']), ...(process.env.SOAK_NODE_ARGS?.split(' ').filter(Boolean) ?? [])];
  const { child, mqttPort, httpPort } = await startGatewayProcess(configFile, stateDir, nodeArgs);
  if (profileDir !== undefined) child.stdout?.pipe(fs.createWriteStream(path.join(profileDir, 'gateway.log')));
  const mqttUrl = `mqtt://127.0.0.1:${mqttPort}`;
  const api = `http://127.0.0.1:${httpPort}`;
  console.log(`soak: ${minutes} min, ${readsPerSecond} badge reads/s over ${DOORS} doors, ${churnClients} MQTT clients churning, webhook failing 10%, pid ${child.pid}`);

  const device = (id: string): Promise<MqttClient> => mqtt.connectAsync(mqttUrl, { username: id, password: 'demo', clientId: `soak-${id}`, reconnectPeriod: 500 });
  const readers = await Promise.all(Array.from({ length: DOORS }, (_, i) => device(`soak-reader-${i + 1}`)));
  const strikes = await Promise.all(Array.from({ length: DOORS }, (_, i) => device(`soak-strike-${i + 1}`)));
  const panic = await device('reception-panic');
  const pending = new Map<number, number>();
  let badgeLatenciesMs: number[] = [];
  strikes.forEach((strike, i) => {
    void strike.subscribeAsync(`guardpost/devices/soak-strike-${i + 1}/output`);
    strike.on('message', () => {
      const sentAt = pending.get(i);
      if (sentAt === undefined) return;
      pending.delete(i);
      badgeLatenciesMs.push(performance.now() - sentAt);
    });
  });

  // The floor: a bare broker round trip, 10 a second, through the same broker under the same load.
  const floorReader = readers[0]!;
  const floorTopic = 'guardpost/devices/soak-reader-1/availability';
  const observer = await mqtt.connectAsync(mqttUrl, { clientId: 'soak-floor-observer', reconnectPeriod: 500 });
  await observer.subscribeAsync(floorTopic);
  let floorSentAt: number | undefined;
  let floorLatenciesMs: number[] = [];
  observer.on('message', (topic) => {
    if (topic !== floorTopic || floorSentAt === undefined) return;
    floorLatenciesMs.push(performance.now() - floorSentAt);
    floorSentAt = undefined;
  });
  const floorProbe = setInterval(() => {
    floorSentAt = performance.now();
    floorReader.publish(floorTopic, 'online', { retain: false });
  }, 100);

  const login = (await (await fetch(`${api}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: 'soak-guard', password }) })).json().catch(() => ({}))) as { token?: string };
  const headers: Record<string, string> = login.token === undefined ? {} : { authorization: `Bearer ${login.token}` };

  let read = 0;
  const badges = setInterval(() => {
    const door = read++ % DOORS;
    pending.set(door, performance.now());
    readers[door]!.publish(`guardpost/devices/soak-reader-${door + 1}/input`, JSON.stringify({ type: 'card', card: '1001' }));
  }, 1000 / readsPerSecond);
  const churn = setInterval(() => {
    for (let i = 0; i < churnClients / 10; i++) {
      const client = mqtt.connect(mqttUrl, { reconnectPeriod: 0 });
      client.once('connect', () => setTimeout(() => client.end(true), 2_000));
      client.on('error', () => client.end(true));
    }
  }, 1_000);
  const polling = setInterval(() => {
    for (const route of ['/api/v1/doors', '/api/v1/alarms', '/api/v1/events?limit=50', '/readyz']) void fetch(`${api}${route}`, { headers }).then((response) => response.arrayBuffer()).catch(() => undefined);
  }, 2_000);

  // One scrape a minute: the event-loop delay gauge covers the time since the previous scrape.
  const scrape = async (): Promise<(name: string) => number> => {
    const text = await (await fetch(`${api}/metrics`, { headers })).text();
    return (name) => Number(new RegExp(`^${name.replace(/[{}"]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  };
  const rows: { minute: number; rssMb: number; heapMb: number; fds: number; loopP99Ms: number; badgeP99Ms: number; floorP99Ms: number }[] = [];
  console.log('minute  rss MB  heap MB  fds  loop p99 ms  badge p99 ms  reads  floor p99 ms  badge/floor');
  for (let minute = 1; minute <= minutes; minute++) {
    panic.publish('guardpost/devices/reception-panic/input', JSON.stringify({ type: 'button', state: 'pressed' }));
    await new Promise((resolve) => setTimeout(resolve, 60_000));
    // Security handles the alarm, as they would.
    const alarms = (await (await fetch(`${api}/api/v1/alarms`, { headers })).json().catch(() => [])) as { id: string; state: string }[];
    for (const alarm of Array.isArray(alarms) ? alarms : []) {
      if (alarm.state === 'raised') await fetch(`${api}/api/v1/alarms/${alarm.id}/acknowledge`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ note: 'soak' }) });
      await fetch(`${api}/api/v1/alarms/${alarm.id}/clear`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ resolution: 'soak' }) });
    }
    const metric = await scrape();
    const row = {
      minute,
      rssMb: metric('process_resident_memory_bytes') / 2 ** 20,
      heapMb: metric('nodejs_heap_used_bytes') / 2 ** 20,
      fds: metric('process_open_fds'),
      loopP99Ms: metric('nodejs_eventloop_delay_p99_seconds') * 1000,
      badgeP99Ms: percentile(badgeLatenciesMs, 99),
      floorP99Ms: percentile(floorLatenciesMs, 99),
    };
    rows.push(row);
    console.log(
      `${String(minute).padStart(6)}  ${row.rssMb.toFixed(1).padStart(6)}  ${row.heapMb.toFixed(1).padStart(7)}  ${String(row.fds).padStart(3)}  ${row.loopP99Ms.toFixed(1).padStart(11)}  ${row.badgeP99Ms.toFixed(1).padStart(12)}  ${String(badgeLatenciesMs.length).padStart(5)}  ${row.floorP99Ms.toFixed(1).padStart(12)}  ${(row.badgeP99Ms / row.floorP99Ms).toFixed(2).padStart(11)}`,
    );
    if (profileDir !== undefined) {
      const pauses = (kind: string): number => metric(`nodejs_gc_duration_seconds_count{kind="${kind}"}`);
      console.log(`        gc: longest pause ${(metric('nodejs_gc_pause_max_seconds') * 1000).toFixed(1)} ms; pauses so far minor ${pauses('minor')}, major ${pauses('major')}`);
    }
    badgeLatenciesMs = [];
    floorLatenciesMs = [];
  }
  clearInterval(floorProbe);
  clearInterval(badges);
  clearInterval(churn);
  clearInterval(polling);

  // Zero lost: once the forwarder has caught up, every journalled event reached the webhook.
  const deadline = Date.now() + 120_000;
  let caughtUpSeq: number | undefined;
  while (caughtUpSeq === undefined && Date.now() < deadline) {
    const ready = (await (await fetch(`${api}/readyz`)).json()) as { checks: { name: string; data?: { lagEvents?: number; cursorSeq?: number } }[] };
    const status = ready.checks.find((check) => check.name === 'forwarder:incidents')?.data;
    if (status?.lagEvents === 0) caughtUpSeq = status.cursorSeq;
    else await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  for (const client of [...readers, ...strikes, panic, observer]) await client.endAsync(true);
  await stopGatewayProcess(child);
  await webhook.stop();
  const store = Store.open(stateDir);
  const journalled = (store.db.prepare('SELECT seq FROM events WHERE seq <= ?').all(caughtUpSeq ?? Number.MAX_SAFE_INTEGER) as { seq: number }[]).map((row) => row.seq);
  store.close();
  const lost = journalled.filter((seq) => !webhook.accepted.has(String(seq))).length;
  const newest = journalled.length;

  const first = rows[0]!;
  const last = rows[rows.length - 1]!;
  // The first fifth after the warm-up minute against the last fifth (one minute each in short runs).
  const span = Math.max(1, Math.floor(rows.length / 5));
  const warm = rows.length > 2 ? rows.slice(1, 1 + span) : rows.slice(0, 1);
  const end = rows.slice(-span);
  const median = (values: number[]): number => percentile(values, 50);
  const rssGrowth = median(end.map((row) => row.rssMb)) / median(warm.map((row) => row.rssMb)) - 1;
  const relative = (row: (typeof rows)[number]): number => row.badgeP99Ms / row.floorP99Ms;
  const p99Ratio = median(end.map(relative)) / median(warm.map(relative));
  const rawP99Ratio = last.badgeP99Ms / first.badgeP99Ms;
  const peakRssMb = Math.max(...rows.map((row) => row.rssMb));
  console.log(
    `\nRSS growth ${(rssGrowth * 100).toFixed(1)}% (median of the last ${span} min against ${rows.length > 2 ? `minutes 2–${1 + span}` : 'minute 1'}; target < 10%: ${rssGrowth < 0.1 ? 'met' : 'missed'}; minute 1 ${first.rssMb.toFixed(1)} MB, last ${last.rssMb.toFixed(1)} MB, peak ${peakRssMb.toFixed(1)} MB)` +
      `\nfds ${first.fds} → ${last.fds} (${last.fds - first.fds <= 5 ? 'flat' : 'growing'})` +
      `\nbadge p99 ÷ floor p99 at the end ${p99Ratio.toFixed(2)}× the start (target ≤ 1.2: ${p99Ratio <= 1.2 ? 'met' : 'missed'}; raw badge p99, last minute ÷ minute 1: ${rawP99Ratio.toFixed(2)}×)` +
      `\nevents lost ${lost} of ${newest ?? '?'} (webhook saw ${webhook.requests} requests)`,
  );
  return lost === 0 ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
