import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ThreatService } from '../../../src/alarms/threat.js';
import { Journal } from '../../../src/journal/index.js';
import { Store } from '../../../src/store/index.js';

const cleanups: (() => void)[] = [];
afterEach(() => {
  for (const cleanup of cleanups.splice(0).reverse()) cleanup();
});

describe('the threat level while another process holds the write lock [SAFE-LOCKED]', () => {
  it('takes effect at once, and is saved and journalled once the lock goes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-threat-'));
    const store = Store.open(dir);
    cleanups.push(() => fs.rmSync(dir, { recursive: true, force: true }), () => store.close());
    store.safety.setThreatLevels([{ id: 'lockdown', name: 'Site lockdown', doors: [], lockdownZones: [], lockdownSite: true }]);
    const fired: (() => void)[] = [];
    const timers = { set: (callback: () => void) => fired.push(callback), clear: () => undefined };
    const journal = new Journal(store.db, 'demo', () => 0, { timers });
    const applied: string[] = [];
    const threat = new ThreatService({ store, journal, clock: () => 0, timers, apply: (level) => applied.push(level.id) });
    threat.start();
    const other = new Database(store.db.name);
    cleanups.push(() => other.close());
    other.exec('BEGIN IMMEDIATE');

    threat.set('lockdown', { via: 'button', by: 'reception-threat' }, 'armed intruder');
    expect(applied.at(-1)).toBe('lockdown');
    expect(threat.current().level).toBe('lockdown');
    expect(store.safety.condition('threatLevel')).toBeUndefined();

    other.exec('COMMIT');
    while (fired.length > 0) fired.shift()!();
    expect(store.safety.condition('threatLevel')).toMatchObject({ level: 'lockdown', reason: 'armed intruder' });
    expect(journal.query({ type: 'threat.changed', limit: 10 }).map((event) => event.data)).toEqual([expect.objectContaining({ from: 'normal', to: 'lockdown' })]);
  });
});
