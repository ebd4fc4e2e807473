import { describe, expect, it } from 'vitest';
import { AnswerCache, matchesEtag } from '../../../src/api/answerCache.js';

describe('AnswerCache', () => {
  it('gives an answer back only under the version it was computed for', () => {
    const cache = new AnswerCache();
    const kept = cache.set('viewer /api/v1/doors', '7.1', '[1]', { 'x-total-count': '1' });
    expect(cache.get('viewer /api/v1/doors', '7.1')).toBe(kept);
    expect(cache.get('viewer /api/v1/doors', '8.1')).toBeUndefined();
    expect(cache.get('admin /api/v1/doors', '7.1')).toBeUndefined();
  });

  it('gives equal bodies the same strong ETag and different bodies different ones', () => {
    const cache = new AnswerCache();
    const first = cache.set('a', '1', '[1,2]', {});
    const same = cache.set('b', '2', '[1,2]', {});
    const other = cache.set('c', '2', '[1,3]', {});
    expect(first.etag).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(same.etag).toBe(first.etag);
    expect(other.etag).not.toBe(first.etag);
  });

  it('keeps at most maxEntries answers, dropping the oldest, and never keeps an oversized body', () => {
    const cache = new AnswerCache({ maxEntries: 3, maxBodyBytes: 10 });
    for (const key of ['a', 'b', 'c', 'd']) cache.set(key, '1', '[]', {});
    expect(cache.size).toBe(3);
    expect(cache.get('a', '1')).toBeUndefined();
    expect(cache.get('d', '1')).toBeDefined();
    const big = cache.set('big', '1', `[${'1,'.repeat(20)}1]`, {});
    expect(big.body.length).toBeGreaterThan(10);
    expect(cache.get('big', '1')).toBeUndefined();
    // An oversized answer also drops what was kept for its key before.
    cache.set('d', '2', `[${'1,'.repeat(20)}1]`, {});
    expect(cache.get('d', '1')).toBeUndefined();
  });
});

describe('matchesEtag (If-None-Match)', () => {
  it.each([
    [undefined, false],
    ['"abc"', true],
    ['W/"abc"', true],
    ['"x", W/"abc" ', true],
    ['*', true],
    ['"abcd"', false],
    ['abc', false],
  ])('%s → %s', (header, expected) => {
    expect(matchesEtag(header, '"abc"')).toBe(expected);
  });
});
