import { DRIVER_KINDS, DRIVER_TRANSPORTS, type SiteData, type SiteDevice } from './siteSchema.js';
import { keyPath, type Problem } from './validate.js';
import { threatRuleProblems } from './threatRules.js';

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
  // [ACC-CARD-FORMAT] only readers send card numbers.
  site.devices.forEach((device, i) => {
    if (device.cardFormat !== undefined && device.kind !== 'reader') add(`devices[${i}].cardFormat`, `only a reader reads cards; this device is ${article(device.kind)}`);
  });
  sharedWiring(site, add);
  site.groups.forEach((group, i) => references(`groups[${i}].doors`, group.doors, doors, 'door', add));
  doorHardwareProblems(site, devices, doors, add);

  const wiegandFormats = new Set([...BUILT_IN_FORMAT_BITS.keys(), ...site.wiegandFormats.map((format) => format.id)]);
  const credentialIds = new Map<string, string>();
  const cards = new Map<string, string>();
  site.cardholders.forEach((holder, i) => {
    references(`cardholders[${i}].groups`, holder.groups, groups, 'group', add);
    holder.credentials.forEach((cred, j) => {
      const path = `cardholders[${i}].credentials[${j}]`;
      const otherId = credentialIds.get(cred.id);
      if (otherId !== undefined) add(`${path}.id`, `duplicate id "${cred.id}" (also at ${otherId})`);
      else credentialIds.set(cred.id, path);
      // [ACC-WIEGAND] a credential is a raw card number or a Wiegand card, exactly one.
      // [SEC-CARD-DIGEST] or its digest, as stored and exported.
      const forms = [cred.card, cred.wiegand, cred.cardDigest, cred.wiegandDigest].filter((form) => form !== undefined).length;
      if (forms !== 1) add(path, 'give exactly one of card or wiegand (or, as exported, cardDigest or wiegandDigest)');
      if (cred.masked !== undefined && cred.cardDigest === undefined && cred.wiegandDigest === undefined) add(`${path}.masked`, 'goes with cardDigest or wiegandDigest only (the mask of a card given by number is made from it)');
      if (cred.wiegand !== undefined && !wiegandFormats.has(cred.wiegand.format)) add(`${path}.wiegand.format`, `unknown Wiegand format "${cred.wiegand.format}"`);
      // Readers may or may not send leading zeros, so 0001001 and 1001 are the same card.
      const number = cred.card !== undefined ? cred.card.replace(/^0+(?=\d)/, '') : cred.wiegand !== undefined ? `${cred.wiegand.format}:${cred.wiegand.facility}:${cred.wiegand.number}` : (cred.cardDigest ?? cred.wiegandDigest);
      const holderPath = number === undefined ? undefined : cards.get(number);
      // A digest was a number where the admin typed it (API, CSV): the card is what is held twice.
      const field = cred.card !== undefined || cred.cardDigest !== undefined ? 'card' : 'wiegand';
      if (holderPath !== undefined) add(`${path}.${field}`, `this card is already held by ${holderPath}`); // no number: stderr ends up in logs
      else if (number !== undefined) cards.set(number, path);
      if (cred.validFrom !== undefined && cred.validUntil !== undefined && Date.parse(cred.validUntil) <= Date.parse(cred.validFrom)) {
        add(`${path}.validUntil`, 'validUntil must be after validFrom');
      }
    });
  });
  accessRuleProblems(site, { doors, groups, devices }, add);
  threatRuleProblems(site, add);
  return problems;
}

const BUILT_IN_FORMAT_BITS = new Map([['h10301', 26], ['h10304', 37], ['c1000-35', 35]]);

/** Cross-references of the access rules (schedules, levels, threat levels, areas, watch list, formats). */
function accessRuleProblems(site: SiteData, known: { doors: Map<string, unknown>; groups: Map<string, unknown>; devices: Map<string, unknown> }, add: (path: string, message: string) => void): void {
  const { doors, groups } = known;
  const doorGroups = uniqueIds('doorGroups', site.doorGroups, add);
  const schedules = uniqueIds('schedules', site.schedules, add);
  const holidays = uniqueIds('holidays', site.holidays, add);
  const levels = uniqueIds('accessLevels', site.accessLevels, add);
  // Threat level ids (and "normal") are checked with the alarm rules below.
  uniqueIds('areas', site.areas, add);
  const credentials = new Map<string, unknown>(site.cardholders.flatMap((holder) => holder.credentials.map((cred) => [cred.id, cred] as const)));
  const cardholders = new Map<string, unknown>(site.cardholders.map((holder) => [holder.id, holder]));

  site.doorGroups.forEach((group, i) => references(`doorGroups[${i}].doors`, group.doors, doors, 'door', add));
  site.holidays.forEach((calendar, i) => {
    calendar.dates.forEach((date, j) => {
      const parsed = new Date(`${date}T00:00:00Z`);
      if (Number.isNaN(parsed.getTime()) || parsed.toISOString().slice(0, 10) !== date) add(keyPath(`holidays[${i}].dates`, j), `"${date}" is not a calendar date`);
    });
  });
  site.schedules.forEach((schedule, i) => {
    references(`schedules[${i}].holidays`, schedule.holidays, holidays, 'holiday calendar', add);
    schedule.intervals.forEach((interval, j) => {
      if (interval.from === interval.to) add(`schedules[${i}].intervals[${j}].to`, 'an interval cannot start and end at the same time (for all day use 00:00 to 24:00)');
    });
    schedule.holidayIntervals.forEach((interval, j) => {
      if (interval.to <= interval.from) add(`schedules[${i}].holidayIntervals[${j}].to`, 'a holiday interval must end after it starts, within the day');
    });
  });
  site.accessLevels.forEach((level, i) => {
    references(`accessLevels[${i}].doors`, level.doors, doors, 'door', add);
    references(`accessLevels[${i}].doorGroups`, level.doorGroups, doorGroups, 'door group', add);
    if (level.schedule !== undefined && !schedules.has(level.schedule)) add(`accessLevels[${i}].schedule`, `unknown schedule "${level.schedule}"`);
  });
  site.groups.forEach((group, i) => references(`groups[${i}].accessLevels`, group.accessLevels ?? [], levels, 'access level', add));
  site.doors.forEach((door, i) => {
    references(`doors[${i}].overrideGroups`, door.overrideGroups ?? [], groups, 'group', add);
    references(`doors[${i}].firstPersonInGroups`, door.firstPersonInGroups ?? [], groups, 'group', add);
    if (door.unlockSchedule !== undefined && !schedules.has(door.unlockSchedule)) add(`doors[${i}].unlockSchedule`, `unknown schedule "${door.unlockSchedule}"`);
    if (door.mode === 'scheduled-unlock' && door.unlockSchedule === undefined) add(`doors[${i}].unlockSchedule`, 'a scheduled-unlock door needs an unlockSchedule');
  });
  site.threatLevels.forEach((level, i) => {
    references(`threatLevels[${i}].allowedGroups`, level.allowedGroups ?? [], groups, 'group', add);
    level.doors.forEach((entry, j) => {
      const path = `threatLevels[${i}].doors[${j}]`;
      if ((entry.door === undefined) === (entry.doorGroup === undefined)) add(path, 'give exactly one of door or doorGroup');
      if (entry.door !== undefined && !doors.has(entry.door)) add(`${path}.door`, `unknown door "${entry.door}"`);
      if (entry.doorGroup !== undefined && !doorGroups.has(entry.doorGroup)) add(`${path}.doorGroup`, `unknown door group "${entry.doorGroup}"`);
      references(`${path}.groups`, entry.groups, groups, 'group', add);
    });
  });
  const areaOfDoor = new Map<string, string>();
  site.areas.forEach((area, i) => {
    for (const role of ['entryDoors', 'exitDoors'] as const) {
      references(`areas[${i}].${role}`, area[role], doors, 'door', add);
      area[role].forEach((doorId, j) => {
        const other = areaOfDoor.get(doorId);
        if (other !== undefined) add(keyPath(`areas[${i}].${role}`, j), `door "${doorId}" already leads into or out of ${other}`);
        else areaOfDoor.set(doorId, `areas[${i}]`);
      });
    }
  });
  site.watchList.forEach((entry, i) => {
    const path = `watchList[${i}]`;
    if ((entry.cardholder === undefined) === (entry.credential === undefined)) add(path, 'give exactly one of cardholder or credential');
    if (entry.cardholder !== undefined && !cardholders.has(entry.cardholder)) add(`${path}.cardholder`, `unknown cardholder "${entry.cardholder}"`);
    if (entry.credential !== undefined && !credentials.has(entry.credential)) add(`${path}.credential`, `unknown credential "${entry.credential}"`);
  });
  site.cardholders.forEach((holder, i) => {
    if (holder.escort !== undefined) references(`cardholders[${i}].escort.groups`, holder.escort.groups, groups, 'group', add);
    if (holder.duressPin !== undefined && holder.pin === undefined) add(`cardholders[${i}].duressPin`, 'a duress PIN needs a PIN');
    if (holder.duressPin !== undefined && holder.duressPin === holder.pin) add(`cardholders[${i}].duressPin`, 'the duress PIN must differ from the PIN');
  });
  const formats = uniqueIds('wiegandFormats', site.wiegandFormats, add);
  site.wiegandFormats.forEach((format, i) => {
    const path = `wiegandFormats[${i}]`;
    if (BUILT_IN_FORMAT_BITS.has(format.id)) add(`${path}.id`, `"${format.id}" is a built-in format`);
    const within = (start: number, length: number, where: string): void => {
      if (start + length > format.bits) add(where, `bits ${start}-${start + length - 1} lie beyond the ${format.bits}-bit frame`);
    };
    if (format.facility !== undefined) within(format.facility.start, format.facility.length, `${path}.facility`);
    within(format.card.start, format.card.length, `${path}.card`);
    format.parity.forEach((parity, j) => {
      within(parity.bit, 1, `${path}.parity[${j}].bit`);
      parity.over.forEach((over, k) => {
        const [from, to] = typeof over === 'number' ? [over, over] : over.split('-').map(Number) as [number, number];
        if (from > to || to >= format.bits) add(keyPath(`${path}.parity[${j}].over`, k), `bit range ${String(over)} does not fit the ${format.bits}-bit frame`);
      });
    });
  });
  void formats;
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

/** Door hardware, zones, cameras, panic buttons and threat levels (issue 5). */
function doorHardwareProblems(
  site: SiteData,
  devices: Map<string, SiteData['devices'][number]>,
  doors: Map<string, SiteData['doors'][number]>,
  add: (path: string, message: string) => void,
): void {
  const device = (path: string, id: string, kind: string): void => {
    const found = devices.get(id);
    if (found === undefined) add(path, `unknown device "${id}"`);
    else if (found.kind !== kind) add(path, `device "${id}" is ${article(found.kind)}, expected ${article(kind)}`);
  };
  site.doors.forEach((door, i) => {
    if (door.contact !== undefined) device(`doors[${i}].contact`, door.contact, 'door-contact');
    if (door.exit !== undefined) device(`doors[${i}].exit`, door.exit, 'exit-button');
    if (door.preAlarmMs >= door.heldOpenMs) add(`doors[${i}].preAlarmMs`, 'preAlarmMs must be shorter than heldOpenMs');
  });
  const zones = uniqueIds('zones', site.zones, add);
  site.zones.forEach((zone, i) => references(`zones[${i}].doors`, zone.doors, doors, 'door', add));
  uniqueIds('cameras', site.cameras, add);
  site.cameras.forEach((camera, i) => {
    const path = `cameras[${i}]`;
    if (camera.kind === 'mqtt') {
      if (camera.device === undefined) add(`${path}.device`, 'an mqtt camera needs the device its trigger command goes to');
      else device(`${path}.device`, camera.device, 'camera');
    } else if (camera.url === undefined) add(`${path}.url`, `${article(camera.kind)} camera needs a url`);
    references(`${path}.doors`, camera.doors, doors, 'door', add);
    references(`${path}.zones`, camera.zones, zones, 'zone', add);
  });
  const buttons = new Map<string, number>();
  site.panicButtons.forEach((button, i) => {
    device(`panicButtons[${i}].device`, button.device, 'panic-button');
    const first = buttons.get(button.device);
    if (first !== undefined) add(`panicButtons[${i}].device`, `duplicate panic button "${button.device}" (also at panicButtons[${first}])`);
    else buttons.set(button.device, i);
    if (button.zone !== undefined && !zones.has(button.zone)) add(`panicButtons[${i}].zone`, `unknown zone "${button.zone}"`);
    if (button.lockdown && button.zone === undefined) add(`panicButtons[${i}].lockdown`, 'lockdown needs the zone to lock down');
  });
  const levels = uniqueIds('threatLevels', site.threatLevels, add);
  site.panicButtons.forEach((button, i) => {
    if (button.threatLevel !== undefined && !levels.has(button.threatLevel)) add(`panicButtons[${i}].threatLevel`, `unknown threat level "${button.threatLevel}"`);
  });
  site.threatLevels.forEach((level, i) => {
    if (level.id === 'normal') add(`threatLevels[${i}].id`, '"normal" is built in: list only the raised levels');
    references(`threatLevels[${i}].lockdownZones`, level.lockdownZones, zones, 'zone', add);
  });
  const threatButtons = new Map<string, string>();
  site.threatLevels.forEach((level, i) => {
    (level.buttons ?? []).forEach((button, j) => {
      device(`threatLevels[${i}].buttons[${j}]`, button, 'threat-button');
      const first = threatButtons.get(button);
      if (first !== undefined) add(`threatLevels[${i}].buttons[${j}]`, `threat button "${button}" already raises the level "${first}"`);
      else threatButtons.set(button, level.id);
    });
  });
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
  if (driver !== 'gpio-input') refuse('tamperPin');
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
    if (device.tamperPin !== undefined) claimPin(device.tamperPin, 'tamperPin');
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
