import fs from 'node:fs';
import http from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { parseSiteData } from '../../src/config/load.js';
import type { SiteCardholder } from '../../src/config/siteSchema.js';
import type { SiteExportProgress } from '../../src/site/siteExportStream.js';
import { Store } from '../../src/store/index.js';
import { exportSiteData } from '../../src/store/siteExport.js';
import { writeCardholder } from '../../src/store/siteWrites.js';
import { cli, finished, spawnGuardpost } from '../support/cli.js';
import type { JournalEvent } from '../../src/journal/index.js';
import { connect, connectDevice, demoConfigFile, demoSiteFile, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';

/** People beyond the demo's four: ~9 MB of JSON, more than the kernel buffers a stalled loopback socket. */
const EXTRA_PEOPLE = 30_000;

/** The demo site and many people, written before the gateway starts (it keeps a store that has site data). */
function bigSite(stateDir: string): void {
  const result = parseSiteData(parse(fs.readFileSync(demoSiteFile, 'utf8')));
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const store = Store.open(stateDir);
  try {
    store.importSiteData(result.site);
    store.db.transaction(() => {
      for (let i = 0; i < EXTRA_PEOPLE; i++) {
        writeCardholder(store, {
          id: `person-${String(i).padStart(6, '0')}`,
          name: `Person ${i} with a name long enough to weigh something`,
          status: 'active',
          groups: ['staff'],
          credentials: [{ id: `person-${i}-card`, card: String(60_000_000 + i), status: 'active' }, { id: `person-${i}-fob`, card: String(70_000_000 + i), status: 'active' }],
        } as SiteCardholder);
      }
    })();
  } finally {
    store.close();
  }
}

describe('site data of tens of thousands of people [SITE-STREAM] [SITE-LIST]', () => {
  let gw: TestGateway;
  let token: string;

  beforeAll(async () => {
    const stateDir = tempDir();
    bigSite(stateDir);
    gw = await startTestGateway({ stateDir });
    token = await gw.login();
  }, 120_000);
  afterAll(async () => {
    await gw?.stop();
  });

  /** A GET of the export whose body the test reads itself, chunk by chunk. */
  const openExport = (format: 'json' | 'yaml') =>
    new Promise<http.IncomingMessage>((resolve, reject) => {
      const request = http.get(`${gw.httpUrl}/api/v1/site/export?format=${format}`, { headers: { authorization: `Bearer ${token}` } }, resolve);
      request.on('error', reject);
    });
  // Paused in the handler: chunks parsed in the same tick would otherwise be emitted to nobody.
  const nextChunk = (response: http.IncomingMessage) =>
    new Promise<Buffer>((resolve, reject) =>
      response
        .once('data', (chunk: Buffer) => {
          response.pause();
          resolve(chunk);
        })
        .once('error', reject),
    );
  const readRest = (response: http.IncomingMessage, chunks: Buffer[]) =>
    new Promise<string>((resolve, reject) => {
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      response.once('error', reject);
      response.resume();
    });

  it('sends the first people while the last are still unread, and stops reading pages while a client does not read', async () => {
    const exports = gw.gateway.app.siteExports;
    const waiting = new Promise<SiteExportProgress>((resolve) => exports.once('waiting', resolve));
    const finished = new Promise<SiteExportProgress>((resolve) => exports.once('closed', resolve));
    const response = await openExport('json');
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-type']).toBe('application/json; charset=utf-8');
    const chunks = [await nextChunk(response)];
    response.pause();
    // The client reads nothing more: the export waits for it instead of piling the site up. The
    // HTTP front's buffers between the two take some pages first, so wait until the export has
    // read no further page over several round trips through the gateway.
    let stalled = await Promise.race([waiting, finished.then(() => null)]);
    for (let settled = false; !settled && stalled !== null; ) {
      for (let i = 0; i < 3; i++) expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
      const now = exports.progress()[0] ?? null;
      settled = now !== null && now.cardholders === stalled.cardholders;
      stalled = now;
    }
    expect(stalled, 'the export read the whole site while its client was not reading').not.toBeNull();
    const total = 4 + EXTRA_PEOPLE;
    expect(stalled!.cardholders).toBeLessThan(total / 2);

    const text = await readRest(response, chunks);
    const done = await finished;
    expect(done.cardholders).toBe(total);
    expect(exports.running).toBe(0);
    // What arrived is the whole site, exactly as the store holds it.
    const exported = JSON.parse(text) as ReturnType<typeof exportSiteData>;
    expect(exported.cardholders).toHaveLength(total);
    expect(exported.cardholders.at(-1)?.id).toBe(`person-${String(EXTRA_PEOPLE - 1).padStart(6, '0')}`);
    expect(text).toBe(JSON.stringify(exportSiteData(gw.gateway.store)));
  }, 60_000);

  it('lets go of its read snapshot when the client hangs up mid-export', async () => {
    const exports = gw.gateway.app.siteExports;
    const closed = new Promise<SiteExportProgress>((resolve) => exports.once('closed', resolve));
    const response = await openExport('yaml');
    expect(response.headers['content-type']).toBe('application/yaml; charset=utf-8');
    expect((await nextChunk(response)).toString('utf8')).toMatch(/^site:\n/);
    response.destroy();
    const progress = await closed;
    expect(progress.cardholders).toBeLessThan(4 + EXTRA_PEOPLE);
    expect(exports.running).toBe(0);
    // The gateway goes on answering, exports included.
    const again = await fetch(`${gw.httpUrl}/api/v1/site/export?format=yaml`, { headers: { authorization: `Bearer ${token}` } });
    const site = parse(await again.text()) as { cardholders: { id: string }[] };
    expect(site.cardholders).toHaveLength(4 + EXTRA_PEOPLE);
  }, 60_000);

  it('writes the same site file from the CLI while the gateway runs, whole or not at all', async () => {
    const file = path.join(tempDir(), 'site.yaml');
    const result = await cli('export', '--output', file, '--config', demoConfigFile, '--state-dir', gw.stateDir);
    expect(result).toMatchObject({ code: 0, err: [] });
    expect(fs.readFileSync(file, 'utf8')).toBe(stringify(exportSiteData(gw.gateway.store)));
    expect(fs.statSync(file).mode & 0o777).toBe(0o640);
    expect(fs.readdirSync(path.dirname(file))).toEqual(['site.yaml']);
  }, 60_000);

  /** Every person as the store holds them, for the expected order of a sorted list. */
  const everyone = () => gw.gateway.store.db.prepare<[], { id: string; name: string; status: string; position: number }>(`SELECT c.id, c.name, c.status, d.position FROM cardholders c JOIN site_documents d ON d.collection = 'cardholders' AND d.id = c.id`).all();
  const compare = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);
  const list = async (query: string) => {
    const response = await fetch(`${gw.httpUrl}/api/v1/cardholders?${query}`, { headers: { authorization: `Bearer ${token}` } });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { id: string; name: string; credentials: { card?: string }[] }[];
    return { ids: body.map((holder) => holder.id), body, total: Number(response.headers.get('x-total-count')), link: response.headers.get('link') };
  };

  it('pages, sorts and filters the cardholder list past the first page [SITE-LIST]', async () => {
    const people = everyone();
    const total = 4 + EXTRA_PEOPLE;
    // By name, descending, deep in the list: ties by id, as the store's index orders them.
    const byName = [...people].sort((a, b) => compare(b.name, a.name) || compare(b.id, a.id)).map((holder) => holder.id);
    const deep = await list('sort=-name&limit=50&offset=20000');
    expect(deep.total).toBe(total);
    expect(deep.ids).toEqual(byName.slice(20000, 20050));
    expect(deep.link).toBe('</api/v1/cardholders?sort=-name&limit=50&offset=20050>; rel="next"');
    // The site file's order (no sort) to its very end.
    const last = await list('limit=100&offset=29950');
    expect(last.ids).toEqual([...people].sort((a, b) => a.position - b.position || compare(a.id, b.id)).slice(29950).map((holder) => holder.id));
    expect(last.link).toBeNull();
    // A group, by id, past its first page; a status; cards shown masked.
    const staff = await list('group=it&sort=id&limit=2&offset=0');
    expect(staff).toMatchObject({ ids: ['bob-brown'], total: 1 });
    const inStaff = await list('group=staff&sort=id&limit=100&offset=15000');
    const staffIds = gw.gateway.store.db.prepare<[], string>(`SELECT cardholder_id FROM cardholder_groups WHERE group_id = 'staff' ORDER BY cardholder_id`).pluck().all();
    expect(inStaff.total).toBe(staffIds.length);
    expect(inStaff.ids).toEqual(staffIds.slice(15000, 15100));
    expect(inStaff.body[0]!.credentials[0]!.card).toMatch(/^\*+\d{2}$/);
    const bySuspended = await list('status=suspended&sort=name');
    expect(bySuspended.ids).toEqual(people.filter((holder) => holder.status === 'suspended').sort((a, b) => compare(a.name, b.name) || compare(a.id, b.id)).map((holder) => holder.id));
  });

  it('finds people by text and by card among tens of thousands [SITE-LIST]', async () => {
    const found = await list('q=PERSON%202999%20&sort=id');
    expect(found).toMatchObject({ ids: ['person-002999'], total: 1 });
    const prefix = await list('q=person-00299&sort=-id&limit=3');
    expect(prefix).toMatchObject({ ids: ['person-002999', 'person-002998', 'person-002997'], total: 10 });
    // A whole card number finds its holder through the digest index; the digits a mask shows find theirs.
    expect(await list(`card=${60_000_000 + 12_345}`)).toMatchObject({ ids: ['person-012345'], total: 1 });
    const masked = await list('q=45&sort=id&limit=1000');
    expect(masked.ids).toContain('person-012345');
  });

  /** What would show that anything changed: the audit log, the people generation, the people. */
  const fingerprint = () => {
    const { db } = gw.gateway.store;
    return {
      audit: db.prepare('SELECT count(*) FROM audit').pluck().get(),
      generation: gw.gateway.store.cardholders.generation(),
      people: db.prepare(`SELECT count(*) FROM cardholders`).pluck().get(),
      documents: db.prepare(`SELECT group_concat(id) FROM (SELECT id FROM site_documents WHERE collection = 'cardholders' ORDER BY position LIMIT 5 OFFSET 20000)`).pluck().get(),
    };
  };
  const exportFile = async () => {
    const file = path.join(tempDir(), 'site.yaml');
    expect((await cli('export', '--output', file, '--config', demoConfigFile, '--state-dir', gw.stateDir)).code).toBe(0);
    return { file, lines: fs.readFileSync(file, 'utf8').split('\n') };
  };
  const importFile = (file: string, ...flags: string[]) => cli('import', file, ...flags, '--config', demoConfigFile, '--state-dir', gw.stateDir);

  it('imports its own export back with no change, and reports a large change in counts and the first ids [SITE-IMPORT]', async () => {
    const { file, lines } = await exportFile();
    const before = fingerprint();
    expect(await importFile(file)).toMatchObject({ code: 0, out: ['no changes'] });
    expect(fingerprint()).toEqual(before);
    // 11,111 people named "Person 1…" renamed: a dry run counts them all and names the first thousand.
    fs.writeFileSync(file, lines.map((line) => line.replace(/^    name: Person 1/, '    name: Persona 1')).join('\n'));
    const dry = await importFile(file, '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toHaveLength(1);
    expect(dry.out[0]).toMatch(/^would be updated cardholders: person-000001, person-000010, .* and 10111 more \(11111 in all\)$/);
    expect(fingerprint()).toEqual(before);
  }, 120_000);

  it('refuses a bad person deep in a big file, naming the line, and changes nothing [SITE-IMPORT]', async () => {
    const { file, lines } = await exportFile();
    const before = fingerprint();
    // Person 25,000 (after the demo's four) joins a group the site does not have; person 10 appears twice.
    const at = lines.indexOf('  - id: person-025000');
    const group = lines.indexOf('      - staff', at);
    lines[group] = '      - no-such-group';
    const ten = lines.indexOf('  - id: person-000010');
    const copy = lines.slice(ten, lines.indexOf('  - id: person-000011'));
    const end = lines.findIndex((line, i) => i > at && /^[a-z]/.test(line));
    lines.splice(end, 0, ...copy.map((line) => line.replace(/person-10-(card|fob)/, 'person-10-$1-again')));
    fs.writeFileSync(file, lines.join('\n'));
    const result = await importFile(file);
    expect(result.code).toBe(1);
    expect(result.err).toContain(`${file}: line ${at + 1}, cardholders[25004].groups[0]: unknown group "no-such-group"`);
    expect(result.err.join('\n')).toContain(`line ${end + 1}, cardholders[30004].id: duplicate id "person-000010" (also at cardholders[14])`);
    expect(result.err[0]).toMatch(/unknown group "no-such-group"; and 1 more problem\(s\); nothing was changed$/);
    expect(fingerprint()).toEqual(before);
  }, 120_000);

  it('imports a change to every person from the CLI while the gateway runs, which decides and journals every badge meanwhile [SITE-IMPORT-SLICES]', async () => {
    const { file, lines } = await exportFile();
    fs.writeFileSync(file, lines.map((line) => line.replace(/^    name: Person /, '    name: Renamed person ')).join('\n'));
    const observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    const reader = await connectDevice(gw.mqttUrl, 'main-entrance-reader');
    // A gateway that waits at most 1 s for the write lock: one transaction for the whole import
    // held it for seconds, and the gateway's journal lost the badges that met it.
    const { db } = gw.gateway.store;
    const busyTimeoutMs = db.pragma('busy_timeout', { simple: true }) as number;
    db.pragma('busy_timeout = 1000');
    try {
      let done = false;
      const marked = observer.mark();
      // Another process, as an admin runs it beside the service.
      const importing = finished(spawnGuardpost(['import', file, '--config', demoConfigFile, '--state-dir', gw.stateDir])).then((result) => {
        done = true;
        return result;
      });
      const decided: JournalEvent[] = [];
      while (!done) {
        const after = observer.mark();
        await reader.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: '1001' }));
        decided.push(await observer.nextEvent((event) => event.type.startsWith('access.'), after, 10_000));
      }
      const result = await importing;
      expect(result).toMatchObject({ code: 0, stderr: '' });
      expect(result.stdout).toMatch(/^updated cardholders: person-000000, .* and 29000 more \(30000 in all\)\n$/);
      expect(decided.length).toBeGreaterThan(10);
      const journalled = gw.gateway.store.db.prepare<string[], number>(`SELECT count(*) FROM events WHERE id IN (${decided.map(() => '?').join(',')})`).pluck();
      expect(journalled.get(...decided.map((event) => event.id))).toBe(decided.length);
      expect(gw.gateway.store.db.prepare(`SELECT count(*) FROM cardholders WHERE name LIKE 'Renamed person %'`).pluck().get()).toBe(EXTRA_PEOPLE);
      // Hundreds of commits, journalled as the change's start and its end, not one a second.
      const ended = await observer.nextEvent((event) => event.type === 'config.changed' && event.data.by === 'another process' && typeof event.data.changes === 'number', marked, 10_000);
      expect(ended.data.changes).toBeGreaterThan(0);
      expect(observer.received.slice(marked).filter((message) => message.json.type === 'config.changed' && (message.json.data as { by?: string }).by === 'another process')).toHaveLength(2);
    } finally {
      db.pragma(`busy_timeout = ${busyTimeoutMs}`);
      await Promise.all([observer.end(), reader.end()]);
    }
  }, 180_000);
});

describe('a site file imported before the first start [SITE-IMPORT]', () => {
  it('fills a state directory that has no site data yet, which the gateway then starts from', async () => {
    const stateDir = tempDir();
    const result = await cli('import', demoSiteFile, '--config', demoConfigFile, '--state-dir', stateDir);
    expect(result.code, result.err.join('\n')).toBe(0);
    expect(result.out).toContain('created cardholders: alice-adams, bob-brown, carol-clark, dave-davis');
    const store = Store.open(stateDir);
    try {
      expect(store.hasSiteData()).toBe(true);
      expect(store.db.prepare(`SELECT count(*) FROM audit WHERE action = 'cardholder.created' AND actor = 'cli'`).pluck().get()).toBe(4);
      expect(store.cardholders.holderOfDigest('card', store.cardDigests!.ofCard('1001'))?.cardholderId).toBe('alice-adams');
    } finally {
      store.close();
    }
  });
});
