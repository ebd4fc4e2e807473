/**
 * The journal under another process's write lock [JRN-LOCKED] (issue 4). Run with
 * `npm run bench -- journalLocked` or `npx tsx bench/journalLocked.bench.ts --appends 20000`.
 *
 * 1. Append cost: `Journal.append` (the short busy wait set around its insert, and back) against
 *    the floor of the same row inserted by a bare prepared statement on the same connection, in
 *    interleaved blocks so machine noise hits both alike.
 * 2. The event loop while a second real connection holds `BEGIN IMMEDIATE` for `--hold-ms`: an
 *    event is appended every millisecond and `monitorEventLoopDelay` records how long the loop
 *    stalls; the floor is the same run with nobody holding the lock. Then how long after the
 *    release the backlog is written. `--old` adds one append with the connection's 5 s wait
 *    (the behaviour before: the loop frozen 5 s, then the event lost).
 *
 * Exits 0 whatever the figures (a benchmark is never a CI gate), 1 only if an event is missing.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseArgs } from 'node:util';
import Database from 'better-sqlite3';
import { Journal } from '../src/journal/journal.js';
import { DATABASE_FILE, openDatabase } from '../src/store/db.js';
import { latencyTable, summarise } from './support.js';

const { values } = parseArgs({
  options: {
    appends: { type: 'string', default: '20000' },
    blocks: { type: 'string', default: '10' },
    'hold-ms': { type: 'string', default: '2000' },
    old: { type: 'boolean', default: false },
  },
});
const APPENDS = Number(values.appends);
const BLOCKS = Number(values.blocks);
const HOLD_MS = Number(values['hold-ms']);

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-bench-journal-'));
const db = openDatabase(dir);
const journal = new Journal(db, 'bench');
const bare = db.prepare('INSERT INTO events (id, time_ms, type, severity, site, door, device, cardholder, reason, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)');
let bareId = 0;
const event = { type: 'access.granted', door: 'main-entrance', device: 'main-entrance-reader', cardholder: 'alice-adams', reason: 'granted', data: { card: '…01', credential: 'alice-card' } } as const;

// 1. Append cost, interleaved blocks.
const journalSamples: bigint[] = [];
const bareSamples: bigint[] = [];
const toggleSamples: bigint[] = [];
// What the journal adds around its insert, alone: the short wait set and the connection's set back.
const short = db.prepare('PRAGMA busy_timeout = 10');
const back = db.prepare('PRAGMA busy_timeout = 5000');
short.run();
back.run();
const perBlock = Math.max(1, Math.floor(APPENDS / BLOCKS));
for (let block = 0; block < BLOCKS + 1; block++) {
  const warm = block === 0;
  for (let i = 0; i < perBlock; i++) {
    const t0 = process.hrtime.bigint();
    journal.append(event);
    const t1 = process.hrtime.bigint();
    bare.run(`bare-${bareId++}`, Date.now(), event.type, 'info', 'bench', event.door, event.device, event.cardholder, event.reason, JSON.stringify(event.data));
    const t2 = process.hrtime.bigint();
    short.run();
    back.run();
    const t3 = process.hrtime.bigint();
    if (!warm) {
      journalSamples.push(t1 - t0);
      bareSamples.push(t2 - t1);
      toggleSamples.push(t3 - t2);
    }
  }
}
const journalCost = summarise(journalSamples);
const bareCost = summarise(bareSamples);
console.log(`append cost (${journalSamples.length} each, ${BLOCKS} interleaved blocks; load average ${os.loadavg().map((v) => v.toFixed(2)).join(' ')})`);
console.log(latencyTable([['Journal.append', journalCost], ['bare INSERT (floor)', bareCost], ['busy_timeout set and reset', summarise(toggleSamples)]]));
console.log(`ratio p50 ${(journalCost.p50 / bareCost.p50).toFixed(2)}, p99 ${(journalCost.p99 / bareCost.p99).toFixed(2)}\n`);

// 2. The event loop while a foreign connection holds the write lock.
async function appendEveryMs(durationMs: number): Promise<{ stall: ReturnType<typeof summarise>; appended: string[] }> {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  const appended: string[] = [];
  histogram.enable();
  const startMs = Date.now();
  while (Date.now() - startMs < durationMs) {
    appended.push(journal.append(event).id);
    await sleep(1);
  }
  histogram.disable();
  const ns = [histogram.percentile(50), histogram.percentile(90), histogram.percentile(99), histogram.max].map((v) => BigInt(Math.round(v)));
  return { stall: { n: histogram.count, p50: Number(ns[0]) / 1e3, p90: Number(ns[1]) / 1e3, p99: Number(ns[2]) / 1e3, max: Number(ns[3]) / 1e3 }, appended };
}

const free = await appendEveryMs(HOLD_MS);
const foreign = new Database(path.join(dir, DATABASE_FILE));
foreign.exec('BEGIN IMMEDIATE');
const locked = await appendEveryMs(HOLD_MS);
const pendingAtRelease = journal.backlogStatus().pending;
const releasedAt = process.hrtime.bigint();
foreign.exec('COMMIT');
while (journal.backlogStatus().pending > 0) await sleep(1);
const drainMs = Number(process.hrtime.bigint() - releasedAt) / 1e6;
console.log(`event-loop delay while appending one event a millisecond for ${HOLD_MS} ms (µs)`);
console.log(latencyTable([['lock held by another connection', locked.stall], ['nobody holding it (floor)', free.stall]]));
console.log(`${pendingAtRelease} events waited; all written ${drainMs.toFixed(0)} ms after the release (retry backoff up to 500 ms); busy refusals ${journal.backlogStatus().busyTotal}`);

let missing = 0;
const has = db.prepare<[string], { seq: number }>('SELECT seq FROM events WHERE id = ?');
let lastSeq = 0;
for (const id of [...free.appended, ...locked.appended]) {
  const row = has.get(id);
  if (row === undefined) missing++;
  else if (row.seq <= lastSeq) missing++;
  else lastSeq = row.seq;
}
console.log(missing === 0 ? 'every event written, in append order' : `${missing} events missing or out of order`);

if (values.old) {
  const old = new Journal(db, 'bench', Date.now, { busyWaitMs: 5_000 });
  foreign.exec('BEGIN IMMEDIATE');
  const t0 = process.hrtime.bigint();
  old.append(event);
  console.log(`with the connection's 5 s wait (the behaviour before), one append held the loop ${(Number(process.hrtime.bigint() - t0) / 1e6).toFixed(0)} ms`);
  foreign.exec('ROLLBACK');
  await old.drain(1_000);
}

foreign.close();
db.close();
fs.rmSync(dir, { recursive: true, force: true });
process.exitCode = missing === 0 ? 0 : 1;
