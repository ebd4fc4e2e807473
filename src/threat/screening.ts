/**
 * Watch-list screening, pure [THR-VISITOR-SCREEN]: names compared after normalising case,
 * spacing, punctuation and diacritics, in any word order ("Smith, JOHN" is "John Smith");
 * identifiers (document numbers, e-mail, phone) compared letters and digits only.
 */

export interface WatchedPerson {
  readonly id: string;
  readonly name: string | null;
  readonly identifiers: readonly string[];
  readonly reason: string;
  readonly addedBy: string | null;
  readonly addedAt: string;
  /** Where the entry comes from: security's list of people, or a watch-listed cardholder in site data. */
  readonly source: 'people' | 'cardholder';
}

export interface ScreeningMatch {
  readonly entry: string;
  readonly source: WatchedPerson['source'];
  readonly on: 'name' | 'identifier';
  readonly reason: string;
  readonly addedBy: string | null;
}

/** Lower case, no diacritics, letters and digits only, single spaces. */
export function normaliseName(name: string): string {
  return name
    .normalize('NFKD')
    .replace(/\p{M}/gu, '')
    .toLowerCase()
    .replace(/ß/g, 'ss')
    .replace(/[^\p{L}\p{N}]+/gu, ' ')
    .trim();
}

/** The name's words in sorted order: word order and repeated spaces do not matter. */
export function nameKey(name: string): string {
  return normaliseName(name).split(' ').filter((word) => word !== '').sort().join(' ');
}

export function normaliseIdentifier(identifier: string): string {
  return identifier.normalize('NFKD').replace(/\p{M}/gu, '').replace(/[^\p{L}\p{N}@.]+/gu, '').toUpperCase();
}

export function screen(visitor: { readonly name: string; readonly identifiers: readonly string[] }, list: readonly WatchedPerson[]): ScreeningMatch[] {
  const key = nameKey(visitor.name);
  const identifiers = new Set(visitor.identifiers.map(normaliseIdentifier).filter((value) => value !== ''));
  const matches: ScreeningMatch[] = [];
  for (const entry of list) {
    const base = { entry: entry.id, source: entry.source, reason: entry.reason, addedBy: entry.addedBy };
    if (entry.name !== null && key !== '' && nameKey(entry.name) === key) matches.push({ ...base, on: 'name' });
    else if (entry.identifiers.some((identifier) => identifiers.has(normaliseIdentifier(identifier)))) matches.push({ ...base, on: 'identifier' });
  }
  return matches;
}
