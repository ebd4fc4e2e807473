import { Type, type Static } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { GuardpostError } from '../../errors.js';
import { buildIncidentReport, incidentReportHtml } from '../../journal/incidentReport.js';
import type { ApiDeps } from '../app.js';

const ReportParams = Type.Object({ id: Type.String({ pattern: '^[a-z0-9-]+$', maxLength: 64 }) });
const ReportQuery = Type.Object(
  {
    /** Minutes before the alarm was raised and after it was cleared. */
    minutes: Type.Integer({ minimum: 0, maximum: 1_440, default: 15 }),
    format: Type.Union([Type.Literal('json'), Type.Literal('html')], { default: 'json' }),
  },
  { additionalProperties: false },
);

/** The incident report for one alarm, as JSON or as a printable HTML page. */
export function registerIncidentReportRoutes(app: FastifyInstance, deps: ApiDeps, clock: () => number = Date.now): void {
  app.get<{ Params: Static<typeof ReportParams>; Querystring: Static<typeof ReportQuery> }>(
    '/api/v1/alarms/:id/report',
    { config: { auth: 'security' }, schema: { params: ReportParams, querystring: ReportQuery } },
    async (request, reply) => {
      const report = buildIncidentReport(deps.journal, request.params.id, request.query.minutes, clock());
      if (report === undefined) throw new GuardpostError('GP_ERR_NOT_FOUND', `no alarm ${request.params.id} in the journal`);
      if (request.query.format === 'json') return report;
      return reply
        .type('text/html; charset=utf-8')
        .header('content-disposition', `inline; filename="incident-${report.alarm}.html"`)
        .send(incidentReportHtml(report));
    },
  );
}
