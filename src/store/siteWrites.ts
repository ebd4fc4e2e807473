import { canonicalCardNumber } from '../access/credentials.js';
import type { SiteCardholder, SiteDevice, SiteDoor, SiteGroup } from '../config/siteSchema.js';
import type { Store } from './index.js';

/** Writes one validated site-data entity (the site-file shape) into the store. Call inside a transaction. */

export function writeDevice(store: Store, device: SiteDevice): void {
  store.devices.upsert({
    id: device.id,
    name: device.name ?? null,
    kind: device.kind,
    driver: device.driver,
    location: device.location ?? null,
    passwordHash: device.passwordHash ?? null,
  });
}

export function writeDoor(store: Store, door: SiteDoor): void {
  store.doors.upsert({ id: door.id, name: door.name, readerDeviceId: door.reader, strikeDeviceId: door.strike, unlockMs: door.unlockMs, mode: door.mode });
}

export function writeGroup(store: Store, group: SiteGroup): void {
  store.groups.upsert({ id: group.id, name: group.name, doorIds: group.doors });
}

/** The holder, their groups, and exactly the credentials given (others of theirs are removed). */
export function writeCardholder(store: Store, holder: SiteCardholder): void {
  const toMs = (value: string | undefined): number | null => (value === undefined ? null : Date.parse(value));
  store.cardholders.upsert({ id: holder.id, name: holder.name, status: holder.status, groupIds: holder.groups });
  store.cardholders.deleteCredentialsExcept(holder.id, holder.credentials.map((credential) => credential.id));
  for (const credential of holder.credentials) {
    store.cardholders.upsertCredential({
      id: credential.id,
      cardholderId: holder.id,
      kind: 'card',
      number: canonicalCardNumber(credential.card),
      status: credential.status,
      validFromMs: toMs(credential.validFrom),
      validUntilMs: toMs(credential.validUntil),
    });
  }
}
