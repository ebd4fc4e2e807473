import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { parse } from 'yaml';
import { parseSiteData } from '../../src/config/load.js';
import type { SiteCardholder } from '../../src/config/siteSchema.js';
import { CardholderListRepository } from '../../src/store/cardholderList.js';
import { Store } from '../../src/store/index.js';
import { writeCardholder } from '../../src/store/siteWrites.js';
import { cli } from '../support/cli.js';
import { demoConfigFile, demoSiteFile, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';

/** People beyond the demo's four: names repeat (ties broken by id), statuses and groups vary. */
const PEOPLE = 320;
const NAMES = ['Ann Archer', 'ben baker', 'Zoë Ångström', 'Ömer Çelik', 'Carla Díaz', 'Dan Dunn', 'Ed Ellis', 'Fay Fox'];

function person(i: number): SiteCardholder {
  return {
    id: `p-${String((i * 37) % PEOPLE).padStart(3, '0')}-${i}`,
    name: NAMES[i % NAMES.length]!,
    status: i % 7 === 0 ? 'suspended' : 'active',
    groups: i % 3 === 0 ? ['it'] : ['staff'],
    credentials: [{ id: `badge-${i}-x${i % 5}`, card: String(50_000_000 + i), status: 'active' }],
  } as SiteCardholder;
}

/** The demo site and the people, written before the gateway starts (it keeps a store that has site data). */
function seed(stateDir: string): void {
  const result = parseSiteData(parse(fs.readFileSync(demoSiteFile, 'utf8')));
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const store = Store.open(stateDir);
  try {
    store.importSiteData(result.site);
    store.db.transaction(() => {
      for (let i = 0; i < PEOPLE; i++) writeCardholder(store, person(i));
    })();
  } finally {
    store.close();
  }
}

describe('a site imported by the CLI [SITE-LIST]', () => {
  it('leaves the text search index holding its people, so no search after it has to catch up', async () => {
    const stateDir = tempDir();
    const result = await cli('import', demoSiteFile, '--config', demoConfigFile, '--state-dir', stateDir);
    expect(result.code, result.err.join('\n')).toBe(0);
    const store = Store.open(stateDir);
    try {
      expect(store.db.prepare('SELECT count(*) FROM cardholder_search_pending').pluck().get()).toBe(0);
      expect(store.db.prepare(`SELECT count(*) FROM cardholders_search WHERE cardholders_search MATCH '"ada"'`).pluck().get()).toBe(1);
      expect(store.cardholderList.page({ limit: 10, offset: 0, q: 'ADAMS' }).json.map((json) => (JSON.parse(json) as { id: string }).id)).toEqual(['alice-adams']);
    } finally {
      store.close();
    }
  });
});

describe('the cardholder list by cursor and its indexed text search [SITE-LIST]', () => {
  let gw: TestGateway;
  let headers: Record<string, string>;

  beforeAll(async () => {
    const stateDir = tempDir();
    seed(stateDir);
    gw = await startTestGateway({ stateDir });
    headers = await gw.adminHeaders();
  }, 60_000);
  afterAll(async () => {
    await gw?.stop();
  });

  const get = (query: string) => fetch(`${gw.httpUrl}/api/v1/cardholders?${query}`, { headers });
  const list = async (query: string) => {
    const response = await get(query);
    expect(response.status, await response.clone().text()).toBe(200);
    const body = (await response.json()) as { id: string; name: string }[];
    return { ids: body.map((holder) => holder.id), total: Number(response.headers.get('x-total-count')), next: response.headers.get('x-next-cursor'), link: response.headers.get('link') };
  };
  /** Every page by cursor, following X-Next-Cursor; `between` runs after each page. */
  const walk = async (query: string, between: (page: number, ids: string[]) => Promise<void> = async () => {}) => {
    const seen: string[] = [];
    let next: string | null = null;
    for (let page = 0; page < 1000; page++) {
      const answer = await list(`${query}${next === null ? '' : `&after=${encodeURIComponent(next)}`}`);
      seen.push(...answer.ids);
      if (answer.next === null) return seen;
      expect(answer.ids.length).toBeGreaterThan(0);
      // The Link header of a page asked by cursor continues by cursor.
      if (next !== null) expect(answer.link).toContain(`after=${encodeURIComponent(answer.next)}`);
      next = answer.next;
      await between(page, answer.ids);
    }
    throw new Error('the walk did not end');
  };

  for (const sort of ['', 'sort=id', 'sort=-id', 'sort=name', 'sort=-name', 'sort=status', 'sort=-status']) {
    it(`gives every person exactly once, in the offset list's order, walking by cursor ${sort === '' ? 'in the site file order' : sort}`, async () => {
      const whole = await list(`${sort}&limit=1000`);
      expect(whole.total).toBe(PEOPLE + 4);
      expect(whole.next).toBeNull();
      const walked = await walk(`${sort}&limit=7`);
      expect(walked).toEqual(whole.ids);
      expect(new Set(walked).size).toBe(PEOPLE + 4);
    });
  }

  it('orders ties in name by id in the sort\'s direction, across page boundaries', async () => {
    const byName = await walk('sort=name&limit=3');
    const anns = byName.filter((id) => id.startsWith('p-') && person(Number(id.split('-')[2])).name === 'Ann Archer');
    expect(anns).toEqual([...anns].sort());
    expect(anns).toHaveLength(PEOPLE / NAMES.length);
    const backwards = await walk('sort=-name&limit=3');
    expect(backwards).toEqual([...byName].reverse());
  });

  it('walks a filtered and searched list by cursor: a group, a status, a credential status, a text', async () => {
    for (const query of ['group=it&sort=name', 'status=suspended&sort=-id', 'status=active', 'credentialStatus=active&sort=-status', 'q=ann%20arch&sort=name', 'q=x3&sort=-name', 'group=staff&q=%C3%96MER']) {
      const whole = await list(`${query}&limit=1000`);
      expect(whole.ids.length, query).toBeGreaterThan(5);
      expect(await walk(`${query}&limit=4`), query).toEqual(whole.ids);
    }
  });

  it('skips and repeats nobody else when people are added and removed between pages', async () => {
    const before = (await list('sort=name&limit=1000')).ids;
    const removed: string[] = [];
    const added: string[] = [];
    const walked = await walk('sort=name&limit=10', async (page, ids) => {
      if (page === 2) {
        // The page's last person (the cursor's row), someone not yet reached, and newcomers on both sides.
        for (const id of [ids.at(-1)!, before.at(-20)!]) {
          expect((await fetch(`${gw.httpUrl}/api/v1/cardholders/${id}`, { method: 'DELETE', headers })).status).toBe(204);
          removed.push(id);
        }
        for (const [id, name] of [['new-early', 'Aaron Aardvark'], ['new-late', 'Zed Zulu']] as const) {
          const created = await fetch(`${gw.httpUrl}/api/v1/cardholders`, { method: 'POST', headers: { ...headers, 'content-type': 'application/json' }, body: JSON.stringify({ id, name, groups: ['staff'], credentials: [] }) });
          expect(created.status, await created.text()).toBe(201);
          added.push(id);
        }
      }
    });
    expect(new Set(walked).size).toBe(walked.length);
    // Everyone is met once, in order (the cursor's own row was shown before it was deleted); the
    // one deleted before being reached is not; the newcomer sorted after the cursor is met, the
    // one sorted before it is not (that part of the list was already passed).
    expect(walked.indexOf(removed[0]!)).toBe(29);
    expect(walked.filter((id) => !added.includes(id))).toEqual(before.filter((id) => id !== removed[1]));
    expect(walked).toContain('new-late');
    expect(walked).not.toContain('new-early');
    expect(walked).not.toContain(removed[1]);
  });

  it('refuses a changed, foreign or malformed cursor, and a cursor with an offset, with a 400 naming after', async () => {
    const { next } = await list('sort=name&limit=5');
    expect(next).not.toBeNull();
    const [payload, sum] = next!.split('.') as [string, string];
    const edited = Buffer.from(JSON.stringify({ ...JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')), k: ['Zed', 'zz'] })).toString('base64url');
    const cases: [string, RegExp][] = [
      [`sort=name&after=${edited}.${sum}`, /querystring\.after: the cursor was changed or cut short/],
      [`sort=name&after=${next!.slice(0, -3)}`, /querystring\.after: the cursor was changed or cut short/],
      [`sort=name&after=not-a-cursor`, /querystring\.after: not a list cursor/],
      [`sort=-name&after=${encodeURIComponent(next!)}`, /querystring\.after: the cursor continues a list sorted by sort=name, this request asks for one sorted by sort=-name/],
      [`after=${encodeURIComponent(next!)}`, /querystring\.after: the cursor continues a list sorted by sort=name, this request asks for one in the site file's order/],
      [`sort=name&offset=0&after=${encodeURIComponent(next!)}`, /either after \(a cursor\) or offset, not both/],
    ];
    for (const [query, message] of cases) {
      const response = await get(query);
      expect(response.status, query).toBe(400);
      const body = (await response.json()) as { code: string; message: string };
      expect(body.code).toBe('GP_ERR_BAD_REQUEST');
      expect(body.message).toMatch(message);
    }
    // The gateway goes on paging.
    expect((await list(`sort=name&limit=5&after=${encodeURIComponent(next!)}`)).ids).toHaveLength(5);
  });

  it('documents the cursor in the OpenAPI description of the list', async () => {
    const document = (await (await fetch(`${gw.httpUrl}/docs/json`)).json()) as { paths: Record<string, { get?: { description?: string; parameters?: { name: string; description?: string }[] } }> };
    const route = document.paths['/api/v1/cardholders']!.get!;
    expect(route.parameters?.find((parameter) => parameter.name === 'after')?.description).toMatch(/X-Next-Cursor/);
    expect(route.description).toMatch(/X-Next-Cursor holds an opaque cursor: pass it as after=/);
    // Only the cardholder list pages by cursor.
    expect(document.paths['/api/v1/doors']!.get!.parameters?.map((parameter) => parameter.name)).not.toContain('after');
  });

  it('keeps offset paging as it was, and gives its pages a cursor to continue from', async () => {
    const page = await list('sort=-id&limit=50&offset=100');
    expect(page.link).toBe('</api/v1/cardholders?sort=-id&limit=50&offset=150>; rel="next"');
    const rest = await list(`sort=-id&limit=50&after=${encodeURIComponent(page.next!)}`);
    expect(rest.ids).toEqual((await list('sort=-id&limit=50&offset=150')).ids);
  });

  it('answers the list and its searches from a thread of their own: the gateway\'s thread runs no list query', async () => {
    const onGatewayThread = vi.spyOn(CardholderListRepository.prototype, 'page');
    try {
      const searched = await list('q=%C3%A5NGstr%C3%B6&sort=name&limit=5');
      expect(searched.ids.length).toBeGreaterThan(0);
      const first = await list('sort=name&limit=5');
      expect((await list(`sort=name&limit=5&after=${encodeURIComponent(first.next!)}`)).ids).toEqual((await list('sort=name&limit=5&offset=5')).ids);
      expect(onGatewayThread).not.toHaveBeenCalled();
    } finally {
      onGatewayThread.mockRestore();
    }
  });

  it('finds substrings of names, ids and credential ids case-insensitively, non-ASCII names included', async () => {
    // The people still there (another test deletes some).
    const stored = new Set(gw.gateway.store.db.prepare<[], string>('SELECT id FROM cardholders').pluck().all());
    const everyone = Array.from({ length: PEOPLE }, (_, i) => person(i)).filter((holder) => stored.has(holder.id));
    const expectIds = (holders: SiteCardholder[]) => holders.map((holder) => holder.id).sort();
    expect((await list('q=%C3%A5NGstr%C3%B6&sort=id&limit=1000')).ids).toEqual(expectIds(everyone.filter((holder) => holder.name === 'Zoë Ångström')));
    expect((await list('q=%C3%B6MER%20%C3%A7&sort=id&limit=1000')).ids).toEqual(expectIds(everyone.filter((holder) => holder.name === 'Ömer Çelik')));
    expect((await list('q=BEN%20B&sort=id&limit=1000')).ids).toEqual(expectIds(everyone.filter((holder) => holder.name === 'ben baker')));
    expect((await list('q=-31-&sort=id')).ids).toEqual(expectIds(everyone.filter((holder) => holder.id.includes('-31-') || holder.credentials[0]!.id.includes('-31-'))));
    expect((await list('q=-031-&sort=id')).ids).toEqual(expectIds(everyone.filter((holder) => holder.id.includes('-031-'))));
    expect((await list('q=BADGE-17-X2&sort=id')).ids).toEqual([person(17).id]);
    expect((await list('q=BADGE-117-X2&sort=id')).ids).toEqual([person(117).id]);
    expect((await list('q=ROOM-nothing-like-it')).total).toBe(0);
    // Short texts (under three characters) are scanned for, with the same meaning.
    expect((await list('q=%C3%A7E&sort=id&limit=1000')).ids).toEqual(expectIds(everyone.filter((holder) => holder.name === 'Ömer Çelik')));
    expect((await list('q=x4&sort=id&limit=1000')).ids).toEqual(expectIds(everyone.filter((holder) => holder.credentials[0]!.id.endsWith('x4'))));
  });

  it('finds a person by a name, id or card id changed through the API, and no longer by the old ones', async () => {
    const holder = person(5);
    const put = await fetch(`${gw.httpUrl}/api/v1/cardholders/${holder.id}`, {
      method: 'PUT',
      headers: { ...headers, 'content-type': 'application/json' },
      body: JSON.stringify({ id: holder.id, name: 'Björn Østergård', status: 'active', groups: ['staff'], credentials: [{ id: 'renamed-badge-5', card: '77777777' }] }),
    });
    expect(put.status, await put.text()).toBe(200);
    expect((await list('q=%C3%98STERG')).ids).toEqual([holder.id]);
    expect((await list('q=renamed-BADGE')).ids).toEqual([holder.id]);
    expect((await list(`q=${holder.credentials[0]!.id}`)).total).toBe(0);
    // And the index agrees with the tables it covers.
    const { db } = gw.gateway.store;
    expect(() => db.exec(`INSERT INTO cardholders_search (cardholders_search, rank) VALUES ('integrity-check', 1)`)).not.toThrow();
    expect(() => db.exec(`INSERT INTO credentials_search (credentials_search, rank) VALUES ('integrity-check', 1)`)).not.toThrow();
  });
});
