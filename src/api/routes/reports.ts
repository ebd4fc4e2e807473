import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { GuardpostError } from '../../errors.js';
import type { Journal } from '../../journal/index.js';
import { RESPONSE_CSV_COLUMNS, responseTimeReport } from '../../threat/responseTimes.js';
import type { ThreatManagement } from '../../threat/service.js';
import { csvCell } from './exports.js';

const DAY_MS = 86_400_000;
/** A year and a bit: long enough for an annual review, short enough to answer at once. */
const MAX_RANGE_DAYS = 400;

const Query = Type.Object(
  {
    from: Type.Optional(Type.String({ format: 'date-time' })),
    to: Type.Optional(Type.String({ format: 'date-time' })),
    period: Type.Union([Type.Literal('week'), Type.Literal('month')], { default: 'week' }),
    format: Type.Union([Type.Literal('json'), Type.Literal('csv')], { default: 'json' }),
  },
  { additionalProperties: false },
);

/** Response-time KPIs (issue 12): per alarm, and median / p90 by period, type, door and hour, drills apart. */
export function registerReportRoutes(app: FastifyInstance, deps: { readonly journal: Journal; readonly threat: ThreatManagement; readonly clock: () => number }): void {
  app.get<{ Querystring: Static<typeof Query> }>('/api/v1/reports/response-times', { config: { auth: 'security' }, schema: { querystring: Query } }, async (request, reply) => {
    const toMs = request.query.to === undefined ? deps.clock() : Date.parse(request.query.to);
    const fromMs = request.query.from === undefined ? toMs - 30 * DAY_MS : Date.parse(request.query.from);
    if (!(fromMs < toMs)) throw new GuardpostError('GP_ERR_BAD_REQUEST', 'querystring.from: must be before to');
    if (toMs - fromMs > MAX_RANGE_DAYS * DAY_MS) throw new GuardpostError('GP_ERR_BAD_REQUEST', `querystring.from: at most ${MAX_RANGE_DAYS} days before to`);
    // Acknowledgements and clears may come after `to`: read on to the end of the journal.
    const report = responseTimeReport(deps.journal.iterate({ type: 'alarm', sinceMs: fromMs }), { fromMs, toMs, timezone: deps.threat.site.timezone, period: request.query.period });
    if (request.query.format === 'json') return report;
    const lines = [`${RESPONSE_CSV_COLUMNS.join(',')}\r\n`, ...report.alarms.map((alarm) => `${RESPONSE_CSV_COLUMNS.map((column) => csvCell(alarm[column])).join(',')}\r\n`)];
    return reply
      .header('content-type', 'text/csv; charset=utf-8')
      .header('content-disposition', `attachment; filename="response-times-${report.from.slice(0, 10)}-${report.to.slice(0, 10)}.csv"`)
      .send(lines.join(''));
  });
}
