import type { SiteArea, SiteDevice, SiteDoor, SiteInfo } from '../config/siteSchema.js';
import { threatRulesOf, type ThreatRules } from '../config/threatRulesSchema.js';
import type { Store } from '../store/index.js';

/** What threat management reads of site data: small collections only, never the cardholders. */
export interface ThreatSiteFacts {
  readonly rules: ThreatRules;
  readonly timezone: string;
  readonly doors: ReadonlyMap<string, SiteDoor>;
  readonly doorOfContact: ReadonlyMap<string, string>;
  readonly devices: ReadonlyMap<string, SiteDevice>;
  readonly areas: readonly SiteArea[];
}

export function loadThreatSiteFacts(store: Store): ThreatSiteFacts {
  const [site] = store.documents.list('site') as SiteInfo[];
  const doors = store.documents.list('doors') as SiteDoor[];
  const devices = store.documents.list('devices') as SiteDevice[];
  return {
    rules: threatRulesOf(store.documents.list('threatRules')[0]),
    timezone: site?.timezone ?? 'UTC',
    doors: new Map(doors.map((door) => [door.id, door])),
    doorOfContact: new Map(doors.flatMap((door) => (door.contact === undefined ? [] : [[door.contact, door.id] as const]))),
    devices: new Map(devices.map((device) => [device.id, device])),
    areas: store.documents.list('areas') as SiteArea[],
  };
}
