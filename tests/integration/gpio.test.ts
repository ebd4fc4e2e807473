import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeGpio } from '../../src/transports/gpioFake.js';
import { connectDevice, startTestGateway, type TestClient, type TestGateway } from '../support/gateway.js';
import { nextJournalEvent } from '../support/journal.js';

const PANIC_PIN = 17;
const STRIKE_PIN = 22;
const CONTACT_PIN = 27;

const SITE = `
site: { id: gpio-site, name: GPIO test floor, timezone: Europe/London }
devices:
  - { id: desk-panic, kind: panic-button, driver: gpio-input, pin: ${PANIC_PIN}, activeLow: true, debounceMs: 5, location: Front desk }
  - { id: back-contact, kind: door-contact, driver: gpio-input, pin: ${CONTACT_PIN}, activeLow: true, debounceMs: 5 }
  - { id: back-reader, kind: reader }
  - { id: back-strike, kind: strike, driver: gpio-relay, pin: ${STRIKE_PIN}, activeLow: true }
doors:
  - { id: back, name: Back door, reader: back-reader, strike: back-strike, unlockMs: 150 }
groups:
  - { id: staff, name: Staff, doors: [back] }
cardholders:
  - { id: fred-fox, name: Fred Fox, groups: [staff], credentials: [{ card: "2001" }] }
`;

describe('GPIO devices: a panic button, a door contact and a relay strike (fake pins behind the pin interface)', () => {
  let gw: TestGateway;
  let gpio: FakeGpio;
  let reader: TestClient;

  beforeAll(async () => {
    gpio = new FakeGpio();
    gw = await startTestGateway({ gpio, siteYaml: SITE, configYaml: 'demo: true' });
    reader = await connectDevice(gw.mqttUrl, 'back-reader');
  });

  let stopped = false;
  afterAll(async () => {
    await reader?.end();
    if (!stopped) await gw?.stop();
  });

  const journal = () => gw.gateway.journal;

  it('starts the strike relay locked (inactive level) and reports the GPIO devices online', async () => {
    expect(gpio.written(STRIKE_PIN)).toEqual([1]); // active-low relay board: high = off
    for (const device of ['desk-panic', 'back-contact', 'back-strike']) {
      await nextJournalEvent(journal(), (event) => event.type === 'device.online' && event.device === device);
    }
  });

  it('raises an alarm when the panic button is pressed (contact closes to ground)', async () => {
    const after = journal().lastSeq();
    gpio.drive(PANIC_PIN, 0);
    const alarm = await nextJournalEvent(journal(), (event) => event.type === 'alarm.raised', after);
    expect(alarm).toMatchObject({ device: 'desk-panic', severity: 'critical', data: { location: 'Front desk' } });
    gpio.drive(PANIC_PIN, 1);
  });

  it('pulses the relay strike for the door unlock time when a staff card badges, then locks again', async () => {
    const mark = gpio.written(STRIKE_PIN).length;
    await reader.publish('guardpost/devices/back-reader/input', JSON.stringify({ type: 'card', card: '2001' }));
    await gpio.nextWrite(STRIKE_PIN, 0, mark); // energised (active low)
    const granted = await nextJournalEvent(journal(), (event) => event.type === 'access.granted' && event.door === 'back');
    expect(granted.cardholder).toBe('fred-fox');
    await gpio.nextWrite(STRIKE_PIN, 1, mark + 1); // released after unlockMs
    expect(gpio.written(STRIKE_PIN).slice(mark)).toEqual([0, 1]);
  });

  it('sends no strike for a refused card', async () => {
    const mark = gpio.written(STRIKE_PIN).length;
    const after = journal().lastSeq();
    await reader.publish('guardpost/devices/back-reader/input', JSON.stringify({ type: 'card', card: '9999' }));
    await nextJournalEvent(journal(), (event) => event.type === 'access.denied', after);
    expect(gpio.written(STRIKE_PIN).slice(mark)).toEqual([]);
  });

  it('leaves the strike locked when the gateway stops', async () => {
    stopped = true;
    await gw.stop();
    expect(gpio.written(STRIKE_PIN).at(-1)).toBe(1);
    expect(gpio.claimed.size).toBe(0);
  });
});

describe('supervised GPIO inputs: the alarm contact and the sensor\'s tamper loop on two pins', () => {
  const VAULT_PIN = 5;
  const VAULT_TAMPER = 6;
  const STORE_PIN = 12;
  const STORE_TAMPER = 13;
  const SUPERVISED_SITE = `
site: { id: gpio-eol, name: Supervised GPIO, timezone: Europe/London }
devices:
  - { id: vault-panic, kind: panic-button, driver: gpio-input, pin: ${VAULT_PIN}, tamperPin: ${VAULT_TAMPER}, activeLow: true, debounceMs: 5, location: Vault }
  - { id: store-panic, kind: panic-button, driver: gpio-input, pin: ${STORE_PIN}, tamperPin: ${STORE_TAMPER}, activeLow: true, debounceMs: 5 }
`;
  let gw: TestGateway;
  let gpio: FakeGpio;

  beforeAll(async () => {
    gpio = new FakeGpio();
    gpio.drive(VAULT_TAMPER, 0); // the vault's tamper loop is closed (to ground) as wired; the store's is open
    gw = await startTestGateway({ gpio, siteYaml: SUPERVISED_SITE, configYaml: 'demo: true' });
  });

  afterAll(async () => {
    await gw?.stop();
  });

  const journal = () => gw.gateway.journal;

  it('journals a tamper loop found open at start as trouble', async () => {
    const trouble = await nextJournalEvent(journal(), (event) => event.type === 'device.trouble' && event.device === 'store-panic');
    expect(trouble).toMatchObject({ reason: 'line_cut', severity: 'high' });
    expect(journal().query({ limit: 100, type: 'device.trouble', device: 'vault-panic' })).toEqual([]);
  });

  it('journals a cut cable as trouble, not a press, and its repair as cleared; a press still raises the alarm [SAFE-EOL]', async () => {
    let after = journal().lastSeq();
    gpio.drive(VAULT_TAMPER, 1); // cable cut: the tamper loop opens (and the alarm pair with it reads released)
    const trouble = await nextJournalEvent(journal(), (event) => event.type === 'device.trouble' && event.device === 'vault-panic', after);
    expect(trouble).toMatchObject({ reason: 'line_cut', data: { class: 'tamper' } });
    expect(journal().query({ afterSeq: after, limit: 100, type: 'alarm.raised' })).toEqual([]);
    after = journal().lastSeq();
    gpio.drive(VAULT_TAMPER, 0);
    await nextJournalEvent(journal(), (event) => event.type === 'device.trouble_cleared' && event.device === 'vault-panic', after);
    gpio.drive(VAULT_PIN, 0);
    const alarm = await nextJournalEvent(journal(), (event) => event.type === 'alarm.raised', after);
    expect(alarm).toMatchObject({ device: 'vault-panic', data: { location: 'Vault' } });
  });

  it('refuses a tamper pin that another device already uses, and a tamper pin on a driver without one', async () => {
    const { parseSiteData } = await import('../../src/config/load.js');
    const result = parseSiteData({
      site: { id: 's', name: 'S', timezone: 'UTC' },
      devices: [
        { id: 'a', kind: 'panic-button', driver: 'gpio-input', pin: 5, tamperPin: 6 },
        { id: 'b', kind: 'panic-button', driver: 'gpio-input', pin: 6 },
        { id: 'c', kind: 'strike', driver: 'gpio-relay', pin: 7, tamperPin: 8 },
      ],
    });
    expect(result.ok ? [] : [...result.problems].sort()).toEqual(['devices[1].pin: GPIO 6 is already used by devices[0].tamperPin', 'devices[2].tamperPin: not used by driver "gpio-relay"']);
  });
});
