import { describe, expect, it } from 'vitest';
import { parseConfig, parseSiteData } from '../../src/config/load.js';

const base = { site: { id: 'hq', name: 'HQ', timezone: 'Europe/London' } };

function problemsOf(devices: Record<string, unknown>[]): string[] {
  const result = parseSiteData({ ...base, devices });
  return result.ok ? [] : result.problems;
}

describe('device bindings in site data', () => {
  it('accepts a serial reader on a bus, GPIO buttons, contacts, relays and a Wiegand reader on pins', () => {
    const result = parseSiteData({
      ...base,
      devices: [
        { id: 'lobby-reader', kind: 'reader', driver: 'rdm6300', bus: 'lobby-bus' },
        { id: 'panic', kind: 'panic-button', driver: 'gpio-input', pin: 17, activeLow: true, debounceMs: 30 },
        { id: 'contact', kind: 'door-contact', driver: 'gpio-input', pin: 27 },
        { id: 'strike', kind: 'strike', driver: 'gpio-relay', pin: 22 },
        { id: 'wiegand', kind: 'reader', driver: 'gpio-wiegand', wiegandPins: { data0: 5, data1: 6 } },
      ],
    });
    expect(result.ok).toBe(true);
    if (result.ok) expect(result.site.devices[0]).toMatchObject({ driver: 'rdm6300', bus: 'lobby-bus' });
  });

  it('names an unknown driver and the drivers there are', () => {
    expect(problemsOf([{ id: 'r', kind: 'reader', driver: 'hid-magic' }])[0]).toMatch(/^devices\[0\]\.driver: expected one of json, rdm6300, .*got "hid-magic"$/);
  });

  it('refuses a driver that cannot serve the device kind', () => {
    expect(problemsOf([{ id: 's', kind: 'strike', driver: 'rdm6300', bus: 'b' }])).toEqual(['devices[0].driver: driver "rdm6300" cannot serve a strike']);
  });

  it('asks for the bus of a serial reader and the pin of a GPIO button', () => {
    expect(problemsOf([{ id: 'r', kind: 'reader', driver: 'rdm6300' }, { id: 'b', kind: 'panic-button', driver: 'gpio-input' }])).toEqual([
      'devices[0].bus: required: driver "rdm6300" reads a serial bus',
      'devices[1].pin: required: driver "gpio-input" drives a GPIO pin (BCM number)',
    ]);
  });

  it('refuses wiring fields the driver does not use', () => {
    expect(problemsOf([{ id: 'r', kind: 'reader', pin: 4, debounceMs: 5 }])).toEqual([
      'devices[0].pin: not used by driver "json"',
      'devices[0].debounceMs: not used by driver "json"',
    ]);
  });

  it('refuses two devices on one GPIO line and two non-addressed readers on one serial bus', () => {
    expect(
      problemsOf([
        { id: 'a', kind: 'panic-button', driver: 'gpio-input', pin: 17 },
        { id: 'b', kind: 'strike', driver: 'gpio-relay', pin: 17 },
        { id: 'c', kind: 'reader', driver: 'rdm6300', bus: 'x' },
        { id: 'd', kind: 'reader', driver: 'wiegand-line', bus: 'x' },
        { id: 'e', kind: 'reader', driver: 'gpio-wiegand', wiegandPins: { data0: 9, data1: 9 } },
      ]),
    ).toEqual([
      'devices[4].wiegandPins.data1: must differ from data0',
      'devices[1].pin: GPIO 17 is already used by devices[0].pin',
      'devices[3].bus: bus "x" is already used by devices[2]; only OSDP readers can share a bus',
    ]);
  });
});

describe('serial buses and the GPIO chip in the config file', () => {
  it('fills serial defaults (9600 8N1, reopen backoff) for a bus given only an id and a path', () => {
    const result = parseConfig({ serial: { buses: [{ id: 'door-bus', path: '/dev/ttyUSB0' }] }, gpio: { chipLabel: 'pinctrl-rp1' } });
    expect(result.ok && result.config.serial?.buses[0]).toEqual({
      id: 'door-bus', path: '/dev/ttyUSB0', baudRate: 9600, dataBits: 8, parity: 'none', stopBits: 1, rs485: false, rs485Required: true, reopenMinMs: 250, reopenMaxMs: 5000,
    });
    expect(result.ok && result.config.gpio).toEqual({ chipLabel: 'pinctrl-rp1', sysfsRoot: '/sys/class/gpio' });
  });

  it('names the bad key of a serial bus', () => {
    const result = parseConfig({ serial: { buses: [{ id: 'door-bus', path: '/dev/ttyUSB0', baudRate: 12, parity: 'mark' }] } });
    expect(result.ok ? [] : result.problems).toEqual([
      'serial.buses[0].baudRate: expected integer ≥ 300, got 12',
      'serial.buses[0].parity: expected one of none, even, odd, got "mark"',
    ]);
  });
});

describe('the generic line reader pattern', () => {
  it('needs a capture group for the card number and a valid regular expression', () => {
    expect(problemsOf([{ id: 'r', kind: 'reader', driver: 'serial-lines', bus: 'b', linePattern: '^CARD:[0-9]+$' }])).toEqual([
      'devices[0].linePattern: needs a capture group for the card number, e.g. ^CARD:([0-9]+)$',
    ]);
    expect(problemsOf([{ id: 'r', kind: 'reader', driver: 'serial-lines', bus: 'b', linePattern: '^(CARD' }])[0]).toMatch(/^devices\[0\]\.linePattern: not a regular expression: /);
    expect(problemsOf([{ id: 'r', kind: 'reader', driver: 'serial-lines', bus: 'b', linePattern: '^CARD:([0-9]+)$' }])).toEqual([]);
  });
});

describe('OSDP Secure Channel settings', () => {
  it('accepts enforce with a 32-hex-digit key and never echoes a malformed key', () => {
    expect(problemsOf([{ id: 'r', kind: 'reader', driver: 'osdp', bus: 'b', address: 0, secureChannel: 'enforce', osdpKey: '00112233445566778899aabbccddeeff' }])).toEqual([]);
    const problems = problemsOf([{ id: 'r', kind: 'reader', driver: 'osdp', bus: 'b', address: 0, osdpKey: 'my-secret-key' }]);
    expect(problems).toEqual(['devices[0].osdpKey: expected 32 hex digits (an AES-128 key), or a key sealed by guardpost (gpenc1:…)']);
  });

  it('refuses Secure Channel settings on a device that is not an OSDP reader', () => {
    expect(problemsOf([{ id: 'r', kind: 'reader', secureChannel: 'on' }])).toEqual(['devices[0].secureChannel: not used by driver "json"']);
  });
});

describe('product bridges in the config file (mqtt.productBridges)', () => {
  const HASH = '$argon2id$v=19$m=65536,t=3,p=4$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA';
  it('accepts a zigbee2mqtt and a Frigate bridge, the prefix defaulting to the product', () => {
    const result = parseConfig({ mqtt: { productBridges: [{ username: 'z2m', passwordHash: HASH, product: 'zigbee2mqtt' }, { username: 'nvr', passwordHash: HASH, product: 'frigate', prefix: 'site1/frigate' }] } });
    expect(result.ok ? result.config.mqtt.productBridges.map((bridge) => bridge.username) : result.problems).toEqual(['z2m', 'nvr']);
  });

  it('refuses a login already used by an operator, guardpost\'s own prefix, a wildcard prefix and a plain password', () => {
    const result = parseConfig({
      mqtt: {
        operators: [{ username: 'desk', passwordHash: HASH }],
        productBridges: [
          { username: 'desk', passwordHash: HASH, product: 'zigbee2mqtt' },
          { username: 'nvr', passwordHash: HASH, product: 'frigate', prefix: 'guardpost/frigate' },
          { username: 'nvr2', passwordHash: HASH, product: 'frigate', prefix: 'frigate/#' },
          { username: 'nvr3', passwordHash: 'secret', product: 'frigate' },
        ],
      },
    });
    expect(result.ok ? [] : [...result.problems].sort()).toEqual([
      'mqtt.productBridges[0].username: "desk" is already the login of mqtt.operators[0]',
      'mqtt.productBridges[1].prefix: "guardpost/frigate" is guardpost\'s own topic prefix; a product bridge needs its own',
      'mqtt.productBridges[2].prefix: expected a topic prefix without wildcards, e.g. zigbee2mqtt, got "frigate/#"',
      'mqtt.productBridges[3].passwordHash: expected an argon2 hash starting with "$argon2"',
    ]);
  });
});
