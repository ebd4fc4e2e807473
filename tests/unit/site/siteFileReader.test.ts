import fs from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { readYamlFile } from '../../../src/config/yamlFile.js';
import { yamlSequenceItem } from '../../../src/site/siteExportStream.js';
import { fastYamlItem, readSiteFile } from '../../../src/site/siteFileReader.js';
import { demoSiteFile, tempDir } from '../../support/gateway.js';

const whole = (file: string) => {
  const content = readSiteFile(file);
  return { ...content.rules, cardholders: [...content.people].map((person) => person.raw), count: content.peopleCount };
};

describe('reading a site file a person at a time [SITE-IMPORT]', () => {
  it('reads the demo site exactly as reading it whole does', () => {
    const { count, ...site } = whole(demoSiteFile);
    expect(site).toEqual(readYamlFile(demoSiteFile, 'site'));
    expect(count).toBe((readYamlFile(demoSiteFile, 'site') as { cardholders: unknown[] }).cardholders.length);
  });

  it('reads people in any block layout, with comments, CRLF and sections after them, naming each person\'s line', () => {
    const file = path.join(tempDir(), 'site.yaml');
    const text = [
      '# a site',
      'site: { id: s, name: S, timezone: UTC }',
      'cardholders:',
      '# the people',
      '- id: ann',
      '  name: Ann',
      '  credentials:',
      '  - { id: ann-card, card: 0042 }',
      '',
      '- id: ben # a comment',
      '  name: "Ben: the second"',
      'groups:',
      '  - id: staff',
      '    name: Staff',
      '    doors: []',
    ].join('\r\n');
    fs.writeFileSync(file, text);
    const content = readSiteFile(file);
    const people = [...content.people];
    expect(people.map((person) => person.where)).toEqual(['line 5, cardholders[0]', 'line 10, cardholders[1]']);
    expect({ ...content.rules, cardholders: people.map((person) => person.raw) }).toEqual(readYamlFile(file, 'site'));
    // A card number stays as written.
    expect(people[0]!.raw).toMatchObject({ credentials: [{ card: '0042' }] });
  });

  it('reads a flow list or JSON whole, as before', () => {
    const dir = tempDir();
    for (const [name, text] of [['flow.yaml', 'site: { id: s, name: S, timezone: UTC }\ncardholders: [{ id: ann, name: Ann }]\n'], ['site.json', JSON.stringify({ site: { id: 's', name: 'S', timezone: 'UTC' }, cardholders: [{ id: 'ann', name: 'Ann' }] })]] as const) {
      const file = path.join(dir, name);
      fs.writeFileSync(file, text);
      const { count, ...site } = whole(file);
      expect(site).toEqual(readYamlFile(file, 'site'));
      expect(count).toBe(1);
    }
  });

  it('names the file line of a YAML error inside a person and after the people', () => {
    const dir = tempDir();
    const bad = path.join(dir, 'bad.yaml');
    fs.writeFileSync(bad, 'site: { id: s, name: S, timezone: UTC }\ncardholders:\n  - id: ann\n    name: Ann\n  - id: ben\n    name: [unclosed\ngroups: []\n');
    expect(() => [...readSiteFile(bad).people]).toThrow(/bad\.yaml: line 6/);
    const after = path.join(dir, 'after.yaml');
    fs.writeFileSync(after, 'site: { id: s, name: S, timezone: UTC }\ncardholders:\n  - id: ann\n    name: Ann\n  - id: ben\n    name: Ben\ngroups: [unclosed\n');
    expect(() => readSiteFile(after)).toThrow(/after\.yaml: line 7/);
  });
});

describe('the fast reader of an exported cardholder', () => {
  const text = fc.oneof(fc.string(), fc.string({ unit: 'binary' }), fc.constantFrom('true', 'No', 'null', '~', '2030-01-01T00:00:00.000Z', '12', '0012', '-3', '1e5', '0x1F', '.5', 'a: b', 'a #b', 'José', '******42', 'h10301:12:***45', '- a', "it's", 'say "hi"', 'x'.repeat(100)));
  const holder = fc.record(
    {
      id: fc.stringMatching(/^[a-z0-9-]{1,64}$/),
      name: text,
      status: fc.constantFrom('active', 'suspended'),
      groups: fc.array(fc.oneof(fc.stringMatching(/^[a-z0-9-]{1,20}$/), text), { maxLength: 4 }),
      credentials: fc.array(fc.record({ id: text, card: fc.oneof(text, fc.stringMatching(/^[0-9]{1,12}$/)), masked: text, status: fc.constantFrom('active', 'lost') }, { requiredKeys: ['id'] }), { maxLength: 3 }),
      escort: fc.record({ groups: fc.array(text, { maxLength: 2 }), withinSeconds: fc.integer() }),
      extra: fc.jsonValue({ maxDepth: 3 }),
    },
    { requiredKeys: ['id', 'name'] },
  );
  const yamlReads = (item: string): unknown => {
    // As readYamlFile reads it: a plain card number stays a string.
    const file = path.join(tempDir(), 'item.yaml');
    fs.writeFileSync(file, item);
    return (readYamlFile(file, 'item') as unknown[])[0];
  };

  it('reads what yaml reads, or declines, for anything the export writes', () => {
    fc.assert(
      fc.property(holder, (value) => {
        const item = yamlSequenceItem(value);
        const fast = fastYamlItem(item.replace(/\n$/, '').split('\n'), 2);
        if (fast !== undefined) expect(fast).toEqual(yamlReads(item));
      }),
      { numRuns: 1500 },
    );
  });

  it('reads an ordinary exported person itself, and declines what it does not know', () => {
    const person = { id: 'ann', name: "Ann O'Neil", status: 'active', groups: ['staff'], credentials: [{ id: 'ann-card', cardDigest: 'gpcd1:0123abcd:0123456789abcdef0123456789abcdef', masked: '******42', validUntil: '2030-01-01T00:00:00.000Z' }], escort: { groups: [], withinSeconds: 30 } };
    expect(fastYamlItem(yamlSequenceItem(person).trimEnd().split('\n'), 2)).toEqual(person);
    expect(parse(stringify([person]))).toEqual([person]);
    for (const odd of ['  - id: a\n    name: &x Ann', '  - id: a\n    name: |\n      Ann', '  - id: a\n    name: !!str 12', "  - id: a\n    name: 'Ann'", '  - id: a\n    name: Ann\n    name: Bob', '  - id: a\n    # note\n    name: Ann']) {
      expect(fastYamlItem(odd.split('\n'), 2), odd).toBeUndefined();
    }
  });
});
