import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { Store } from '../../src/store/index.js';
import { finished, spawnGuardpost } from '../support/cli.js';
import { connect, connectDevice, startTestGateway, tempDir, type TestClient, type TestGateway } from '../support/gateway.js';

/**
 * [ACC-INDEX] Another process (the CLI on a running gateway's state directory) changes site data:
 * the gateway re-reads the rules, and re-reads the people only when people changed.
 */

const SITE_YAML = `
site: { id: reload, name: Reload, timezone: UTC }
devices:
  - { id: lobby-reader, kind: reader }
  - { id: lobby-strike, kind: strike }
doors:
  - { id: lobby, name: Lobby, reader: lobby-reader, strike: lobby-strike }
schedules:
  - { id: never, name: Never, intervals: [] }
accessLevels:
  - { id: lobby-never, name: Lobby never, doors: [lobby], schedule: never }
groups:
  - { id: staff, name: Staff, accessLevels: [lobby-never] }
cardholders:
  - { id: ann, name: Ann, groups: [staff], credentials: [{ card: "1001" }] }
`;

describe('site data changed by another process', () => {
  let gw: TestGateway;
  let observer: TestClient;
  let reader: TestClient;

  beforeAll(async () => {
    gw = await startTestGateway({ stateDir: tempDir(), configYaml: 'demo: true', siteYaml: SITE_YAML });
    observer = await connect(gw.mqttUrl);
    await observer.subscribe('guardpost/events');
    reader = await connectDevice(gw.mqttUrl, 'lobby-reader');
  });
  afterAll(async () => {
    await Promise.all([observer, reader].map((client) => client.end()));
    await gw.stop();
  });

  async function badge(card: string): Promise<JournalEvent> {
    const after = observer.mark();
    await reader.publish('guardpost/devices/lobby-reader/input', JSON.stringify({ type: 'card', card }));
    return observer.nextEvent((event) => event.type.startsWith('access.'), after);
  }

  /** Writes with a second connection, as `guardpost` run from a shell would, and awaits the gateway's config.changed. */
  async function fromAnotherProcess(write: (store: Store) => void): Promise<void> {
    const after = observer.mark();
    const other = Store.open(gw.stateDir);
    try {
      write(other);
    } finally {
      other.close();
    }
    await observer.nextEvent((event) => event.type === 'config.changed' && event.data.by === 'another process', after);
  }

  it('takes a schedule change without re-reading the people, on the next read', async () => {
    expect(await badge('1001')).toMatchObject({ type: 'access.denied', reason: 'outside_schedule' });
    const cards = gw.gateway.runtime.site.cards;
    await fromAnotherProcess((store) => store.schedules.upsert({ id: 'never', name: 'Always now', intervals: [{ days: [1, 2, 3, 4, 5, 6, 7], startMinute: 0, endMinute: 0 }], holidayCalendarIds: [], holidayIntervals: [] }));
    expect(gw.gateway.runtime.site.cards).toBe(cards);
    expect(await badge('1001')).toMatchObject({ type: 'access.granted', cardholder: 'ann' });
  });

  it('re-reads only the person another process changed, from the change log, keeping the card index', async () => {
    const cards = gw.gateway.runtime.site.cards;
    const reads = vi.spyOn(gw.gateway.store.cardholders, 'readForIndex');
    const scans = vi.spyOn(gw.gateway.store.cardholders, 'scanForIndex');
    await fromAnotherProcess((store) => store.cardholders.upsertCredential({ id: 'ann-new', cardholderId: 'ann', kind: 'card', digest: store.cardDigests!.ofCard('2002'), status: 'active', validFromMs: null, validUntilMs: null }, '****'));
    expect(gw.gateway.runtime.site.cards).toBe(cards);
    expect(scans).not.toHaveBeenCalled();
    expect(reads.mock.calls.map(([id]) => id)).toEqual(['ann']);
    expect(await badge('2002')).toMatchObject({ type: 'access.granted', cardholder: 'ann' });
    reads.mockRestore();
    scans.mockRestore();
  });

  it('reads every person again on a worker thread when the change log cannot say who changed, and decides on that read once it is in', async () => {
    const cards = gw.gateway.runtime.site.cards;
    const scans = vi.spyOn(gw.gateway.store.cardholders, 'scanForIndex');
    const after = observer.mark();
    const other = Store.open(gw.stateDir);
    try {
      other.db.transaction(() => {
        other.cardholders.upsertCredential({ id: 'ann-third', cardholderId: 'ann', kind: 'card', digest: other.cardDigests!.ofCard('3003'), status: 'active', validFromMs: null, validUntilMs: null }, '****');
        // Someone "tidies" the change log by hand: it no longer says who changed.
        other.db.prepare('DELETE FROM people_changes').run();
      })();
    } finally {
      other.close();
    }
    await observer.nextEvent((event) => event.type === 'config.changed' && event.data.what === 'people read again in the background', after, 15_000);
    expect(scans).not.toHaveBeenCalled(); // not on the event loop's thread
    expect(gw.gateway.runtime.site.cards).not.toBe(cards);
    const warning = gw.logs.find((line) => line.includes('the people change log no longer holds every change'));
    expect(warning).toBeDefined();
    expect(await badge('3003')).toMatchObject({ type: 'access.granted', cardholder: 'ann' });
    expect(await badge('2002')).toMatchObject({ type: 'access.granted', cardholder: 'ann' });
    scans.mockRestore();
  }, 30_000);

  it('applies a `guardpost import` run by another process while it runs, re-reading only the people the import changed', async () => {
    const cards = gw.gateway.runtime.site.cards;
    const reads = vi.spyOn(gw.gateway.store.cardholders, 'readForIndex');
    const scans = vi.spyOn(gw.gateway.store.cardholders, 'scanForIndex');
    const file = path.join(gw.stateDir, 'edited-site.yaml');
    // Ann's card moves to Bob, a new cardholder; the schedule opens.
    fs.writeFileSync(
      file,
      SITE_YAML.replace('intervals: []', 'intervals: [{ days: [mon, tue, wed, thu, fri, sat, sun], from: "00:00", to: "24:00" }]')
        .replace('{ id: ann, name: Ann, groups: [staff], credentials: [{ card: "1001" }] }', '{ id: ann, name: Ann, groups: [staff], credentials: [{ card: "1003" }] }\n  - { id: bob, name: Bob, groups: [staff], credentials: [{ card: "1001" }] }'),
    );
    const after = observer.mark();
    const result = await finished(spawnGuardpost(['import', file, '--config', path.join(gw.stateDir, 'test-config.yaml'), '--state-dir', gw.stateDir]));
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    // The CLI may commit more than once (opening its store, then the import): await the reload that saw the import.
    for (let from = after; ; ) {
      const event = await observer.nextEvent((seen) => seen.type === 'config.changed' && seen.data.by === 'another process', from);
      if (gw.gateway.runtime.site.cards.generation === gw.gateway.store.cardholders.generation()) break;
      from = observer.received.findIndex((message, at) => at >= from && message.json.id === event.id) + 1;
    }
    expect(gw.gateway.runtime.site.cards).toBe(cards);
    expect(scans).not.toHaveBeenCalled();
    expect(new Set(reads.mock.calls.map(([id]) => id))).toEqual(new Set(['ann', 'bob']));
    expect(await badge('1001')).toMatchObject({ type: 'access.granted', cardholder: 'bob' });
    expect(await badge('1003')).toMatchObject({ type: 'access.granted', cardholder: 'ann' });
    expect(await badge('2002')).toMatchObject({ type: 'access.denied', reason: 'unknown_credential' });
    reads.mockRestore();
    scans.mockRestore();
  }, 30_000);
});
