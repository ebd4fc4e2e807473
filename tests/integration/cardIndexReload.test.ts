import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { Store } from '../../src/store/index.js';
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

  it('re-reads the people when another process changed a person', async () => {
    const cards = gw.gateway.runtime.site.cards;
    await fromAnotherProcess((store) => store.cardholders.upsertCredential({ id: 'ann-new', cardholderId: 'ann', kind: 'card', number: store.cardDigests!.ofCard('2002'), status: 'active', validFromMs: null, validUntilMs: null }, '****'));
    expect(gw.gateway.runtime.site.cards).not.toBe(cards);
    expect(await badge('2002')).toMatchObject({ type: 'access.granted', cardholder: 'ann' });
  });
});
