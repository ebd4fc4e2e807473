import Database from 'better-sqlite3';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LockdownService } from '../../../src/doors/lockdown.js';
import { realTimers } from '../../../src/doors/timers.js';
import { GuardpostError } from '../../../src/errors.js';
import { Journal } from '../../../src/journal/index.js';
import { Store } from '../../../src/store/index.js';

const dirs: string[] = [];
const stores: Store[] = [];
afterEach(() => {
  for (const store of stores.splice(0)) store.close();
  for (const dir of dirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
});

function setup(dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-lockdown-'))) {
  dirs.push(dir);
  const store = Store.open(dir);
  stores.push(store);
  const journal = new Journal(store.db, 'demo', () => 0);
  const changes: string[][] = [];
  const zones = new Map([['secure-area', ['server-room']], ['ground-floor', ['main-entrance', 'server-room']]]);
  const service = new LockdownService({ store, journal, clock: () => 0, zones: () => zones, doors: () => ['main-entrance', 'server-room'], onChange: (doors) => changes.push([...doors].sort()), timers: realTimers });
  service.start();
  return { dir, store, journal, service, changes };
}

const sam = { via: 'api', by: 'sam-security' } as const;

describe('lockdowns', () => {
  it('locks a zone, then the site, and releases each on its own', () => {
    const { service, changes } = setup();
    service.lock({ scope: 'zone', zone: 'secure-area' }, sam, null);
    service.lock({ scope: 'site' }, sam, 'intruder');
    expect(changes.at(-1)).toEqual(['main-entrance', 'server-room']);
    service.release({ scope: 'site' }, sam, null);
    expect(changes.at(-1)).toEqual(['server-room']);
    service.release({ scope: 'zone', zone: 'secure-area' }, sam, null);
    expect(changes.at(-1)).toEqual([]);
  });

  it('journals each lockdown and release with who asked, in the same transaction as the saved state', () => {
    const { service, journal } = setup();
    service.lock({ scope: 'door', door: 'server-room' }, sam, 'maintenance');
    service.release({ scope: 'door', door: 'server-room' }, { via: 'mqtt', by: 'kim' }, null);
    const events = journal.query({ limit: 10, afterSeq: 0 });
    expect(events.map((event) => [event.type, event.door, event.data.by])).toEqual([
      ['door.lockdown', 'server-room', 'sam-security'],
      ['door.lockdown_released', 'server-room', 'kim'],
    ]);
  });

  it('keeps lockdowns over a restart', () => {
    const first = setup();
    first.service.lock({ scope: 'zone', zone: 'secure-area' }, sam, null);
    first.store.close();
    const second = setup(first.dir);
    expect([...second.service.doors()]).toEqual(['server-room']);
    expect(second.changes[0]).toEqual(['server-room']);
  });

  it('leaves threat-level lockdowns to the threat level', () => {
    const { service } = setup();
    service.setThreatLockdowns([{ scope: 'zone', zone: 'secure-area' }], sam, null);
    expect(() => service.release({ scope: 'zone', zone: 'secure-area' }, sam, null)).toThrow('locked down by the threat level');
    // A manual lockdown of the same zone stands on its own.
    service.lock({ scope: 'zone', zone: 'secure-area' }, sam, null);
    service.setThreatLockdowns([], sam, null);
    expect([...service.doors()]).toEqual(['server-room']);
  });

  it('refuses an unknown zone or door by name', () => {
    const { service } = setup();
    expect(() => service.lock({ scope: 'zone', zone: 'attic' }, sam, null)).toThrow(new GuardpostError('GP_ERR_NOT_FOUND', 'no zone "attic"'));
    expect(() => service.lock({ scope: 'door', door: 'back-door' }, sam, null)).toThrow('no door "back-door"');
  });
});

describe('lockdowns while another process holds the write lock [SAFE-LOCKED]', () => {
  it('locks the doors down at once and saves the lockdown once the lock goes', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-lockdown-'));
    dirs.push(dir);
    const store = Store.open(dir);
    stores.push(store);
    const fired: (() => void)[] = [];
    const timers = { set: (callback: () => void) => fired.push(callback), clear: () => undefined };
    const logs: string[] = [];
    const logger = { error: (_fields: unknown, message: string) => logs.push(message), info: (message: string) => logs.push(message) } as never;
    const journal = new Journal(store.db, 'demo', () => 0, { timers });
    const changes: string[][] = [];
    const zones = new Map([['secure-area', ['server-room']]]);
    const service = new LockdownService({ store, journal, clock: () => 0, zones: () => zones, doors: () => ['main-entrance', 'server-room'], onChange: (doors) => changes.push([...doors].sort()), timers, logger });
    service.start();
    const other = new Database(store.db.name);
    other.exec('BEGIN IMMEDIATE');
    service.lock({ scope: 'zone', zone: 'secure-area' }, sam, 'armed intruder');
    expect(changes.at(-1)).toEqual(['server-room']);
    expect(service.unsavedList).toBe(true);
    expect(store.safety.condition('lockdowns')).toBeUndefined();
    expect(logs.at(-1)).toMatch(/^lockdown: another process holds the database's write lock; in force now, saved when the lock goes$/);
    // Still locked: tried again later.
    fired.shift()!();
    expect(service.unsavedList).toBe(true);
    other.exec('COMMIT');
    other.close();
    while (fired.length > 0) fired.shift()!();
    expect(service.unsavedList).toBe(false);
    expect(store.safety.condition('lockdowns')).toMatchObject([{ target: { scope: 'zone', zone: 'secure-area' }, reason: 'armed intruder' }]);
    expect(journal.query({ type: 'door.lockdown', limit: 10 })).toHaveLength(1);
  });

  it('leaves nothing changed in memory when a caller\'s own transaction cannot be written', () => {
    const { store, service, journal, changes } = setup();
    const other = new Database(store.db.name);
    store.db.pragma('busy_timeout = 0');
    other.exec('BEGIN IMMEDIATE');
    expect(() => journal.durableTransaction(() => service.lock({ scope: 'site' }, sam, null))).toThrow(/database is locked/);
    expect(service.list()).toEqual([]);
    expect(changes.at(-1) ?? []).toEqual([]);
    other.exec('COMMIT');
    other.close();
  });
});
