import type { SiteData } from './siteSchema.js';
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
  site.groups.forEach((group, i) => references(`groups[${i}].doors`, group.doors, doors, 'door', add));
  doorHardwareProblems(site, devices, doors, add);

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
}
