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
import { cli } from '../support/cli.js';
import { demoConfigFile, demoSiteFile, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';

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

describe('the whole-site export at scale [SITE-STREAM]', () => {
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
  const nextChunk = (response: http.IncomingMessage) => new Promise<Buffer>((resolve, reject) => response.once('data', resolve).once('error', reject));
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
    // The client reads nothing more: the export waits for it instead of piling the site up.
    const stalled = await Promise.race([waiting, finished.then(() => null)]);
    expect(stalled, 'the export read the whole site while its client was not reading').not.toBeNull();
    const total = 4 + EXTRA_PEOPLE;
    expect(stalled!.cardholders).toBeLessThan(total / 2);
    // Several round trips through the gateway later, it has read no further page.
    for (let i = 0; i < 3; i++) expect((await fetch(`${gw.httpUrl}/healthz`)).status).toBe(200);
    expect(exports.progress().map((progress) => progress.cardholders)).toEqual([stalled!.cardholders]);

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
});
