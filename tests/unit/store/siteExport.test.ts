import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { parseSiteData } from '../../../src/config/load.js';
import { Store } from '../../../src/store/index.js';
import { exportSiteData } from '../../../src/store/siteExport.js';
import { demoSiteFile } from '../../support/gateway.js';

describe('exporting site data', () => {
  it('gives back exactly the demo site that was imported, so every field survives the store', () => {
    const result = parseSiteData(parse(fs.readFileSync(demoSiteFile, 'utf8')));
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const store = Store.open(fs.mkdtempSync(path.join(os.tmpdir(), 'gp-export-')));
    try {
      store.importSiteData(result.site);
      const exported = exportSiteData(store);
      const byId = <T extends { id: string }>(items: T[]): T[] => [...items].sort((a, b) => a.id.localeCompare(b.id));
      const sorted = (site: typeof exported) => ({
        ...site,
        devices: byId(site.devices),
        doors: byId(site.doors),
        groups: byId(site.groups).map((group) => ({ ...group, doors: [...group.doors].sort() })),
        cardholders: byId(site.cardholders).map((holder) => ({ ...holder, groups: [...holder.groups].sort() })),
      });
      expect(sorted(exported)).toEqual(sorted(result.site));
      // And what is exported is a valid site file in its own right.
      expect(parseSiteData(exported).ok).toBe(true);
    } finally {
      store.close();
    }
  });
});
