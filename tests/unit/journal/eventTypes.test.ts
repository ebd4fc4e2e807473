import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { EventTypes } from '../../../src/journal/events.js';
import { repoRoot } from '../../support/gateway.js';

describe('the event type catalogue', () => {
  it('defines each event type in exactly one domain file, so no severity silently overrides another', async () => {
    const dir = path.join(repoRoot, 'src/journal/types');
    const seen = new Map<string, string>();
    const duplicates: string[] = [];
    for (const file of fs.readdirSync(dir).filter((name) => name.endsWith('.ts'))) {
      const module = (await import(path.join(dir, file))) as Record<string, Record<string, string>>;
      for (const types of Object.values(module)) {
        for (const type of Object.keys(types)) {
          const other = seen.get(type);
          if (other !== undefined) duplicates.push(`${type} in ${other} and ${file}`);
          seen.set(type, file);
        }
      }
    }
    expect(duplicates).toEqual([]);
    expect([...seen.keys()].sort()).toEqual(Object.keys(EventTypes).sort());
  });

  it('names every type as domain.event in lowercase', () => {
    for (const type of Object.keys(EventTypes)) expect(type).toMatch(/^[a-z]+\.[a-z_]+$/);
  });
});
