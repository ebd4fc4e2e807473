import { SiteDataSchema, type SiteData } from '../config/siteSchema.js';
import type { Store } from './index.js';

/**
 * The store's site data in the site-file shape, from the documents kept as authored: what
 * `guardpost export` writes and what the API validates a change against. PINs are never
 * exported (only their digests are kept); a test keeps export and import in step.
 */
export function exportSiteData(store: Store): SiteData {
  const [site] = store.documents.list('site');
  if (site === undefined) throw new Error('no site data in the store');
  const data: Record<string, unknown> = { site };
  for (const collection of Object.keys(SiteDataSchema.properties)) {
    if (collection !== 'site') data[collection] = store.documents.list(collection);
  }
  return data as unknown as SiteData;
}
