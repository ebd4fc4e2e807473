import type { SiteData } from '../config/siteSchema.js';
import type { Store } from './index.js';
import { writeSchedulesAndLevels, writeSiteRules } from './siteWrites.js';

/**
 * Site collections the access rules and the alarm side read as whole tables (zones, cameras,
 * schedules, holidays, door groups, access levels, threat levels, areas, watch list). They are
 * small (tens of rows), and one refers to another (a threat level expands a door group), so an
 * API change to one entity rewrites all of them from the validated site; only a deleted entity
 * needs its own row removed. Call inside a transaction.
 */
export const RULE_TABLES = {
  zones: 'zones',
  cameras: 'cameras',
  schedules: 'schedules',
  holidays: 'holiday_calendars',
  doorGroups: 'door_groups',
  accessLevels: 'access_levels',
  threatLevels: 'threat_levels',
  areas: 'areas',
} as const;

export type RuleTableCollection = keyof typeof RULE_TABLES;

/** Upserts every rule entity of `site`, and replaces the watch list. */
export function writeRuleCollections(store: Store, site: SiteData): void {
  writeSchedulesAndLevels(store, site);
  writeSiteRules(store, site);
  store.siteRules.replaceWatchList(site.watchList.map((entry) => ({ cardholderId: entry.cardholder ?? null, credentialId: entry.credential ?? null, reason: entry.reason })));
  for (const zone of site.zones) store.safety.upsertZone({ id: zone.id, name: zone.name, doorIds: zone.doors });
  for (const camera of site.cameras) store.safety.upsertCamera(camera);
  store.safety.setThreatLevels(site.threatLevels);
}

/** Removes one entity's row (its join rows go by cascade); the site was validated without it. */
export function deleteRuleEntity(store: Store, collection: RuleTableCollection, id: string): void {
  store.db.prepare(`DELETE FROM ${RULE_TABLES[collection]} WHERE id = ?`).run(id);
}
