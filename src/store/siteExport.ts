import type { SiteData } from '../config/siteSchema.js';
import type { Store } from './index.js';

/**
 * The store's site data in the site-file shape: what `guardpost export` writes and what the
 * API validates a change against. Round-trips with importSiteData (a test keeps them in step).
 */
export function exportSiteData(store: Store): SiteData {
  const site = store.site();
  if (site === undefined) throw new Error('no site data in the store');
  const credentials = store.cardholders.listCredentials();
  const iso = (ms: number | null): string | undefined => (ms === null ? undefined : new Date(ms).toISOString());
  return {
    site: { id: site.id, name: site.name, timezone: site.timezone },
    devices: store.devices.list().map((device) => ({
      id: device.id,
      ...(device.name === null ? {} : { name: device.name }),
      kind: device.kind,
      driver: device.driver as 'json',
      ...(device.location === null ? {} : { location: device.location }),
      ...(device.passwordHash === null ? {} : { passwordHash: device.passwordHash }),
    })),
    doors: store.doors.list().map((door) => ({
      id: door.id,
      name: door.name,
      reader: door.readerDeviceId ?? '',
      strike: door.strikeDeviceId ?? '',
      unlockMs: door.unlockMs,
      mode: door.mode,
    })),
    groups: store.groups.list().map((group) => ({ id: group.id, name: group.name, doors: [...group.doorIds] })),
    cardholders: store.cardholders.list().map((holder) => ({
      id: holder.id,
      name: holder.name,
      status: holder.status,
      groups: [...holder.groupIds],
      credentials: credentials
        .filter((credential) => credential.cardholderId === holder.id)
        .map((credential) => ({
          id: credential.id,
          card: credential.number,
          status: credential.status,
          ...(credential.validFromMs === null ? {} : { validFrom: iso(credential.validFromMs) }),
          ...(credential.validUntilMs === null ? {} : { validUntil: iso(credential.validUntilMs) }),
        })),
    })),
  };
}
