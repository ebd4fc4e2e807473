/**
 * Site data at panel scale (issue 4): whole-site import, export and the cardholder list.
 * Run with `npm run bench -- siteData` or `npx tsx bench/siteData.bench.ts [--cardholders N] [--state-dir DIR]`.
 *
 * - A site file of N cardholders (default 100,000; 2 cards each, 1–3 of 500 groups, 200 doors)
 *   is written as YAML (as a site kept as code would be), then imported by the compiled CLI
 *   (`guardpost import`, as an admin runs it): wall time and peak RSS (/usr/bin/time). Then the
 *   same file again (nothing changed), and its dry run.
 * - The compiled gateway is started on that state dir; an admin exports the site (JSON, then
 *   YAML) reading the body as it comes: time, bytes, the gateway's peak RSS while exporting
 *   (sampled from /proc every 20 ms) beside its RSS before, and the longest /healthz round trip
 *   while the export runs (requests one after another: what a stalled event loop would make
 *   everyone wait) beside the longest idle round trip measured the same way (the floor).
 * - `GET /api/v1/cardholders` pages: offset 0, deep (the last page), sorted by name deep, a
 *   group, a card-number text search; each the first time (totals counted) and its median of 5.
 *   The last page by cursor (`after=`) beside the same by offset and page 1 (its floor), for each
 *   sort; `q` along the trigram index beside the card filter (its floor: one indexed lookup).
 * - The first import is repeated into a store without the text search triggers (its floor).
 * - `--state-dir DIR` keeps the site (the import of 2,000,000 people takes minutes) and reuses it.
 * Exits 0 whatever the figures: a benchmark is never a CI gate.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { parseArgs } from 'node:util';
import { stringify } from 'yaml';
import { hashSecret } from '../src/auth/passwords.js';
import type { SiteData } from '../src/config/siteSchema.js';
import { SiteExportStream, yamlSequenceItem } from '../src/site/siteExportStream.js';
import { Store } from '../src/store/index.js';
import { benchDoors, repoRoot, startGatewayProcess, stopGatewayProcess } from './support.js';

const { values } = parseArgs({
  options: {
    cardholders: { type: 'string', default: '100000' },
    'state-dir': { type: 'string' },
    /** With a kept state dir: measure exports and lists only (the imports of 2,000,000 people take ~18 minutes). */
    'skip-imports': { type: 'boolean', default: false },
  },
});
const cardholders = Number(values.cardholders);
const GROUPS = 500;
const DOORS = 200;
const ADMIN = { user: 'bench-admin', password: 'bench-admin-password' };

const mb = (bytes: number): string => `${(bytes / 1024 / 1024).toFixed(0)} MB`;
const seconds = (ms: number): string => `${(ms / 1000).toFixed(2)} s`;

function rules(): Omit<SiteData, 'cardholders'> {
  const doorId = (i: number): string => `door-${i}`;
  return {
    site: { id: 'bench', name: 'Bench site', timezone: 'Europe/London' },
    ...benchDoors(DOORS),
    groups: Array.from({ length: GROUPS }, (_, i) => ({ id: `group-${i}`, name: `Group ${i}`, doors: [doorId(i % DOORS), doorId((i * 7) % DOORS)].filter((door, k, all) => all.indexOf(door) === k) })),
    doorGroups: [],
    schedules: [],
    holidays: [],
    accessLevels: [],
    threatLevels: [],
    areas: [],
    watchList: [{ cardholder: 'holder-7', reason: 'bench' }],
    wiegandFormats: [],
    zones: [],
    cameras: [],
    panicButtons: [],
    alarms: { escalation: [] },
  } as unknown as Omit<SiteData, 'cardholders'>;
}

/** Person i of the bench site, with card numbers (the import digests them). */
function person(i: number): Record<string, unknown> {
  const groups = [`group-${i % GROUPS}`, `group-${(i * 31) % GROUPS}`, `group-${(i * 97) % GROUPS}`].slice(0, 1 + (i % 3)).filter((group, k, all) => all.indexOf(group) === k);
  return {
    id: `holder-${i}`,
    name: `Cardholder ${i}`,
    status: i % 50 === 0 ? 'suspended' : 'active',
    groups,
    credentials: [
      { id: `cred-${i}-a`, card: String(10_000_000 + 2 * i), status: 'active' },
      { id: `cred-${i}-b`, card: String(10_000_001 + 2 * i), status: i % 10 === 0 ? 'lost' : 'active' },
    ],
  };
}

/** The site file, written a person at a time (the bench never holds the site either). */
function writeSiteFile(file: string): number {
  const fd = fs.openSync(file, 'w');
  try {
    const { site, devices, doors, groups, ...rest } = rules();
    fs.writeSync(fd, stringify({ site, devices, doors, groups }));
    fs.writeSync(fd, 'cardholders:\n');
    let chunk = '';
    for (let i = 0; i < cardholders; i++) {
      chunk += yamlSequenceItem(person(i));
      if (chunk.length > 1 << 20) {
        fs.writeSync(fd, chunk);
        chunk = '';
      }
    }
    fs.writeSync(fd, chunk);
    fs.writeSync(fd, stringify(rest));
  } finally {
    fs.closeSync(fd);
  }
  return fs.statSync(file).size;
}

/** The compiled CLI under /usr/bin/time: wall time, peak RSS, and what it printed. */
function cliTimed(args: string[]): { ms: number; peakRss: number; out: string; code: number | null } {
  const started = performance.now();
  const run = spawnSync('/usr/bin/time', ['-f', 'GP_BENCH_MAXRSS_KB=%M', process.execPath, path.join(repoRoot, 'dist/main.js'), ...args], { cwd: repoRoot, encoding: 'utf8', maxBuffer: 64 << 20 });
  const ms = performance.now() - started;
  const kb = /GP_BENCH_MAXRSS_KB=(\d+)/.exec(run.stderr)?.[1];
  return { ms, peakRss: Number(kb ?? 0) * 1024, out: `${run.stdout}${run.stderr.replace(/GP_BENCH_MAXRSS_KB=\d+\n?/, '')}`.trim().slice(0, 400), code: run.status };
}

function rssOf(pid: number): number {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
}

/** Sequential /healthz round trips until `until` resolves: the longest one (ms) and how many. */
async function longestRoundTrip(base: string, until: Promise<unknown>): Promise<{ maxMs: number; count: number }> {
  let done = false;
  void until.finally(() => (done = true));
  let maxMs = 0;
  let count = 0;
  while (!done) {
    const t = performance.now();
    await (await fetch(`${base}/healthz`)).arrayBuffer();
    maxMs = Math.max(maxMs, performance.now() - t);
    count++;
  }
  return { maxMs, count };
}

async function main(): Promise<void> {
  const load = os.loadavg()[0]!.toFixed(1);
  const kept = values['state-dir'];
  const stateDir = kept ?? fs.mkdtempSync(path.join(os.tmpdir(), 'gp-sitedata-bench-'));
  fs.mkdirSync(stateDir, { recursive: true });
  const configFile = path.join(stateDir, 'bench-config.yaml');
  fs.writeFileSync(configFile, 'demo: false\nlog:\n  level: info\nmqtt:\n  host: 127.0.0.1\n  port: 0\nhttp:\n  port: 0\n');
  const siteFile = path.join(stateDir, `bench-site-${cardholders}.yaml`);
  console.log(`site data bench: ${cardholders.toLocaleString('en')} cardholders, state dir ${stateDir}, load average ${load}`);
  const rows: [string, string][] = [];

  spawnSync(process.execPath, [path.join(repoRoot, 'node_modules/typescript/bin/tsc'), '-p', path.join(repoRoot, 'tsconfig.build.json')], { cwd: repoRoot, stdio: 'inherit' });
  if (!fs.existsSync(siteFile)) {
    const t = performance.now();
    const bytes = writeSiteFile(siteFile);
    console.log(`site file written: ${mb(bytes)} in ${seconds(performance.now() - t)}`);
  }
  const reuse = kept !== undefined && fs.existsSync(path.join(stateDir, 'guardpost.db'));
  const cli = ['--config', configFile, '--state-dir', stateDir];
  if (!reuse) {
    const first = cliTimed(['import', siteFile, ...cli]);
    if (first.code !== 0) throw new Error(`import failed: ${first.out}`);
    rows.push(['import into an empty store (CLI)', `${seconds(first.ms)}, peak RSS ${mb(first.peakRss)}`]);
    // The floor of that import: the same into a store without the text search index's triggers
    // (migration 14), what the index costs a whole-site import.
    const bareDir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-sitedata-bench-bare-'));
    try {
      fs.copyFileSync(configFile, path.join(bareDir, 'bench-config.yaml'));
      const bare = Store.open(bareDir);
      try {
        for (const index of ['cardholders_search', 'credentials_search']) for (const op of ['insert', 'delete', 'update']) bare.db.exec(`DROP TRIGGER ${index}_${op}`);
      } finally {
        bare.close();
      }
      const floor = cliTimed(['import', siteFile, '--config', path.join(bareDir, 'bench-config.yaml'), '--state-dir', bareDir]);
      if (floor.code !== 0) throw new Error(`import failed: ${floor.out}`);
      rows.push(['… the same without the text search triggers (floor)', `${seconds(floor.ms)}, peak RSS ${mb(floor.peakRss)}; database ${mb(fs.statSync(path.join(bareDir, 'guardpost.db')).size)} vs ${mb(fs.statSync(path.join(stateDir, 'guardpost.db')).size)} with the index`]);
    } finally {
      fs.rmSync(bareDir, { recursive: true, force: true });
    }
  }
  if (!values['skip-imports']) {
    const again = cliTimed(['import', siteFile, ...cli]);
    rows.push(['import of the same file again (nothing changed)', `${seconds(again.ms)}, peak RSS ${mb(again.peakRss)} (${again.out.split('\n')[0]})`]);
    const empty = cliTimed(['import', '--dry-run', path.join(repoRoot, 'config/demo-site.yaml'), ...cli]);
    rows.push(['dry run of a site without these people (all deleted)', `${seconds(empty.ms)}, peak RSS ${mb(empty.peakRss)}, report ${empty.out.length} chars`]);
  }

  const store = Store.open(stateDir);
  try {
    if (store.users.get(ADMIN.user) === undefined) store.users.insert({ id: ADMIN.user, role: 'admin', passwordHash: await hashSecret(ADMIN.password), disabled: false, createdMs: Date.now() });
  } finally {
    store.close();
  }
  const gateway = await startGatewayProcess(configFile, stateDir);
  try {
    const base = `http://127.0.0.1:${gateway.httpPort}`;
    const login = (await (await fetch(`${base}/api/v1/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ user: ADMIN.user, password: ADMIN.password }) })).json()) as { token: string };
    const headers = { authorization: `Bearer ${login.token}` };
    const pid = gateway.child.pid!;
    console.log('gateway started; measuring');
    const idle = await longestRoundTrip(base, new Promise((resolve) => setTimeout(resolve, 2000)));
    rows.push(['gateway RSS before exporting', mb(rssOf(pid))]);
    rows.push(['longest /healthz round trip, idle (floor)', `${idle.maxMs.toFixed(1)} ms over ${idle.count} requests`]);

    for (const format of ['json', 'yaml'] as const) {
      const before = rssOf(pid);
      let peak = before;
      const sampler = setInterval(() => (peak = Math.max(peak, rssOf(pid))), 20);
      const t = performance.now();
      const exported = (async () => {
        const response = await fetch(`${base}/api/v1/site/export?format=${format}`, { headers });
        let bytes = 0;
        for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>) bytes += chunk.byteLength;
        return bytes;
      })();
      const stall = await longestRoundTrip(base, exported);
      const bytes = await exported;
      const ms = performance.now() - t;
      clearInterval(sampler);
      console.log(`export ${format} done`);
      rows.push([`export ${format.toUpperCase()}`, `${seconds(ms)}, ${mb(bytes)}, gateway RSS ${mb(before)} → peak ${mb(peak)}, longest /healthz meanwhile ${stall.maxMs.toFixed(1)} ms (${stall.count} requests)`]);
    }

    const timed = async (what: string, url: string) => {
      const samples: number[] = [];
      let total = '';
      for (let i = 0; i < 6; i++) {
        const t = performance.now();
        const response = await fetch(`${base}${url}`, { headers });
        await response.arrayBuffer();
        samples.push(performance.now() - t);
        total = response.headers.get('x-total-count') ?? '';
      }
      const rest = samples.slice(1).sort((a, b) => a - b);
      rows.push([`list ${what}`, `first ${samples[0]!.toFixed(1)} ms, then median ${rest[2]!.toFixed(1)} ms (total ${total})`]);
    };
    await timed('page 1 (site file order)', '/api/v1/cardholders?limit=100');
    await timed('last page (site file order)', `/api/v1/cardholders?limit=100&offset=${cardholders - 100}`);
    await timed('sorted by name, last page', `/api/v1/cardholders?limit=100&sort=name&offset=${cardholders - 100}`);
    await timed('sorted by -id, page 1', '/api/v1/cardholders?limit=100&sort=-id');
    await timed('group filter, page 1', '/api/v1/cardholders?limit=100&group=group-7');
    await timed('status=suspended sorted by name', '/api/v1/cardholders?limit=100&status=suspended&sort=name');
    await timed('text search (q=holder-12345)', '/api/v1/cardholders?limit=100&q=holder-12345');
    await timed('card filter (digest index)', `/api/v1/cardholders?card=${10_000_000 + 2 * 1234}`);

    // Issue 4, panel scale: the last page by cursor (keyset) beside the same page by offset and
    // beside page 1 (the floor: what a page costs when nothing is skipped).
    const measure = async (url: string) => {
      const samples: number[] = [];
      let response: Response | undefined;
      for (let i = 0; i < 6; i++) {
        const t = performance.now();
        response = await fetch(`${base}${url}`, { headers });
        await response.arrayBuffer();
        samples.push(performance.now() - t);
      }
      const rest = samples.slice(1).sort((a, b) => a - b);
      return { ms: rest[2]!, first: samples[0]!, total: response!.headers.get('x-total-count') ?? '', next: response!.headers.get('x-next-cursor') };
    };
    const ms = (value: number): string => `${value.toFixed(1)} ms`;
    for (const [label, sort] of [['site file order', ''], ['by name', '&sort=name'], ['by -id', '&sort=-id'], ['by status', '&sort=status']] as const) {
      const floor = await measure(`/api/v1/cardholders?limit=100${sort}`);
      const byOffset = await measure(`/api/v1/cardholders?limit=100${sort}&offset=${cardholders - 100}`);
      const before = await measure(`/api/v1/cardholders?limit=100${sort}&offset=${cardholders - 200}`);
      const byCursor = await measure(`/api/v1/cardholders?limit=100${sort}&after=${encodeURIComponent(before.next ?? '')}`);
      rows.push([`list last page ${label}, by cursor vs by offset`, `cursor ${ms(byCursor.ms)}, offset ${ms(byOffset.ms)}; page 1 (floor) ${ms(floor.ms)} (medians of 5)`]);
    }
    // Text search: along the trigram index (3+ characters) beside the card filter (the floor: one
    // person found along an index); a text most people hold; 2 characters (scanned, as before).
    const card = await measure(`/api/v1/cardholders?card=${10_000_000 + 2 * 1234}`);
    for (const q of ['holder-12345', 'Cardholder 1999', 'cred-777-b', 'holder-1', '45']) {
      const found = await measure(`/api/v1/cardholders?limit=100&q=${encodeURIComponent(q)}`);
      rows.push([`list q=${q}${[...q].length < 3 ? ' (scan)' : ' (trigram index)'}`, `${ms(found.ms)} (first ${ms(found.first)}, total ${found.total}); card filter (floor) ${ms(card.ms)}`]);
    }
  } finally {
    await stopGatewayProcess(gateway.child);
  }
  // The export's own event-loop stalls, in this process (no HTTP, no other load of the gateway):
  // the stream into a sink that takes one loop turn per chunk, as a socket would.
  for (const format of ['json', 'yaml'] as const) {
    const store = Store.open(stateDir);
    try {
      const histogram = monitorEventLoopDelay({ resolution: 1 });
      const t = performance.now();
      histogram.enable();
      await pipeline(new SiteExportStream(store, format), new Writable({ write: (_chunk, _encoding, done) => setImmediate(done) }));
      histogram.disable();
      rows.push([`export ${format.toUpperCase()} in process: event-loop delay`, `max ${(histogram.max / 1e6).toFixed(1)} ms, p99 ${(histogram.percentile(99) / 1e6).toFixed(1)} ms over ${seconds(performance.now() - t)}`]);
    } finally {
      store.close();
    }
  }
  console.log('');
  const width = Math.max(...rows.map(([label]) => label.length));
  for (const [label, value] of rows) console.log(`${label.padEnd(width)}  ${value}`);
  console.log(`load average at the end ${os.loadavg()[0]!.toFixed(1)}`);
  if (kept === undefined) fs.rmSync(stateDir, { recursive: true, force: true });
}

await main();
