import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, download, type Role } from '../api.js';
import type { AlarmResponse, Breakdown, Figures, ResponseTimeReport } from '../threat.js';
import { useLive } from '../live.js';
import { dateTime, ErrorText, Field, Section, Select, useAction } from '../ui.js';
import { byAcknowledger, duration } from '../threatViews.js';

/** The response-time KPIs the team reviews: real alarms and drills apart, CSV for the spreadsheet. */
export function ResponseTimesScreen(_props: { role: Role }): JSX.Element {
  const [period, setPeriod] = useState<'week' | 'month'>('week');
  const [from, setFrom] = useState('');
  const [to, setTo] = useState('');
  const [report, setReport] = useState<ResponseTimeReport | null>(null);
  const query = (format: 'json' | 'csv'): string => {
    const params = new URLSearchParams({ period, format });
    // Dates are local days: from the start of "from" to the end of "to".
    if (from !== '') params.set('from', new Date(`${from}T00:00:00`).toISOString());
    if (to !== '') params.set('to', new Date(Date.parse(`${to}T00:00:00`) + 86_400_000).toISOString());
    return `/api/v1/reports/response-times?${params.toString()}`;
  };
  const load = useAction(async () => setReport(await api<ResponseTimeReport>(query('json'))));
  const save = useAction(() => download(query('csv'), `response-times-${report?.from.slice(0, 10) ?? 'range'}-${report?.to.slice(0, 10) ?? ''}.csv`));
  useEffect(() => {
    void load.run();
  }, [period]);

  return (
    <div class="screen">
      <h1>Response times</h1>
      <Section title="Range">
        <form
          class="inline-form"
          aria-label="Report range"
          onSubmit={(event) => {
            event.preventDefault();
            void load.run();
          }}
        >
          <Select label="Per" value={period} options={[['week', 'week'], ['month', 'month']]} onChange={setPeriod} />
          <Field label="From (day)" type="date" value={from} onInput={setFrom} hint="Empty: the last 30 days" />
          <Field label="To (day)" type="date" value={to} onInput={setTo} />
          <button type="submit" disabled={load.busy}>
            Show
          </button>
          <button type="button" onClick={() => void save.run()} disabled={save.busy}>
            Export CSV
          </button>
        </form>
        <ErrorText error={load.error ?? save.error} />
        {report !== null ? (
          <p class="muted" data-testid="report-range">
            Alarms raised {dateTime(report.from)} to {dateTime(report.to)} ({report.timezone}); median and 90th percentile.
          </p>
        ) : null}
      </Section>
      {report !== null ? (
        <>
          <Kpis title="Real alarms" testId="real" breakdown={report.real} alarms={report.alarms.filter((alarm) => !alarm.drill)} period={period} />
          <Kpis title="Drills" testId="drills" breakdown={report.drills} alarms={report.alarms.filter((alarm) => alarm.drill)} period={period} />
        </>
      ) : null}
    </div>
  );
}

function Kpis(props: { title: string; testId: string; breakdown: Breakdown; alarms: readonly AlarmResponse[]; period: 'week' | 'month' }): JSX.Element {
  const { breakdown } = props;
  const { doors } = useLive();
  const doorName = (id: string): string => (id === 'none' ? 'no door' : (doors.find((door) => door.id === id)?.name ?? id));
  const total = breakdown.total;
  return (
    <Section title={`${props.title} (${total.count})`} id={`kpi-${props.testId}`}>
      {total.count === 0 ? (
        <p class="muted">None in this range.</p>
      ) : (
        <>
          <dl class="kpis" data-testid={`${props.testId}-total`}>
            <div>
              <dt>Time to acknowledge</dt>
              <dd>
                median <strong data-testid={`${props.testId}-ack-median`}>{duration(total.acknowledgeSeconds.median)}</strong> · p90 <strong data-testid={`${props.testId}-ack-p90`}>{duration(total.acknowledgeSeconds.p90)}</strong>
              </dd>
            </div>
            <div>
              <dt>Time to clear</dt>
              <dd>
                median <strong data-testid={`${props.testId}-clear-median`}>{duration(total.clearSeconds.median)}</strong> · p90 <strong data-testid={`${props.testId}-clear-p90`}>{duration(total.clearSeconds.p90)}</strong>
              </dd>
            </div>
            <div>
              <dt>Handled</dt>
              <dd>
                {total.acknowledged} acknowledged, {total.cleared} cleared of {total.count}
              </dd>
            </div>
          </dl>
          <FiguresTable caption={`By ${props.period}`} rows={breakdown.byPeriod} />
          <FiguresTable caption="By type" rows={breakdown.byKind} />
          <FiguresTable caption="By door" rows={breakdown.byDoor} label={doorName} />
          <FiguresTable caption="By hour of day" rows={breakdown.byHour} label={(key) => `${key}:00`} />
          <div class="table-wrap">
            <table>
              <caption>Who acknowledged</caption>
              <thead>
                <tr>
                  <th scope="col">Who</th>
                  <th scope="col">Alarms</th>
                  <th scope="col">Median</th>
                  <th scope="col">p90</th>
                </tr>
              </thead>
              <tbody>
                {byAcknowledger(props.alarms).map((row) => (
                  <tr key={row.who} data-who={row.who}>
                    <th scope="row">{row.who}</th>
                    <td>{row.count}</td>
                    <td>{duration(row.median)}</td>
                    <td>{duration(row.p90)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
          <details class="each-alarm">
            <summary>Each alarm ({props.alarms.length})</summary>
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Raised</th>
                    <th scope="col">Type</th>
                    <th scope="col">Where</th>
                    <th scope="col">Acknowledged</th>
                    <th scope="col">Cleared</th>
                    <th scope="col">Report</th>
                  </tr>
                </thead>
                <tbody>
                  {props.alarms.map((alarm) => (
                    <tr key={alarm.alarm} data-alarm={alarm.alarm}>
                      <td>{dateTime(alarm.raisedAt)}</td>
                      <td>{alarm.kind}</td>
                      <td>{alarm.door !== null ? doorName(alarm.door) : (alarm.zone ?? alarm.device ?? '—')}</td>
                      <td>{alarm.acknowledgeSeconds === null ? 'not yet' : `after ${duration(alarm.acknowledgeSeconds)} by ${alarm.acknowledgedBy ?? 'unknown'}`}</td>
                      <td>{alarm.clearSeconds === null ? 'not yet' : `after ${duration(alarm.clearSeconds)} by ${alarm.clearedBy ?? 'unknown'}`}</td>
                      <td>
                        <a href={`/alarms/${alarm.alarm}/report`}>Incident report</a>
                      </td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </details>
        </>
      )}
    </Section>
  );
}

function FiguresTable(props: { caption: string; rows: Readonly<Record<string, Figures>>; label?: (key: string) => string }): JSX.Element {
  return (
    <div class="table-wrap">
      <table>
        <caption>{props.caption}</caption>
        <thead>
          <tr>
            <th scope="col">{props.caption.replace(/^By (.)/, (_whole, first: string) => first.toUpperCase())}</th>
            <th scope="col">Alarms</th>
            <th scope="col">Acknowledge median</th>
            <th scope="col">Acknowledge p90</th>
            <th scope="col">Clear median</th>
            <th scope="col">Clear p90</th>
          </tr>
        </thead>
        <tbody>
          {Object.entries(props.rows).map(([key, figures]) => (
            <tr key={key} data-key={key}>
              <th scope="row">{props.label?.(key) ?? key}</th>
              <td>{figures.count}</td>
              <td>{duration(figures.acknowledgeSeconds.median)}</td>
              <td>{duration(figures.acknowledgeSeconds.p90)}</td>
              <td>{duration(figures.clearSeconds.median)}</td>
              <td>{duration(figures.clearSeconds.p90)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
