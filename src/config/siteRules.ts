import { DRIVER_KINDS, DRIVER_TRANSPORTS, type SiteData, type SiteDevice } from './siteSchema.js';
import { keyPath, type Problem } from './validate.js';

/** Cross-references the schema can't express. Runs only on data that passed the schema. */
export function siteProblems(site: SiteData): Problem[] {
  const problems: Problem[] = [];
  const add = (path: string, message: string) => problems.push({ path, message });

  try {
    new Intl.DateTimeFormat('en', { timeZone: site.site.timezone });
  } catch {
    add('site.timezone', `unknown IANA time zone "${site.site.timezone}"`);
  }

  const devices = uniqueIds('devices', site.devices, add);
  const doors = uniqueIds('doors', site.doors, add);
  const groups = uniqueIds('groups', site.groups, add);
  uniqueIds('cardholders', site.cardholders, add);

  site.doors.forEach((door, i) => {
    for (const role of ['reader', 'strike'] as const) {
      const path = `doors[${i}].${role}`;
      const device = devices.get(door[role]);
      if (device === undefined) add(path, `unknown device "${door[role]}"`);
      else if (device.kind !== role) add(path, `device "${door[role]}" is ${article(device.kind)}, expected ${article(role)}`);
    }
  });
  site.devices.forEach((device, i) => bindingProblems(device, `devices[${i}]`, add));
  sharedWiring(site, add);
  site.groups.forEach((group, i) => references(`groups[${i}].doors`, group.doors, doors, 'door', add));

  const credentialIds = new Map<string, string>();
  const cards = new Map<string, string>();
  site.cardholders.forEach((holder, i) => {
    references(`cardholders[${i}].groups`, holder.groups, groups, 'group', add);
    holder.credentials.forEach((cred, j) => {
      const path = `cardholders[${i}].credentials[${j}]`;
      const otherId = credentialIds.get(cred.id);
      if (otherId !== undefined) add(`${path}.id`, `duplicate id "${cred.id}" (also at ${otherId})`);
      else credentialIds.set(cred.id, path);
      // Readers may or may not send leading zeros, so 0001001 and 1001 are the same card.
      const number = cred.card.replace(/^0+(?=\d)/, '');
      const holderPath = cards.get(number);
      if (holderPath !== undefined) add(`${path}.card`, `this card is already held by ${holderPath}`); // no number: stderr ends up in logs
      else cards.set(number, path);
      if (cred.validFrom !== undefined && cred.validUntil !== undefined && Date.parse(cred.validUntil) <= Date.parse(cred.validFrom)) {
        add(`${path}.validUntil`, 'validUntil must be after validFrom');
      }
    });
  });
  return problems;
}

function uniqueIds<T extends { id: string }>(list: string, items: T[], add: (path: string, message: string) => void): Map<string, T> {
  const byId = new Map<string, T>();
  const where = new Map<string, number>();
  items.forEach((item, i) => {
    const first = where.get(item.id);
    if (first !== undefined) add(`${list}[${i}].id`, `duplicate id "${item.id}" (also at ${list}[${first}])`);
    else {
      where.set(item.id, i);
      byId.set(item.id, item);
    }
  });
  return byId;
}

function references(path: string, ids: string[], known: Map<string, unknown>, what: string, add: (path: string, message: string) => void) {
  const seen = new Map<string, number>();
  ids.forEach((id, k) => {
    const itemPath = keyPath(path, k);
    const first = seen.get(id);
    if (!known.has(id)) add(itemPath, `unknown ${what} "${id}"`);
    // A repeated reference would break the store's (group, door) primary keys on import.
    else if (first !== undefined) add(itemPath, `duplicate ${what} "${id}" (also at ${keyPath(path, first)})`);
    else seen.set(id, k);
  });
}

function article(word: string): string {
  return /^[aeiou]/.test(word) ? `an ${word}` : `a ${word}`;
}

/** A device's driver decides which binding fields it needs and which it must not have. */
function bindingProblems(device: SiteDevice, path: string, add: (path: string, message: string) => void): void {
  const driver = device.driver;
  if (!DRIVER_KINDS[driver].includes(device.kind)) add(`${path}.driver`, `driver "${driver}" cannot serve ${article(device.kind)}`);
  const transport = DRIVER_TRANSPORTS[driver];
  const need = (field: keyof SiteDevice, why: string): void => {
    if (device[field] === undefined) add(`${path}.${field}`, `required: ${why}`);
  };
  const refuse = (field: keyof SiteDevice): void => {
    if (device[field] !== undefined) add(`${path}.${field}`, `not used by driver "${driver}"`);
  };
  if (transport === 'serial') need('bus', `driver "${driver}" reads a serial bus`);
  else refuse('bus');
  if (driver === 'osdp') need('address', 'the OSDP address the reader is set to');
  else {
    refuse('address');
    refuse('secureChannel');
    refuse('osdpKey');
    refuse('osdpInstall');
  }
  if (device.osdpInstall === true && device.osdpKey === undefined) add(`${path}.osdpInstall`, 'install mode needs osdpKey, the key to give the reader');
  if (device.secureChannel === 'off' && device.osdpKey !== undefined) add(`${path}.osdpKey`, 'a key is only used with secureChannel on or enforce');
  if (driver === 'gpio-wiegand') {
    need('wiegandPins', 'the BCM pins wired to the reader\'s DATA0 and DATA1');
    if (device.wiegandPins !== undefined && device.wiegandPins.data0 === device.wiegandPins.data1) add(`${path}.wiegandPins.data1`, 'must differ from data0');
  } else refuse('wiegandPins');
  if (driver === 'gpio-input' || driver === 'gpio-relay') need('pin', `driver "${driver}" drives a GPIO pin (BCM number)`);
  else refuse('pin');
  if (driver === 'serial-lines' && device.linePattern !== undefined) {
    let groups = 0;
    try {
      groups = new RegExp(`${device.linePattern}|`).exec('')!.length - 1;
    } catch (error) {
      add(`${path}.linePattern`, `not a regular expression: ${(error as Error).message}`);
      groups = -1;
    }
    if (groups === 0) add(`${path}.linePattern`, 'needs a capture group for the card number, e.g. ^CARD:([0-9]+)$');
  } else if (driver !== 'serial-lines') refuse('linePattern');
  if (transport === 'mqtt-product') need('topic', `the name the ${driver} device has in its own MQTT topics`);
  else refuse('topic');
  if (transport !== 'gpio') {
    refuse('activeLow');
    refuse('debounceMs');
  }
}

/** Two devices on one GPIO line, or on one serial bus where the protocol has no addresses, would read each other's signals. */
function sharedWiring(site: SiteData, add: (path: string, message: string) => void): void {
  const pins = new Map<number, string>();
  const buses = new Map<string, { path: string; addressed: boolean }>();
  const addresses = new Map<string, string>();
  const productTopics = new Map<string, string>();
  site.devices.forEach((device, i) => {
    const path = `devices[${i}]`;
    const claimPin = (pin: number, field: string): void => {
      const other = pins.get(pin);
      if (other !== undefined) add(`${path}.${field}`, `GPIO ${pin} is already used by ${other}`);
      else pins.set(pin, `${path}.${field}`);
    };
    if (device.pin !== undefined) claimPin(device.pin, 'pin');
    if (device.wiegandPins !== undefined) {
      claimPin(device.wiegandPins.data0, 'wiegandPins.data0');
      if (device.wiegandPins.data1 !== device.wiegandPins.data0) claimPin(device.wiegandPins.data1, 'wiegandPins.data1');
    }
    if (device.topic !== undefined) {
      const key = `${device.driver}/${device.topic}`;
      const other = productTopics.get(key);
      if (other !== undefined) add(`${path}.topic`, `${device.driver} topic "${device.topic}" is already used by ${other}`);
      else productTopics.set(key, path);
    }
    if (device.bus === undefined) return;
    const addressed = device.driver === 'osdp';
    const other = buses.get(device.bus);
    if (other !== undefined && !(other.addressed && addressed)) {
      add(`${path}.bus`, `bus "${device.bus}" is already used by ${other.path}; only OSDP readers can share a bus`);
      return;
    }
    buses.set(device.bus, { path, addressed });
    if (addressed && device.address !== undefined) {
      const key = `${device.bus}/${device.address}`;
      const first = addresses.get(key);
      if (first !== undefined) add(`${path}.address`, `OSDP address ${device.address} on bus "${device.bus}" is already used by ${first}`);
      else addresses.set(key, path);
    }
  });
}
