import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, download, roleAllows, type JournalEvent, type Role } from '../api.js';
import { dateTime, describeEvent, ErrorText, Field, Section, severityClass, useAction } from '../ui.js';

const PAGE = 100;

interface Filters {
  since: string;
  until: string;
  type: string;
  door: string;
  device: string;
  cardholder: string;
  alarm: string;
}

const noFilters: Filters = { since: '', until: '', type: '', door: '', device: '', cardholder: '', alarm: '' };

/** The filters as the API's query: local date-times become ISO-8601 UTC. */
function queryOf(filters: Filters): URLSearchParams {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(filters) as [keyof Filters, string][]) {
    if (value.trim() === '') continue;
    if (key === 'since' || key === 'until') {
      const ms = Date.parse(value);
      query.set(key, Number.isNaN(ms) ? value : new Date(ms).toISOString());
    } else query.set(key, value.trim());
  }
  return query;
}

/** History: the journal with filters, CSV export, and the alarms' incident reports. */
export function HistoryScreen(props: { role: Role }): JSX.Element {
  const [draft, setDraft] = useState<Filters>(noFilters);
  const [events, setEvents] = useState<readonly JournalEvent[]>([]);
  const [more, setMore] = useState(false);
  const [alarms, setAlarms] = useState<readonly JournalEvent[]>([]);
  const mayExport = roleAllows(props.role, 'security');

  const search = useAction(async (append: boolean) => {
    const query = queryOf(draft);
    query.set('limit', String(PAGE));
    const last = events[events.length - 1];
    if (append && last !== undefined) query.set('before', String(last.seq));
    const page = await api<JournalEvent[]>(`/api/v1/events?${query.toString()}`);
    setEvents(append ? [...events, ...page] : page);
    setMore(page.length === PAGE);
  });
  const exportCsv = useAction(() => download(`/api/v1/events/export?${new URLSearchParams([...queryOf(draft), ['format', 'csv']]).toString()}`, 'guardpost-events.csv'));

  useEffect(() => {
    void search.run(false);
    api<JournalEvent[]>('/api/v1/events?type=alarm.raised&limit=50').then(setAlarms, () => setAlarms([]));
  }, []);

  const apiError = search.error instanceof ApiError ? search.error : null;
  const fieldError = (field: keyof Filters): string | undefined => apiError?.forField(field);
  const placed = (Object.keys(noFilters) as (keyof Filters)[]).some((field) => fieldError(field) !== undefined);
  const set = (field: keyof Filters) => (value: string) => setDraft({ ...draft, [field]: value });

  return (
    <div class="screen">
      <h1>History</h1>
      <Section title="Filters">
        <form
          class="inline-form"
          aria-label="Event filters"
          onSubmit={(event) => {
            event.preventDefault();
            void search.run(false);
          }}
        >
          <Field label="From" type="datetime-local" value={draft.since} onInput={set('since')} error={fieldError('since')} />
          <Field label="Until" type="datetime-local" value={draft.until} onInput={set('until')} error={fieldError('until')} />
          <Field label="Event type" value={draft.type} onInput={set('type')} placeholder="access.denied or access" error={fieldError('type')} />
          <Field label="Door" value={draft.door} onInput={set('door')} error={fieldError('door')} />
          <Field label="Device" value={draft.device} onInput={set('device')} error={fieldError('device')} />
          <Field label="Cardholder" value={draft.cardholder} onInput={set('cardholder')} error={fieldError('cardholder')} />
          <Field label="Alarm" value={draft.alarm} onInput={set('alarm')} error={fieldError('alarm')} />
          <button type="submit" class="primary" disabled={search.busy}>
            Search
          </button>
          <button
            type="button"
            onClick={() => {
              setDraft(noFilters);
            }}
          >
            Reset filters
          </button>
          {mayExport ? (
            <button type="button" onClick={() => void exportCsv.run()} disabled={exportCsv.busy}>
              Export CSV
            </button>
          ) : null}
        </form>
        {!placed ? <ErrorText error={search.error} /> : null}
        <ErrorText error={exportCsv.error} />
      </Section>
      <Section title={`Events (${events.length}${more ? '+' : ''})`}>
        <div class="table-wrap">
          <table data-testid="history">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Event</th>
                <th scope="col">Severity</th>
                <th scope="col">Seq</th>
              </tr>
            </thead>
            <tbody>
              {events.map((event) => (
                <tr key={event.seq} class={severityClass(event.severity)} data-type={event.type}>
                  <td>{dateTime(event.time)}</td>
                  <td>{describeEvent(event)}</td>
                  <td>{event.severity}</td>
                  <td>{event.seq}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {events.length === 0 && !search.busy ? <p>No event matches these filters.</p> : null}
        {more ? (
          <button type="button" onClick={() => void search.run(true)} disabled={search.busy}>
            Older events
          </button>
        ) : null}
      </Section>
      <Section title="Incident reports">
        {alarms.length === 0 ? (
          <p class="muted">No alarm has been raised.</p>
        ) : (
          <ul class="plain" data-testid="incident-reports">
            {alarms.map((event) => {
              const alarm = typeof event.data.alarm === 'string' ? event.data.alarm : null;
              return (
                <li key={event.seq}>
                  {dateTime(event.time)} {describeEvent(event)}
                  {alarm !== null && mayExport ? (
                    <>
                      {' '}
                      · <a href={`/alarms/${alarm}/report`}>Incident report for {alarm}</a>
                    </>
                  ) : null}
                </li>
              );
            })}
          </ul>
        )}
        {!mayExport ? <p class="muted">Incident reports and exports need the security role.</p> : null}
      </Section>
    </div>
  );
}
