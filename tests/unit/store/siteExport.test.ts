import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { maskedCard, maskedWiegand } from '../../../src/access/cardDigest.js';
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
      // Every field but the card numbers, which come back as their digests and masks [SEC-CARD-DIGEST].
      const digests = store.cardDigests!;
      const kept = { ...result.site, cardholders: result.site.cardholders.map((holder) => ({ ...holder, credentials: holder.credentials.map(({ card, wiegand, ...credential }) =>
        card !== undefined ? { ...credential, cardDigest: digests.seal(digests.ofCard(card)), masked: maskedCard(card) } : wiegand !== undefined ? { ...credential, wiegandDigest: digests.seal(digests.ofWiegand(wiegand.format, wiegand.facility, wiegand.number)), masked: maskedWiegand(wiegand.format, wiegand.facility, wiegand.number) } : credential) })) };
      expect(result.site.cardholders.some((holder) => holder.credentials.some((credential) => credential.card !== undefined))).toBe(true);
      expect(sorted(exported)).toEqual(sorted(kept as typeof exported));
      for (const holder of result.site.cardholders) for (const credential of holder.credentials) if (credential.card !== undefined) expect(JSON.stringify(exported)).not.toContain(`"${credential.card}"`);
      // And what is exported is a valid site file in its own right.
      expect(parseSiteData(exported).ok).toBe(true);
    } finally {
      store.close();
    }
  });
});
