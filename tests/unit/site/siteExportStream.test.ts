import fs from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { parseSiteData } from '../../../src/config/load.js';
import type { SiteCardholder } from '../../../src/config/siteSchema.js';
import { fastYamlSequenceItem, SiteExportStream, siteExportChunks, yamlSequenceItem } from '../../../src/site/siteExportStream.js';
import { Store } from '../../../src/store/index.js';
import { exportSiteData, SiteReadSnapshot } from '../../../src/store/siteExport.js';
import { writeCardholder } from '../../../src/store/siteWrites.js';
import { demoSiteFile, tempDir } from '../../support/gateway.js';

/** The demo site plus `extra` people written through the import's writers, some with awkward names. */
function demoStore(extra: number): Store {
  const result = parseSiteData(parse(fs.readFileSync(demoSiteFile, 'utf8')));
  if (!result.ok) throw new Error(result.problems.join('\n'));
  const store = Store.open(tempDir());
  store.importSiteData(result.site);
  const names = ['Zoë Ångström', "Seán O'Brien", 'true', '- dash', 'Name: with colon', '#hash', 'x'.repeat(120), '  spaced', '007', 'Null', '*star', 'multi\nline'];
  store.db.transaction(() => {
    for (let i = 0; i < extra; i++) {
      writeCardholder(store, {
        id: `extra-${String(i).padStart(4, '0')}`,
        name: names[i % names.length]!,
        status: i % 7 === 0 ? 'suspended' : 'active',
        groups: i % 2 === 0 ? ['staff'] : [],
        credentials: [{ id: `extra-${i}-card`, card: String(50_000_000 + i), status: 'active', ...(i % 5 === 0 ? { validUntil: '2030-01-01T00:00:00.000Z' } : {}) }],
        ...(i % 11 === 0 ? { escort: { groups: ['staff'], withinSeconds: 30 } } : {}),
      } as SiteCardholder);
    }
  })();
  return store;
}

const whole = (snapshot: SiteReadSnapshot, format: 'json' | 'yaml', pageSize: number): string =>
  [...siteExportChunks(snapshot, format, pageSize)].map((chunk) => chunk.text).join('');

describe('the whole-site export, streamed [SITE-STREAM]', () => {
  it('writes byte for byte what serializing the whole site document at once wrote, in JSON and YAML, whatever the page size', () => {
    const store = demoStore(40);
    try {
      const site = exportSiteData(store);
      for (const pageSize of [1, 7, 1000]) {
        const snapshot = new SiteReadSnapshot(store);
        try {
          expect(whole(snapshot, 'json', pageSize)).toBe(JSON.stringify(site));
          expect(whole(snapshot, 'yaml', pageSize)).toBe(stringify(site));
        } finally {
          snapshot.close();
        }
      }
    } finally {
      store.close();
    }
  });

  it('writes a site without people as before (an empty cardholders list)', () => {
    const store = demoStore(0);
    try {
      store.db.exec(`DELETE FROM site_documents WHERE collection = 'cardholders'`);
      const snapshot = new SiteReadSnapshot(store);
      try {
        expect(whole(snapshot, 'yaml', 10)).toBe(stringify(exportSiteData(store)));
        expect(whole(snapshot, 'json', 10)).toBe(JSON.stringify(exportSiteData(store)));
      } finally {
        snapshot.close();
      }
    } finally {
      store.close();
    }
  });

  it('reads one moment of the site: people written while an export runs are not in it', async () => {
    const store = demoStore(30);
    try {
      const stream = new SiteExportStream(store, 'json', { pageSize: 5 });
      const chunks: Buffer[] = [];
      let wrote = false;
      stream.on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        if (wrote) return;
        wrote = true;
        // The gateway goes on writing through its own connection meanwhile.
        writeCardholder(store, { id: 'late-comer', name: 'Late Comer', status: 'active', groups: [], credentials: [] } as unknown as SiteCardholder);
        store.db.prepare(`DELETE FROM site_documents WHERE collection = 'cardholders' AND id = 'extra-0029'`).run();
      });
      await new Promise((resolve, reject) => stream.on('end', resolve).on('error', reject));
      const exported = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { cardholders: { id: string }[] };
      const ids = exported.cardholders.map((holder) => holder.id);
      expect(ids).toContain('extra-0029');
      expect(ids).not.toContain('late-comer');
      expect(ids).toHaveLength(4 + 30);
    } finally {
      store.close();
    }
  });
});

describe('a cardholder as YAML without the library', () => {
  const text = fc.oneof(
    fc.string(),
    fc.string({ unit: 'binary' }),
    fc.stringMatching(/^[A-Za-z*"'#:][A-Za-z0-9 .'":#*-]{0,90}$/),
    fc.constantFrom('true', 'No', 'null', '~', '2030-01-01T00:00:00.000Z', '12', '1e5', '0x1F', '.5', 'a: b', 'a #b', 'José', 'x - y', '******42', 'h10301:12:***45', '---', 'a:', '- a', '?', "it's", 'say "hi"'),
  );
  const holder = fc.record(
    {
      id: fc.stringMatching(/^[a-z0-9-]{1,64}$/),
      name: text,
      status: fc.constantFrom('active', 'suspended'),
      groups: fc.array(fc.stringMatching(/^[a-z0-9-]{1,20}$/), { maxLength: 4 }),
      credentials: fc.array(fc.record({ id: fc.stringMatching(/^[a-z0-9-]{1,30}$/), masked: fc.constantFrom('******42', '1234'), cardDigest: fc.constant('gpcd1:0123abcd:0123456789abcdef0123456789abcdef'), status: fc.constantFrom('active', 'lost'), validUntil: text }, { requiredKeys: ['id'] }), { maxLength: 3 }),
      escort: fc.record({ groups: fc.array(fc.stringMatching(/^[a-z]{1,8}$/)), withinSeconds: fc.integer({ min: 0, max: 1e9 }) }),
      extra: fc.jsonValue({ maxDepth: 2 }),
    },
    { requiredKeys: ['id', 'name'] },
  );

  it('is written without the library for an ordinary cardholder (digests, masks, timestamps)', () => {
    const holder = { id: 'ann', name: "Ann O'Neil", status: 'active', groups: ['staff'], credentials: [{ id: 'ann-card', cardDigest: 'gpcd1:0123abcd:0123456789abcdef0123456789abcdef', masked: '******42', validUntil: '2030-01-01T00:00:00.000Z' }], escort: { groups: [], withinSeconds: 30 } };
    expect(fastYamlSequenceItem(holder)).toBe(stringify({ cardholders: [holder] }).slice('cardholders:\n'.length));
  });

  it('is exactly what yaml writes for it inside the site document, for any document', () => {
    fc.assert(
      fc.property(holder, (value) => {
        const expected = stringify({ cardholders: [value] });
        expect(`cardholders:\n${yamlSequenceItem(value)}`).toBe(expected);
      }),
      { numRuns: 3000 },
    );
  });
});
