import { Readable } from 'node:stream';
import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { JournalEvent } from '../../journal/index.js';
import type { ApiDeps } from '../app.js';
import { EventFilterFields, journalFilter } from './events.js';

const ExportQuery = Type.Object(
  {
    format: Type.Union([Type.Literal('csv'), Type.Literal('json')], { default: 'csv' }),
    ...EventFilterFields,
  },
  { additionalProperties: false },
);

export const CSV_COLUMNS = ['seq', 'id', 'time', 'type', 'severity', 'site', 'door', 'device', 'cardholder', 'reason', 'data'] as const;

/**
 * One CSV cell (RFC 4180). A cell a spreadsheet would run as a formula (= + - @, tab, CR) is
 * prefixed with an apostrophe: exports are opened in Excel by people outside the security team.
 */
export function csvCell(value: unknown): string {
  let text = value === null || value === undefined ? '' : typeof value === 'string' ? value : typeof value === 'number' ? String(value) : JSON.stringify(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvRow(event: JournalEvent): string {
  return `${CSV_COLUMNS.map((column) => csvCell(event[column])).join(',')}\r\n`;
}

/** The matching events oldest first, streamed, so a year of journal never sits in memory. */
function* csvLines(events: Iterable<JournalEvent>): Generator<string> {
  yield `${CSV_COLUMNS.join(',')}\r\n`;
  for (const event of events) yield csvRow(event);
}

function* jsonLines(events: Iterable<JournalEvent>): Generator<string> {
  yield '[';
  let first = true;
  for (const event of events) {
    yield `${first ? '' : ','}\n${JSON.stringify(event)}`;
    first = false;
  }
  yield '\n]\n';
}

export function registerExportRoutes(app: FastifyInstance, deps: ApiDeps): void {
  app.get<{ Querystring: Static<typeof ExportQuery> }>('/api/v1/events/export', { config: { auth: 'security' }, schema: { querystring: ExportQuery } }, async (request, reply) => {
    const query = request.query;
    const events = deps.journal.iterate(journalFilter(query));
    const stamp = new Date().toISOString().replace(/[:.]/g, '-');
    const csv = query.format === 'csv';
    return reply
      .type(csv ? 'text/csv; charset=utf-8' : 'application/json; charset=utf-8')
      .header('content-disposition', `attachment; filename="guardpost-events-${stamp}.${query.format}"`)
      .send(Readable.from(csv ? csvLines(events) : jsonLines(events)));
  });
}
