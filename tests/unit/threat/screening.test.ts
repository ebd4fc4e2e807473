import { describe, expect, it } from 'vitest';
import { nameKey, normaliseName, screen, type WatchedPerson } from '../../../src/threat/screening.js';

const LIST: WatchedPerson[] = [
  { id: 'watch-1', name: 'José Álvarez-Núñez', identifiers: ['P 123-456'], reason: 'threatened agents on 3 calls', addedBy: 'sam', addedAt: '2026-03-01T10:00:00.000Z', source: 'people' },
  { id: 'watch-2', name: null, identifiers: ['mallory@example.com'], reason: 'harassing e-mails', addedBy: 'sam', addedAt: '2026-03-01T10:00:00.000Z', source: 'people' },
  { id: 'cardholder:mallory', name: 'Mallory Quinn', identifiers: [], reason: 'banned former employee', addedBy: null, addedAt: '', source: 'cardholder' },
];

describe('[THR-VISITOR-SCREEN] watch-list screening', () => {
  it.each([
    'José Álvarez-Núñez',
    'jose alvarez nunez',
    'JOSE   ALVAREZ NUNEZ',
    '  José Álvarez Núñez ',
    'Álvarez-Núñez, José',
    'Jose\tAlvarez-Nunez',
  ])('matches the name written as %j', (name) => {
    expect(screen({ name, identifiers: [] }, LIST)).toEqual([{ entry: 'watch-1', source: 'people', on: 'name', reason: 'threatened agents on 3 calls', addedBy: 'sam' }]);
  });

  it('matches identifiers whatever their spacing, punctuation or case', () => {
    expect(screen({ name: 'Someone Else', identifiers: ['p123456'] }, LIST).map((match) => [match.entry, match.on])).toEqual([['watch-1', 'identifier']]);
    expect(screen({ name: 'Someone Else', identifiers: ['Mallory@Example.com '] }, LIST).map((match) => match.entry)).toEqual(['watch-2']);
  });

  it('screens against watch-listed cardholders of the site data by name', () => {
    expect(screen({ name: 'mallory  QUINN', identifiers: [] }, LIST).map((match) => [match.entry, match.source])).toEqual([['cardholder:mallory', 'cardholder']]);
  });

  it('lets other people through, including partial names and near misses', () => {
    for (const name of ['Jane Doe', 'José Álvarez', 'Jose Alvarez Nunes', 'Mallory']) expect(screen({ name, identifiers: ['P 123-457'] }, LIST)).toEqual([]);
  });

  it('normalises case, spacing and diacritics', () => {
    expect(normaliseName('  Zoë  STRAẞE-Ørsted ')).toBe('zoe strasse ørsted');
    expect(nameKey('Smith,   John')).toBe(nameKey('john smith'));
  });
});
