import { SiteDataSchema, type SiteData } from '../config/siteSchema.js';
import type { Store } from './index.js';

/**
 * The store's site data in the site-file shape, from the documents kept as authored: what
 * `guardpost export` writes and what the API validates a change against. PINs are never
 * exported (only their digests are kept); a test keeps export and import in step.
 */
export function exportSiteData(store: Store, options: { readonly withoutCardholders?: boolean } = {}): SiteData {
  const [site] = store.documents.list('site');
  if (site === undefined) throw new Error('no site data in the store');
  const data: Record<string, unknown> = { site };
  for (const [collection, schema] of Object.entries(SiteDataSchema.properties)) {
    if (collection === 'site') continue;
    // Everything but the people: what a change to one cardholder is checked against (O(rules), not O(site)).
    if (collection === 'cardholders' && options.withoutCardholders === true) {
      data[collection] = [];
      continue;
    }
    const documents = store.documents.list(collection);
    // Settings objects are one document; absent ones fall back to the schema's default.
    data[collection] = (schema as { type?: string }).type === 'array' ? documents : (documents[0] ?? (schema as { default?: unknown }).default ?? {});
  }
  return data as unknown as SiteData;
}
