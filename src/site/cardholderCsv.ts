import { parse } from 'csv-parse/sync';
import type { CardDigester } from '../access/cardDigest.js';
import type { SiteCardholder, SiteData } from '../config/siteSchema.js';
import { sealCredential } from '../store/cardCredentials.js';
import { GuardpostError } from '../errors.js';

/**
 * Bulk cardholders from a spreadsheet: one row per person with columns
 * `id, name, status, groups, cards, validFrom, validUntil` (groups and cards separated by `;`).
 * PINs are never imported from a file that passes through spreadsheets and mail.
 */
export const CSV_COLUMNS = ['id', 'name', 'status', 'groups', 'cards', 'validFrom', 'validUntil'] as const;

export interface CsvRowError {
  /** 1-based line in the file, header included. */
  readonly row: number;
  readonly id: string | null;
  readonly message: string;
}

export interface ParsedCsv {
  /** Data rows in the file. */
  readonly rows: number;
  readonly holders: { readonly row: number; readonly holder: Record<string, unknown> }[];
  readonly errors: CsvRowError[];
}

const list = (cell: string | undefined): string[] => (cell ?? '').split(';').map((item) => item.trim()).filter((item) => item !== '');

/** Turns the file into cardholder entities merged onto the current ones; row errors are collected, not thrown. */
export function parseCardholderCsv(text: string, current: SiteData | ((id: string) => SiteCardholder | undefined), digests: CardDigester | null = null): ParsedCsv {
  let records: Record<string, string>[];
  try {
    records = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true }) as Record<string, string>[];
  } catch (error) {
    throw new GuardpostError('GP_ERR_BAD_REQUEST', `body is not valid CSV: ${(error as Error).message}`);
  }
  const header = records.length > 0 ? Object.keys(records[0]!) : [];
  const unknown = header.filter((column) => !(CSV_COLUMNS as readonly string[]).includes(column));
  if (unknown.length > 0) throw new GuardpostError('GP_ERR_BAD_REQUEST', `unknown column(s) ${unknown.join(', ')} (allowed: ${CSV_COLUMNS.join(', ')})`);
  if (!header.includes('id') || !header.includes('name')) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'the CSV needs at least the columns id and name');

  // A lookup (one document per row) keeps a panel-scale import from reading every cardholder.
  const existing = typeof current === 'function' ? { get: current } : new Map(current.cardholders.map((holder) => [holder.id, holder]));
  const seen = new Map<string, number>();
  const holders: ParsedCsv['holders'] = [];
  const errors: CsvRowError[] = [];
  records.forEach((record, index) => {
    const row = index + 2;
    const id = record.id ?? '';
    if (id === '' || (record.name ?? '') === '') {
      errors.push({ row, id: id === '' ? null : id, message: id === '' ? 'id: required' : 'name: required' });
      return;
    }
    const first = seen.get(id);
    if (first !== undefined) {
      errors.push({ row, id, message: `id: "${id}" is also on row ${first}` });
      return;
    }
    seen.set(id, row);
    const before = existing.get(id);
    const cards = list(record.cards);
    const window = { ...(record.validFrom ? { validFrom: record.validFrom } : {}), ...(record.validUntil ? { validUntil: record.validUntil } : {}) };
    // Cards given replace the holder's cards (keeping the ids of numbers they already had); none keeps them.
    const credentials =
      cards.length === 0
        ? (before?.credentials ?? [])
        : cards.map((card, position) => {
            // [SEC-CARD-DIGEST] kept as a digest from here on; a number already held keeps its credential (matched by digest).
            const problems: { field: string; message: string }[] = [];
            const sealed = sealCredential(digests, { card }, `credentials[${position}]`, problems) as { card?: string; cardDigest?: string; masked?: string };
            for (const problem of problems) errors.push({ row, id, message: `${problem.field}: ${problem.message}` });
            const kept = sealed.cardDigest === undefined ? undefined : before?.credentials.find((credential) => credential.cardDigest === sealed.cardDigest);
            return { ...(kept ?? {}), ...sealed, id: kept?.id ?? `${id}-card-${position + 1}`, ...window };
          });
    const holder: Record<string, unknown> = {
      ...(before ?? {}),
      id,
      name: record.name,
      ...(record.status ? { status: record.status } : {}),
      ...(record.groups !== undefined ? { groups: list(record.groups) } : {}),
      credentials,
    };
    holders.push({ row, holder });
  });
  return { rows: records.length, holders, errors };
}

export type { SiteCardholder };
