/**
 * decide() at the issue's scale against a floor measured in the same run (issue 4, "Benchmark").
 * Run with `npm run bench -- access` or `npx tsx bench/access.bench.ts [--cardholders N] [--decisions N] [--state-dir DIR]`.
 *
 * - A site of N cardholders (default 100,000), 2N credentials, 500 groups, 200 doors, 50 schedules
 *   and 100 access levels is written to a real store (SQLite in a temp state dir) through
 *   the import's writers, then the card index is loaded as the runtime loads it: once from the
 *   database on one thread (the reference, and what a reload that read everyone stalled the event
 *   loop for before), then the snapshot file is written and read back; then the full read on two
 *   worker threads (a start without a usable snapshot, a reload reading everyone) with the event
 *   loop's worst delay meanwhile (here the workers run the TypeScript through tsx, which adds their
 *   start-up; the gateway start below runs them compiled).
 * - decide(): each call timed alone (hrtime), random cards (90% known, 10% unknown) at random doors
 *   and times, with passback areas and rule state live; throughput from an untimed loop.
 * - The floor: a bare `Map.get` of the same card numbers in a plain Map of every credential, timed alike.
 * - Gateway start: the gateway is compiled as `npm start` runs it (tsc, plain node, no tsx loader), and
 *   a child process starts it (demo mode: no admin user needed) on that state dir (no site file, as
 *   after the first import) and reports how long `startGateway` took and its RSS once started:
 *   once without a snapshot (people changed while stopped: read on worker threads, with the event
 *   loop's worst delay during the start), once with it (an ordinary restart), and once on the same
 *   site without people (the floor for start time, loop delay and RSS).
 * - People changed by another process (a validity window on one card each, so decisions stay the
 *   same) [ACC-INDEX]: while running, the synchronous catch-up from the change log for 1, 100,
 *   1,000 and 10,000 people (the event-loop stall), alone and with the rules rebuild; the
 *   event-loop delay while the snapshot is written in the background, beside an idle loop; the
 *   index from the snapshot + 1% of the people changed since; the gateway started after 1% changed
 *   while it was stopped, and after a crash (killed -9 once its background snapshot was written).
 * - `--state-dir DIR` keeps the site there and reuses it on the next run (a 2,000,000-person
 *   import takes ~5 minutes here); `--prepare-only` only writes that site and stops.
 * - Cardholders are written in batches through the same writers as an import, so a 2,000,000-person
 *   site never has to exist as one object graph in the bench.
 *
 * Targets (issue 4): p99 < 20 µs, ratio to the floor ≤ 30, gateway RSS < 150 MB and start < 2 s at
 * 100,000 cardholders; at `--cardholders 2000000`: index load < 10 s, RSS < 600 MB, same p99.
 * Exits 0 whatever the figures: a benchmark is never a CI gate.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import { canonicalCardNumber } from '../src/access/credentials.js';
import { decide } from '../src/access/decide.js';
import { applyEffects, emptyRuleState } from '../src/access/ruleState.js';
import { NORMAL_CONDITIONS } from '../src/access/types.js';
import type { SiteData } from '../src/config/siteSchema.js';
import { Store } from '../src/store/index.js';
import { CARD_SNAPSHOT_FILE, writeCardSnapshotInBackground } from '../src/site/cardSnapshot.js';
import { catchUpCardIndex } from '../src/site/peopleChanges.js';
import type { CardIndex } from '../src/access/cardIndex.js';
import { buildSiteIndex, openCardIndex, readCardIndexOffThread, saveCardSnapshot, snapshotStampOf } from '../src/site/siteIndex.js';
import { writeCardholder } from '../src/store/siteWrites.js';
import { benchDoors, repoRoot } from './support.js';

const { values } = parseArgs({
  options: {
    cardholders: { type: 'string', default: '100000' },
    decisions: { type: 'string', default: '200000' },
    /** Keep the site here and reuse it on the next run (a 2,000,000-person import takes minutes). */
    'state-dir': { type: 'string' },
    /** Only write the site into --state-dir (if it is not there yet) and stop. */
    'prepare-only': { type: 'boolean', default: false },
  },
});

const GROUPS = 500;
const DOORS = 200;
const SCHEDULES = 50;
const LEVELS = 100;
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** A deterministic pseudo-random sequence, so runs compare. */
function rng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Cardholders `from`…`to`-1 of the bench site (the same people whatever the batch size). */
function benchCardholders(from: number, to: number): SiteData['cardholders'] {
  return Array.from({ length: to - from }, (_, k) => {
    const i = from + k;
    const random = rng(1_000_003 + i);
    const pick = (n: number): number => Math.floor(random() * n);
    return {
      id: `holder-${i}`,
      name: `Cardholder ${i}`,
      status: i % 50 === 0 ? ('suspended' as const) : ('active' as const),
      groups: [`group-${pick(GROUPS)}`, `group-${pick(GROUPS)}`, `group-${pick(GROUPS)}`].filter((group, n, all) => all.indexOf(group) === n),
      credentials: [
        { id: `cred-${i}-a`, card: String(10_000_000 + 2 * i), status: 'active' as const },
        { id: `cred-${i}-b`, card: String(10_000_001 + 2 * i), status: i % 10 === 0 ? ('lost' as const) : ('active' as const) },
      ],
    };
  });
}

function siteData(): SiteData {
  const random = rng(1);
  const pick = (n: number): number => Math.floor(random() * n);
  const hhmm = (minute: number): string => `${String(Math.floor(minute / 60)).padStart(2, '0')}:${String(minute % 60).padStart(2, '0')}`;
  const doorId = (i: number): string => `door-${i}`;
  return {
    site: { id: 'bench', name: 'Bench site', timezone: 'Europe/London' },
    ...benchDoors(DOORS),
    groups: Array.from({ length: GROUPS }, (_, i) => ({
      id: `group-${i}`,
      name: `Group ${i}`,
      doors: Array.from({ length: 3 }, () => doorId(pick(DOORS))).filter((door, k, all) => all.indexOf(door) === k),
      accessLevels: [`level-${pick(LEVELS)}`, `level-${pick(LEVELS)}`].filter((level, k, all) => all.indexOf(level) === k),
    })),
    cardholders: [],
    doorGroups: [],
    schedules: Array.from({ length: SCHEDULES }, (_, i) => {
      const start = 6 * 60 + pick(4 * 60);
      return { id: `schedule-${i}`, name: `Schedule ${i}`, intervals: [{ days: [...DAYS.slice(0, 5)], from: hhmm(start), to: hhmm(start + 8 * 60) }, { days: ['sat'], from: '22:00', to: '06:00' }], holidays: ['bank'], holidayIntervals: [] };
    }),
    holidays: [{ id: 'bank', name: 'Bank holidays', dates: ['2025-12-25', '2025-12-26', '2026-01-01'] }],
    accessLevels: Array.from({ length: LEVELS }, (_, i) => ({ id: `level-${i}`, name: `Level ${i}`, doors: Array.from({ length: 10 }, (_, k) => doorId((i * 7 + k * 13) % DOORS)).filter((door, k, all) => all.indexOf(door) === k), doorGroups: [], schedule: i % 4 === 0 ? undefined : `schedule-${i % SCHEDULES}` })),
    threatLevels: [{ id: 'elevated', name: 'Elevated', allowedGroups: ['group-1', 'group-2'], doors: [], lockdownZones: [], lockdownSite: false }],
    areas: [{ id: 'floor', name: 'Floor', entryDoors: [doorId(0)], exitDoors: [doorId(1)], passback: 'soft', forgiveAfterMinutes: 60 }],
    watchList: [],
    wiegandFormats: [],
    zones: [],
    cameras: [],
    panicButtons: [],
    alarms: { escalation: [] },
  };
}

function summary(samplesNs: Float64Array): { p50: number; p99: number; mean: number } {
  const sorted = Float64Array.from(samplesNs).sort();
  const at = (q: number): number => (sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0) / 1000;
  return { p50: at(0.5), p99: at(0.99), mean: sorted.reduce((sum, v) => sum + v, 0) / sorted.length / 1000 };
}

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;

/** The gateway as `npm start` runs it: compiled by tsc into a scratch dir (gitignored var/), plain node. */
function compileGateway(): string {
  const outDir = path.join(repoRoot, 'var', `bench-build-${process.pid}`);
  const tsc = spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json'), '--outDir', outDir, '--sourceMap', 'false'], { cwd: repoRoot, encoding: 'utf8' });
  if (tsc.status !== 0) throw new Error(`compiling the gateway failed: ${tsc.stdout}${tsc.stderr}`);
  fs.writeFileSync(
    path.join(outDir, 'bench-start.mjs'),
    `import fs from 'node:fs';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { loadConfigFile } from './config/load.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';
const stateDir = process.argv[2];
const configFile = path.join(stateDir, 'bench-config.yaml');
fs.writeFileSync(configFile, 'demo: true\\nlog:\\n  level: warn\\nmqtt:\\n  host: 127.0.0.1\\n  port: 0\\nhttp:\\n  port: 0\\n');
const loaded = loadConfigFile(configFile, { stateDir, httpPort: 0, mqttPort: 0 });
const delay = monitorEventLoopDelay({ resolution: 1 });
delay.enable();
const started = performance.now();
const gateway = await startGateway({ loaded, logger: createLogger('warn') });
const startMs = performance.now() - started;
delay.disable();
global.gc?.();
const { rss, heapUsed } = process.memoryUsage();
await gateway.stop();
console.log(JSON.stringify({ startMs, rss, heapUsed, maxLoopDelayMs: delay.max / 1e6 }));
`,
  );
  // Runs until killed, logging at info (the crash case waits for its background snapshot line).
  fs.writeFileSync(
    path.join(outDir, 'bench-run.mjs'),
    `import fs from 'node:fs';
import path from 'node:path';
import { loadConfigFile } from './config/load.js';
import { startGateway } from './gateway.js';
import { createLogger } from './logger.js';
const stateDir = process.argv[2];
const configFile = path.join(stateDir, 'bench-config.yaml');
fs.writeFileSync(configFile, 'demo: true\\nlog:\\n  level: info\\nmqtt:\\n  host: 127.0.0.1\\n  port: 0\\nhttp:\\n  port: 0\\n');
const loaded = loadConfigFile(configFile, { stateDir, httpPort: 0, mqttPort: 0 });
await startGateway({ loaded, logger: createLogger('info') });
console.log(JSON.stringify({ msg: 'bench gateway running' }));
`,
  );
  return outDir;
}

/** The compiled gateway left running (until SIGKILL): resolves its log lines as they come. */
function runCompiled(outDir: string, stateDir: string): { child: ChildProcess; line(match: (line: { msg?: string }) => boolean): Promise<Record<string, unknown>> } {
  const child = spawn(process.execPath, [path.join(outDir, 'bench-run.mjs'), stateDir], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] });
  const seen: Record<string, unknown>[] = [];
  let waiters: { match: (line: { msg?: string }) => boolean; resolve: (line: Record<string, unknown>) => void }[] = [];
  let buffer = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const lines = buffer.split('\n');
    buffer = lines.pop() ?? '';
    for (const text of lines) {
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as Record<string, unknown>;
      seen.push(line);
      waiters = waiters.filter((waiter) => (waiter.match(line) ? (waiter.resolve(line), false) : true));
    }
  });
  return {
    child,
    line: (match) => {
      const found = seen.find(match);
      if (found !== undefined) {
        seen.splice(seen.indexOf(found), 1);
        return Promise.resolve(found);
      }
      return new Promise((resolve, reject) => {
        child.once('exit', (code) => reject(new Error(`the bench gateway exited (${code}) before the awaited log line`)));
        waiters.push({ match, resolve: (line) => (seen.splice(seen.indexOf(line), 1), resolve(line)) });
      });
    },
  };
}

/**
 * Another process changes `count` people (each: a validity window on one card, so a real row
 * write, and decisions in the bench stay the same), as the CLI or plain SQL would.
 */
function changePeople(stateDir: string, count: number, cardholders: number, round: number): void {
  const other = Store.open(stateDir);
  try {
    const update = other.db.prepare('UPDATE credentials SET valid_until_ms = ? WHERE id = ?');
    other.db.transaction(() => {
      for (let k = 0; k < count; k++) update.run(Date.parse('2100-01-01T00:00:00Z') + round, `cred-${(round * 7919 + k * 104_729) % cardholders}-a`);
    })();
  } finally {
    other.close();
  }
}

/** The event loop's worst delay (ms) while `work` runs, and the work's own time. */
async function stallDuring(work: () => Promise<unknown>): Promise<{ maxMs: number; p99Ms: number; totalMs: number }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  const t = performance.now();
  await work();
  const totalMs = performance.now() - t;
  histogram.disable();
  return { maxMs: histogram.max / 1e6, p99Ms: histogram.percentile(99) / 1e6, totalMs };
}

interface GatewayStart {
  readonly startMs: number;
  readonly rss: number;
  readonly heapUsed: number;
  /** The event loop's worst delay during startGateway (a full read on worker threads leaves it free). */
  readonly maxLoopDelayMs: number;
}

function startCompiled(outDir: string, stateDir: string): GatewayStart | string {
  const child = spawnSync(process.execPath, ['--expose-gc', path.join(outDir, 'bench-start.mjs'), stateDir], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (child.status !== 0) return child.stderr.slice(0, 2000);
  return JSON.parse(child.stdout.trim().split('\n').at(-1) ?? '{}') as GatewayStart;
}

/** Writes the bench site with `cardholders` people into a store, people in batches. */
function writeSite(stateDir: string, cardholders: number): void {
  const store = Store.open(stateDir);
  try {
    store.importSiteData(siteData());
    const batch = 20_000;
    for (let from = 0; from < cardholders; from += batch) {
      const people = benchCardholders(from, Math.min(cardholders, from + batch));
      store.db.transaction(() => {
        for (const holder of people) writeCardholder(store, holder);
      })();
    }
    if (cardholders > 7) store.siteRules.replaceWatchList([{ cardholderId: 'holder-7', credentialId: null, reason: 'bench' }]);
  } finally {
    store.close();
  }
}

async function main(): Promise<void> {
  const cardholders = Number(values.cardholders);
  const decisions = Number(values.decisions);
  const kept = values['state-dir'];
  const stateDir = kept ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gp-access-bench-'));
  const floorDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-access-bench-floor-'));
  let outDir: string | undefined;
  try {
    console.log(`guardpost access bench — Node ${process.version}, ${os.cpus().length} CPU(s); ${cardholders.toLocaleString()} cardholders, ${(2 * cardholders).toLocaleString()} credentials, ${GROUPS} groups, ${DOORS} doors, ${SCHEDULES} schedules, ${LEVELS} access levels`);
    let t = performance.now();
    const reuse = kept !== undefined && fs.existsSync(path.join(stateDir, 'guardpost.db'));
    if (!reuse) writeSite(stateDir, cardholders);
    writeSite(floorDir, 0);
    console.log(reuse ? `site reused from ${stateDir}` : `import into SQLite: ${((performance.now() - t) / 1000).toFixed(1)} s (once per site, not per start)`);
    if (values['prepare-only'] === true) return;
    const store = Store.open(stateDir);

    // The card index two ways: read from the database (as after a change made while stopped), which
    // also writes the snapshot, then from that snapshot (as at an ordinary restart).
    const snapshotFile = path.join(stateDir, CARD_SNAPSHOT_FILE);
    fs.rmSync(snapshotFile, { force: true });
    const rssBefore = process.memoryUsage().rss;
    t = performance.now();
    // On one thread (the reference, and what a reload reading everyone cost the event loop before), then the snapshot.
    const fromDatabase = openCardIndex(store);
    const loadMs = performance.now() - t;
    t = performance.now();
    const saved = saveCardSnapshot(store, fromDatabase.cards);
    const saveMs = performance.now() - t;
    const snapshotBytes = fs.existsSync(snapshotFile) ? fs.statSync(snapshotFile).size : 0;
    t = performance.now();
    const fromSnapshot = openCardIndex(store);
    const snapshotMs = performance.now() - t;
    console.log(`card index from the database on one thread: ${(loadMs / 1000).toFixed(2)} s (then writing a ${mb(snapshotBytes)} snapshot ${(saveMs / 1000).toFixed(2)} s${saved === null ? '' : `; ${saved}`}${fromDatabase.note === null ? '' : `; ${fromDatabase.note}`}); from the snapshot: ${(snapshotMs / 1000).toFixed(2)} s (${fromSnapshot.from})`);
    const index = buildSiteIndex(store, fromSnapshot.cards);
    // The same full read on two worker threads, as a start without a usable snapshot and a reload that
    // must read everyone (a whole-site import that changed many people) now make it: its time, and the
    // event loop's worst delay meanwhile (the read on one thread above is the stall such a reload was).
    let offThread: CardIndex | undefined;
    const workers = await stallDuring(async () => {
      offThread = await readCardIndexOffThread(store);
    });
    t = performance.now();
    buildSiteIndex(store, offThread);
    const swapMs = performance.now() - t;
    const offThreadCounts = `${offThread?.cardholderCount ?? 0} people, ${offThread?.credentialCount ?? 0} credentials`;
    offThread = undefined;
    console.log(`card index from the database on two worker threads: ${(workers.totalMs / 1000).toFixed(2)} s (${offThreadCounts}; workers under tsx here), event loop max delay ${workers.maxMs.toFixed(1)} ms, rules rebuilt around it ${swapMs.toFixed(1)} ms`);

    // Another process changes people while the gateway runs: the stall is the synchronous catch-up
    // from the change log plus the rules rebuild (runtime.reloadRules), measured around the call.
    const changedStalls: { people: number; catchUpMs: number; ms: number; patched: string }[] = [];
    let round = 1;
    for (const people of [1, 100, 1000, Math.min(10_000, cardholders)]) {
      changePeople(stateDir, people, cardholders, round++);
      const started = performance.now();
      const caught = catchUpCardIndex(store, fromSnapshot.cards);
      const catchUpMs = performance.now() - started;
      buildSiteIndex(store, fromSnapshot.cards);
      changedStalls.push({ people, catchUpMs, ms: performance.now() - started, patched: caught.kind === 'patched' ? `${caught.cardholders} re-read` : caught.kind });
    }
    // The background snapshot of that index (as after those changes): event-loop delay while it is written,
    // beside the same loop idle for as long (the floor).
    const idle = await stallDuring(() => sleep(1000));
    const background = await stallDuring(() => writeCardSnapshotInBackground(snapshotFile, fromSnapshot.cards, snapshotStampOf(store, fromSnapshot.cards.generation ?? 0), () => true).done);
    fromSnapshot.cards.snapshotGeneration = fromSnapshot.cards.generation;
    // A start from that snapshot with 1% of the people changed since (another process, the gateway stopped).
    const changedSince = Math.max(1, Math.floor(cardholders / 100));
    changePeople(stateDir, changedSince, cardholders, round++);
    t = performance.now();
    const caughtUp = openCardIndex(store);
    const caughtUpMs = performance.now() - t;
    saveCardSnapshot(store, caughtUp.cards);
    // [SEC-CARD-DIGEST] the index is keyed by card digests: the access path digests each read first.
    const digests = store.cardDigests!;
    store.close();
    const access = index.access;
    // The floor: a plain Map of every credential key, as the index would be without compaction.
    const floorMap = new Map<string, { id: number }>();
    for (let i = 0; i < 2 * cardholders; i++) floorMap.set(String(10_000_000 + i), { id: i });

    const random = rng(2);
    const numbers = Array.from({ length: 1 << 16 }, () => (random() < 0.9 ? String(10_000_000 + Math.floor(random() * 2 * cardholders)) : String(90_000_000 + Math.floor(random() * 1e6))));
    const doors = Array.from({ length: 1 << 16 }, () => `door-${Math.floor(random() * DOORS)}`);
    const baseMs = Date.parse('2025-06-02T08:00:00Z');
    const times = Array.from({ length: 1 << 16 }, () => baseMs + Math.floor(random() * 7 * 24 * 3600) * 1000);
    const keys = numbers.map((number) => digests.ofCard(number));
    const rules = emptyRuleState();
    const mask = (1 << 16) - 1;

    // Warm-up, then interleaved blocks so machine noise hits both rows alike.
    let granted = 0;
    for (let i = 0; i < 50_000; i++) decide({ doorId: doors[i & mask] ?? '', credential: { kind: 'card', digest: digests.ofCard(numbers[i & mask] ?? '') } }, access, times[i & mask] ?? 0, NORMAL_CONDITIONS, rules);
    const decideNs = new Float64Array(decisions);
    const digestNs = new Float64Array(decisions);
    const floorNs = new Float64Array(decisions);
    let sink = 0;
    const blocks = 10;
    const perBlock = Math.floor(decisions / blocks);
    for (let block = 0; block < blocks; block++) {
      for (let k = 0; k < perBlock; k++) {
        const i = block * perBlock + k;
        const number = numbers[i & mask] ?? '';
        const start = process.hrtime.bigint();
        if (floorMap.get(canonicalCardNumber(number)) !== undefined) sink++;
        floorNs[i] = Number(process.hrtime.bigint() - start);
      }
      for (let k = 0; k < perBlock; k++) {
        const i = block * perBlock + k;
        const start = process.hrtime.bigint();
        const decision = decide({ doorId: doors[i & mask] ?? '', credential: { kind: 'card', digest: keys[i & mask] ?? '' } }, access, times[i & mask] ?? 0, NORMAL_CONDITIONS, rules);
        decideNs[i] = Number(process.hrtime.bigint() - start);
        applyEffects(rules, decision.effects);
        if (decision.granted) granted++;
      }
      // A read as the access path takes it: the digest of the number, then decide().
      for (let k = 0; k < perBlock; k++) {
        const i = block * perBlock + k;
        const start = process.hrtime.bigint();
        const decision = decide({ doorId: doors[i & mask] ?? '', credential: { kind: 'card', digest: digests.ofCard(numbers[i & mask] ?? '') } }, access, times[i & mask] ?? 0, NORMAL_CONDITIONS, rules);
        digestNs[i] = Number(process.hrtime.bigint() - start);
        applyEffects(rules, decision.effects);
      }
    }
    t = performance.now();
    for (let i = 0; i < decisions; i++) decide({ doorId: doors[i & mask] ?? '', credential: { kind: 'card', digest: digests.ofCard(numbers[i & mask] ?? '') } }, access, times[i & mask] ?? 0, NORMAL_CONDITIONS, rules);
    const throughput = decisions / ((performance.now() - t) / 1000);
    global.gc?.();
    const indexRss = process.memoryUsage().rss - rssBefore;

    const d = summary(decideNs.subarray(0, blocks * perBlock));
    const f = summary(floorNs.subarray(0, blocks * perBlock));
    const h = summary(digestNs.subarray(0, blocks * perBlock));
    console.log(`decide() p50 ${d.p50.toFixed(2)} µs p99 ${d.p99.toFixed(2)} µs; floor p50 ${f.p50.toFixed(2)} µs p99 ${f.p99.toFixed(2)} µs (the table follows the gateway starts)`);
    floorMap.clear();
    outDir = compileGateway();
    const empty = startCompiled(outDir, floorDir);
    // First start after people changed while stopped (database read), then an ordinary restart (snapshot).
    fs.rmSync(snapshotFile, { force: true });
    const cold = startCompiled(outDir, stateDir);
    const started = startCompiled(outDir, stateDir);
    // Stopped, 1% of the people changed by another process, started again: snapshot + change log.
    changePeople(stateDir, changedSince, cardholders, round++);
    const changedStart = startCompiled(outDir, stateDir);
    // A crash: the gateway runs, people change (another process), it writes its background
    // snapshot, then it is killed (-9) and started again.
    const running = runCompiled(outDir, stateDir);
    await running.line((line) => line.msg === 'bench gateway running');
    changePeople(stateDir, 100, cardholders, round++);
    await running.line((line) => line.msg === 'card index: people changed elsewhere re-read from the change log');
    const written = await running.line((line) => line.msg === 'card index snapshot written');
    running.child.kill('SIGKILL');
    await new Promise((resolve) => running.child.once('exit', resolve));
    const afterCrash = startCompiled(outDir, stateDir);

    const panel = cardholders >= 1_000_000;
    const verdict = (ok: boolean): string => (ok ? 'OK' : 'MISSED');
    console.log('');
    console.log('row                         p50 µs   p99 µs   mean µs');
    console.log(`decide()                 ${d.p50.toFixed(2).padStart(8)} ${d.p99.toFixed(2).padStart(8)} ${d.mean.toFixed(2).padStart(9)}`);
    console.log(`card digest + decide()   ${h.p50.toFixed(2).padStart(8)} ${h.p99.toFixed(2).padStart(8)} ${h.mean.toFixed(2).padStart(9)}`);
    console.log(`floor: Map.get            ${f.p50.toFixed(2).padStart(8)} ${f.p99.toFixed(2).padStart(8)} ${f.mean.toFixed(2).padStart(9)}`);
    console.log('');
    console.log(`decisions: ${blocks * perBlock} timed (${granted} granted), throughput ${Math.round(throughput).toLocaleString()} decisions/s untimed (floor sink ${sink})`);
    console.log(`p99 ${d.p99.toFixed(2)} µs (target < 20): ${verdict(d.p99 < 20)}; with the card digest ${h.p99.toFixed(2)} µs: ${verdict(h.p99 < 20)};  ratio p99 to floor ${(d.p99 / Math.max(f.p99, 0.001)).toFixed(1)} (target ≤ 30): ${verdict(d.p99 / Math.max(f.p99, 0.001) <= 30)}`);
    console.log(`card index load: from the database ${(loadMs / 1000).toFixed(2)} s on one thread (${(workers.totalMs / 1000).toFixed(2)} s on two worker threads, event loop max ${workers.maxMs.toFixed(1)} ms), from the snapshot ${(snapshotMs / 1000).toFixed(2)} s${panel ? ` (target < 10 s): ${verdict(snapshotMs < 10_000)}` : ''};  card index ${mb(index.cards.byteSize)} off the JS heap;  bench process RSS growth ${mb(indexRss)}`);
    console.log(`card index from the snapshot + ${changedSince.toLocaleString()} people changed since (1%): ${(caughtUpMs / 1000).toFixed(2)} s (${caughtUp.from}, ${caughtUp.changedSince} re-read${caughtUp.note === null ? '' : `; ${caughtUp.note}`})`);
    console.log(`people changed by another process while running, the event loop stalled for (catch-up from the change log; + the rules rebuild every external commit costs): ${changedStalls.map((stall) => `${stall.people} people ${stall.catchUpMs.toFixed(1)} ms; ${stall.ms.toFixed(1)} ms (${stall.patched})`).join(', ')}`);
    console.log(`background snapshot write: ${(background.totalMs / 1000).toFixed(2)} s; event-loop delay meanwhile max ${background.maxMs.toFixed(1)} ms, p99 ${background.p99Ms.toFixed(1)} ms (floor: idle loop max ${idle.maxMs.toFixed(1)} ms, p99 ${idle.p99Ms.toFixed(1)} ms)`);
    if (typeof started === 'string' || typeof empty === 'string' || typeof cold === 'string' || typeof changedStart === 'string' || typeof afterCrash === 'string') console.log(`gateway start: FAILED ${[started, cold, empty, changedStart, afterCrash].filter((run) => typeof run === 'string').join('\n')}`);
    else {
      const rssTarget = panel ? 600 : 150;
      const startTargetMs = panel ? 10_000 : 2000;
      console.log(`gateway start with this site: ${(started.startMs / 1000).toFixed(2)} s from the snapshot (target < ${startTargetMs / 1000} s): ${verdict(started.startMs < startTargetMs)}; ${(cold.startMs / 1000).toFixed(2)} s reading the database on worker threads${panel ? ` (target < 10 s): ${verdict(cold.startMs < 10_000)}` : ''}, event loop max delay meanwhile ${cold.maxLoopDelayMs.toFixed(0)} ms (floor: empty site ${(empty.startMs / 1000).toFixed(2)} s, ${empty.maxLoopDelayMs.toFixed(0)} ms)`);
      console.log(`gateway start after 1% of the people changed while stopped: ${(changedStart.startMs / 1000).toFixed(2)} s; after a crash (killed once its background snapshot at generation ${String(written.generation)} was written): ${(afterCrash.startMs / 1000).toFixed(2)} s`);
      console.log(`gateway RSS ${mb(started.rss)} (target < ${rssTarget} MB): ${verdict(started.rss < rssTarget * 1024 * 1024)}, JS heap in use ${mb(started.heapUsed)}; after a database read ${mb(cold.rss)} (floor: empty site ${mb(empty.rss)} RSS, ${mb(empty.heapUsed)} heap)`);
    }
  } finally {
    if (outDir !== undefined) fs.rmSync(outDir, { recursive: true, force: true });
    fs.rmSync(floorDir, { recursive: true, force: true });
    if (kept === undefined) fs.rmSync(stateDir, { recursive: true, force: true });
    else console.log(`state dir kept for the next run: ${stateDir}`);
  }
}

await main();
