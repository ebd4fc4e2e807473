import fs from 'node:fs';
import path from 'node:path';
import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parseSiteData } from '../../../src/config/load.js';
import { PIN_KEY_FILE, PinHasher } from '../../../src/store/pinKey.js';
import { Store } from '../../../src/store/index.js';
import { buildSiteIndex } from '../../../src/site/siteIndex.js';
import { decide } from '../../../src/access/decide.js';
import { repoRoot, tempDir } from '../../support/gateway.js';

const exampleYaml = (): unknown => {
  const doc = fs.readFileSync(path.join(repoRoot, 'docs/access-rules.md'), 'utf8');
  const block = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
  if (block === undefined) throw new Error('docs/access-rules.md has no yaml example');
  return parse(block) as unknown;
};

const problems = (raw: unknown): string[] => {
  const result = parseSiteData(raw);
  return result.ok ? [] : result.problems;
};

describe('access rules in site data', () => {
  it('accepts the example site of docs/access-rules.md, imports it, and decides on it', () => {
    const result = parseSiteData(exampleYaml());
    if (!result.ok) throw new Error(result.problems.join('\n'));
    const dir = tempDir();
    const store = Store.open(dir);
    try {
      store.importSiteData(result.site);
      const index = buildSiteIndex(store);
      const tuesdayAt = (iso: string): number => Date.parse(iso);
      const lab = (number: string, iso: string) => decide({ doorId: 'lab', credential: { kind: 'card', digest: store.cardDigests!.ofCard(number) } }, index.access, tuesdayAt(iso));
      expect(lab('acme-34:7:4242', '2026-06-02T08:00:00Z')).toMatchObject({ granted: true, cardholderId: 'tom' });
      expect(lab('acme-34:7:4242', '2026-06-02T19:00:00Z')).toMatchObject({ granted: false, reason: 'outside_schedule' });
      expect(lab('acme-34:7:4242', '2026-06-02T23:00:00Z')).toMatchObject({ granted: true });
      expect(index.duressPinOffset).toBe(1);
      expect(index.wiegandFormats.map((format) => format.id)).toEqual(['acme-34', 'h10301', 'h10304', 'c1000-35']);
      // The PIN is kept only as a 32-byte keyed digest.
      const rows = store.db.prepare<[], { pin_digest: Buffer }>('SELECT pin_digest FROM cardholder_pins').all();
      expect(rows).toHaveLength(1);
      expect(rows[0]?.pin_digest).toEqual(PinHasher.forStateDir(dir).digest('2468'));
      expect(fs.readFileSync(path.join(dir, 'guardpost.db')).includes(Buffer.from('2468'))).toBe(false);
    } finally {
      store.close();
    }
  });

  it.each<[string, (site: Record<string, any>) => void, string]>([
    ['an access level naming an unknown schedule', (site) => (site.accessLevels[0].schedule = 'never'), 'accessLevels[0].schedule: unknown schedule "never"'],
    ['a group naming an unknown access level', (site) => (site.groups[0].accessLevels = ['nope']), 'groups[0].accessLevels[0]: unknown access level "nope"'],
    ['a credential with both a card and a Wiegand number', (site) => (site.cardholders[0].credentials[0].wiegand = { format: 'h10301', facility: 1, number: 2 }), 'cardholders[0].credentials[0]: give exactly one of card or wiegand (or, as exported, cardDigest or wiegandDigest)'],
    ['a Wiegand credential in an unknown format', (site) => (site.cardholders[0].credentials[1].wiegand.format = 'h99999'), 'cardholders[0].credentials[1].wiegand.format: unknown Wiegand format "h99999"'],
    ['a scheduled-unlock door without its schedule', (site) => delete site.doors[0].unlockSchedule, 'doors[0].unlockSchedule: a scheduled-unlock door needs an unlockSchedule'],
    ['a redefined normal threat level', (site) => (site.threatLevels[1].id = 'normal'), 'threatLevels[1].id: "normal" is built in: list only the raised levels'],
    ['a door in two areas', (site) => site.areas.push({ id: 'annex', name: 'Annex', entryDoors: ['front'] }), 'areas[1].entryDoors[0]: door "front" already leads into or out of areas[0]'],
    ['a watch-list entry naming nobody', (site) => (site.watchList[0] = { reason: 'x' }), 'watchList[0]: give exactly one of cardholder or credential'],
    ['a custom format whose field lies outside the frame', (site) => (site.wiegandFormats[0].card.length = 20), 'wiegandFormats[0].card: bits 17-36 lie beyond the 34-bit frame'],
    ['a holiday that is not a calendar date', (site) => (site.holidays[0].dates[0] = '2026-02-30'), 'holidays[0].dates[0]: "2026-02-30" is not a calendar date'],
    ['an interval that starts and ends together', (site) => (site.schedules[0].intervals[0].to = '08:00'), 'schedules[0].intervals[0].to: an interval cannot start and end at the same time (for all day use 00:00 to 24:00)'],
    ['a duress PIN equal to the PIN', (site) => (site.cardholders[0].duressPin = '2468'), 'cardholders[0].duressPin: the duress PIN must differ from the PIN'],
  ])('refuses %s, naming where', (_what, change, expected) => {
    const site = exampleYaml() as Record<string, any>;
    change(site);
    expect(problems(site)).toContain(expected);
  });

  it('refuses a PIN given as a number and never echoes it', () => {
    const site = exampleYaml() as Record<string, any>;
    site.cardholders[0].pin = 2468;
    const found = problems(site);
    expect(found.some((problem) => problem.startsWith('cardholders[0].pin:'))).toBe(true);
    expect(found.join('\n')).not.toContain('2468');
  });
});

describe('the site PIN key', () => {
  it('is created once with mode 0600 and reused', () => {
    const dir = tempDir();
    const first = PinHasher.forStateDir(dir);
    expect(fs.statSync(path.join(dir, PIN_KEY_FILE)).mode & 0o777).toBe(0o600);
    expect(PinHasher.forStateDir(dir).digest('1234')).toEqual(first.digest('1234'));
    expect(PinHasher.withKey(Buffer.alloc(32, 1)).digest('1234')).not.toEqual(first.digest('1234'));
  });

  it('is refused when others can read it', () => {
    const dir = tempDir();
    PinHasher.forStateDir(dir);
    fs.chmodSync(path.join(dir, PIN_KEY_FILE), 0o644);
    expect(() => PinHasher.forStateDir(dir)).toThrow(/pin\.key: its mode is 644; it must be readable by the gateway's user only/);
  });
});
