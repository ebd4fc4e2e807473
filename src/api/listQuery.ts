import { Type, type Static, type TOptional, type TString } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { GuardpostError } from '../errors.js';

/**
 * Paging, text search, field filters and sorting, shared by every list endpoint. The body stays
 * a JSON array (what clients already read); the number of matches before paging is in the
 * `X-Total-Count` header, and `Link: <…>; rel="next"` points at the next page when there is one.
 */

export const DEFAULT_PAGE_LIMIT = 100;
export const MAX_PAGE_LIMIT = 1000;

export const PageFields = {
  limit: Type.Integer({ minimum: 1, maximum: MAX_PAGE_LIMIT, default: DEFAULT_PAGE_LIMIT, description: 'items per page; the total is in the X-Total-Count header' }),
  offset: Type.Integer({ minimum: 0, maximum: 10_000_000, default: 0, description: 'items to skip' }),
};

/** What a collection lets callers search, filter and sort on. */
export interface ListSpec<T> {
  /** Fields `?sort=` may name (`-field` sorts descending). */
  readonly sortable: readonly string[];
  /** `?name=value` filters. */
  readonly filters: Readonly<Record<string, (item: T, value: string) => boolean>>;
  /** The texts `?q=` searches (case-insensitive substring). */
  readonly text: (item: T) => readonly (string | undefined)[];
  /** When true, `?q=` also matches if this says so (e.g. a card's visible suffix). */
  readonly matches?: (item: T, q: string) => boolean;
}

export interface ListQuery {
  readonly limit: number;
  readonly offset: number;
  readonly q?: string;
  readonly sort?: string;
  readonly [filter: string]: unknown;
}

/** The querystring schema of a list route: paging, q, sort, and one optional string per filter. */
export function listQuerySchema<T>(spec: ListSpec<T>, what: string) {
  const filters: Record<string, TOptional<TString>> = {};
  for (const name of Object.keys(spec.filters)) filters[name] = Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: `only ${what} matching this ${name}` }));
  return Type.Object(
    {
      ...PageFields,
      q: Type.Optional(Type.String({ minLength: 1, maxLength: 200, description: `text search over ${what}` })),
      sort: Type.Optional(Type.String({ maxLength: 64, description: `sort by one of: ${spec.sortable.join(', ')}; prefix "-" for descending` })),
      ...filters,
    },
    { additionalProperties: false },
  );
}

export type ListQueryOf<S extends ReturnType<typeof listQuerySchema>> = Static<S>;

/** Parses `sort=-name` against the allowed fields; an unknown field is a 400 naming the allowed ones. */
export function parseSort(sort: string | undefined, sortable: readonly string[]): { field: string; descending: boolean } | undefined {
  if (sort === undefined) return undefined;
  const descending = sort.startsWith('-');
  const field = descending ? sort.slice(1) : sort;
  if (!sortable.includes(field)) throw new GuardpostError('GP_ERR_BAD_REQUEST', `querystring.sort: cannot sort by "${field}"; sort by one of ${sortable.join(', ')} (prefix "-" for descending)`);
  return { field, descending };
}

function compareValues(a: unknown, b: unknown): number {
  // Missing values go last whichever the direction (the caller flips only present ones).
  if (typeof a === 'number' && typeof b === 'number') return a - b;
  if (typeof a === 'boolean' && typeof b === 'boolean') return Number(a) - Number(b);
  if (Array.isArray(a) && Array.isArray(b)) return a.length - b.length;
  const left = String(a);
  const right = String(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Filters, searches, sorts (stable) and pages `items`. */
export function applyListQuery<T>(items: readonly T[], query: ListQuery, spec: ListSpec<T>): { page: T[]; total: number } {
  const sort = parseSort(query.sort, spec.sortable);
  let matching = items.filter((item) => Object.entries(spec.filters).every(([name, test]) => query[name] === undefined || test(item, String(query[name]))));
  if (query.q !== undefined) {
    const q = query.q.toLowerCase();
    matching = matching.filter((item) => spec.text(item).some((text) => text !== undefined && text.toLowerCase().includes(q)) || spec.matches?.(item, query.q!) === true);
  }
  if (sort !== undefined) {
    const value = (item: T): unknown => (item as Record<string, unknown>)[sort.field];
    matching = matching
      .map((item, index) => ({ item, index }))
      .sort((a, b) => {
        const [left, right] = [value(a.item), value(b.item)];
        if (left === undefined || left === null || right === undefined || right === null) {
          const missing = Number(left === undefined || left === null) - Number(right === undefined || right === null);
          return missing !== 0 ? missing : a.index - b.index;
        }
        const order = compareValues(left, right);
        return (sort.descending ? -order : order) || a.index - b.index;
      })
      .map(({ item }) => item);
  }
  return { page: matching.slice(query.offset, query.offset + query.limit), total: matching.length };
}

/** Sets X-Total-Count (and Link rel="next" when more follow) and returns the page. */
export function sendPage<T>(reply: FastifyReply, url: string, query: ListQuery, page: readonly T[], total: number): readonly T[] {
  void reply.header('x-total-count', String(total));
  if (query.offset + page.length < total) {
    const [path, search = ''] = url.split('?');
    const params = new URLSearchParams(search);
    params.set('offset', String(query.offset + page.length));
    params.set('limit', String(query.limit));
    void reply.header('link', `<${path}?${params.toString()}>; rel="next"`);
  }
  return page;
}

/** A filter on a field holding one value or a list of them. */
export const fieldIs =
  <T>(field: keyof T & string) =>
  (item: T, value: string): boolean => {
    const actual = (item as Record<string, unknown>)[field];
    return Array.isArray(actual) ? actual.map(String).includes(value) : actual !== undefined && actual !== null && String(actual) === value;
  };

/** A filter on a boolean field: `true` or `false`. */
export const flagIs =
  <T>(field: keyof T & string) =>
  (item: T, value: string): boolean => {
    if (value !== 'true' && value !== 'false') throw new GuardpostError('GP_ERR_BAD_REQUEST', `querystring.${field}: expected true or false, got "${value.slice(0, 40)}"`);
    return Boolean((item as Record<string, unknown>)[field]) === (value === 'true');
  };
