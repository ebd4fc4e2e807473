import type { AccessDoor, AccessState, Credential } from '../access/types.js';
import type { DeviceRecord, DoorRecord, Store } from '../store/index.js';

/**
 * Everything the critical path reads, in memory: decisions never wait for the disk. Rebuilt
 * from the store whenever site data changes and swapped in whole.
 */
export interface SiteIndex {
  readonly access: AccessState;
  readonly devices: ReadonlyMap<string, DeviceRecord>;
  readonly doors: ReadonlyMap<string, DoorRecord>;
  readonly doorByReader: ReadonlyMap<string, DoorRecord>;
}

export function buildSiteIndex(store: Store): SiteIndex {
  const doors = new Map(store.doors.list().map((door) => [door.id, door]));
  const doorByReader = new Map<string, DoorRecord>();
  for (const door of doors.values()) if (door.readerDeviceId !== null) doorByReader.set(door.readerDeviceId, door);
  const credentialsByCard = new Map<string, Credential>();
  for (const credential of store.cardholders.listCredentials()) credentialsByCard.set(credential.number, credential);
  return {
    access: {
      credentialsByCard,
      cardholders: new Map(store.cardholders.list().map((holder) => [holder.id, holder])),
      groups: new Map(store.groups.list().map((group) => [group.id, group])),
      doors: new Map<string, AccessDoor>([...doors.values()].map((door) => [door.id, { id: door.id, mode: door.mode }])),
    },
    devices: new Map(store.devices.list().map((device) => [device.id, device])),
    doors,
    doorByReader,
  };
}
