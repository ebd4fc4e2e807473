import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, download, type JournalEvent } from '../api.js';
import { dateTime, describeEvent, ErrorText, Section, severityClass, useAction } from '../ui.js';

interface IncidentReport {
  readonly alarm: string;
  readonly site: string;
  readonly generatedAt: string;
  readonly windowMinutes: number;
  readonly window: { readonly from: string; readonly until: string };
  readonly raisedAt: string;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  readonly clearedAt: string | null;
  readonly clearedBy: string | null;
  readonly escalations: number;
  readonly doors: readonly string[];
  readonly devices: readonly string[];
  readonly zone: string | null;
  readonly lifecycle: readonly JournalEvent[];
  readonly cameraTriggers: readonly JournalEvent[];
  readonly around: readonly JournalEvent[];
  readonly truncated: boolean;
  readonly sha256: string;
}

/** One alarm's incident report (GET /api/v1/alarms/:id/report), with its printable HTML to download. */
export function AlarmReportScreen(props: { alarmId: string }): JSX.Element {
  const [minutes, setMinutes] = useState(15);
  const [report, setReport] = useState<IncidentReport | null>(null);
  const load = useAction(async () => setReport(await api<IncidentReport>(`/api/v1/alarms/${props.alarmId}/report?minutes=${minutes}&format=json`)));
  const save = useAction(() => download(`/api/v1/alarms/${props.alarmId}/report?minutes=${minutes}&format=html`, `incident-${props.alarmId}.html`));
  useEffect(() => {
    void load.run();
  }, [props.alarmId, minutes]);

  return (
    <div class="screen">
      <h1>Incident report: alarm {props.alarmId}</h1>
      <ErrorText error={load.error} />
      <div class="inline-form">
        <label>
          Minutes around the alarm{' '}
          <select value={String(minutes)} onChange={(event) => setMinutes(Number((event.currentTarget as HTMLSelectElement).value))}>
            {[5, 15, 30, 60].map((value) => (
              <option key={value} value={String(value)}>
                {value}
              </option>
            ))}
          </select>
        </label>
        <button type="button" onClick={() => void save.run()} disabled={save.busy}>
          Download printable report (HTML)
        </button>
        <ErrorText error={save.error} />
      </div>
      {report !== null ? (
        <>
          <Section title="Summary">
            <dl class="facts" data-testid="report-summary">
              <dt>Raised</dt>
              <dd>{dateTime(report.raisedAt)}</dd>
              <dt>Acknowledged</dt>
              <dd>{report.acknowledgedAt === null ? 'not yet' : `${dateTime(report.acknowledgedAt)} by ${report.acknowledgedBy ?? 'unknown'}`}</dd>
              <dt>Cleared</dt>
              <dd>{report.clearedAt === null ? 'not yet' : `${dateTime(report.clearedAt)} by ${report.clearedBy ?? 'unknown'}`}</dd>
              <dt>Escalations</dt>
              <dd>{report.escalations}</dd>
              <dt>Where</dt>
              <dd>{[...report.doors, ...report.devices, ...(report.zone === null ? [] : [report.zone])].join(', ') || 'unknown'}</dd>
              <dt>SHA-256 of the events</dt>
              <dd>
                <code class="wrap">{report.sha256}</code>
              </dd>
            </dl>
          </Section>
          <EventTable title="Lifecycle" events={report.lifecycle} />
          <EventTable title="Camera triggers" events={report.cameraTriggers} />
          <EventTable title={`Around it (${report.windowMinutes} minutes either side)`} events={report.around} />
          {report.truncated ? <p class="muted">The report was cut short: download the HTML or export the history for everything.</p> : null}
        </>
      ) : null}
    </div>
  );
}

export function EventTable(props: { title: string; events: readonly JournalEvent[] }): JSX.Element {
  return (
    <Section title={props.title}>
      {props.events.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Severity</th>
              </tr>
            </thead>
            <tbody>
              {props.events.map((event) => (
                <tr key={event.seq} class={severityClass(event.severity)}>
                  <td>{dateTime(event.time)}</td>
                  <td>{describeEvent(event)}</td>
                  <td>{event.severity}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </Section>
  );
}
