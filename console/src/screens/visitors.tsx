import type { JSX } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { api, ApiError, type JournalEvent, type Role } from '../api.js';
import { coalesce } from '../coalesce.js';
import { live, useLive } from '../live.js';
import type { Occupancy, Visitor, WatchedPerson } from '../threat.js';
import { visitState, type VisitState } from '../threatViews.js';
import { clock, dateTime, ErrorText, Field, Section, StatusBadge, useAction } from '../ui.js';
import { openAlarm } from './alarm.js';

const stateTone: Record<VisitState, 'ok' | 'bad' | 'warn' | 'neutral'> = { expected: 'neutral', inside: 'ok', left: 'neutral', expired: 'warn', blocked: 'bad' };

/** The local date (YYYY-MM-DD) of a moment, as the date picker shows it. */
const localDate = (ms: number): string => {
  const date = new Date(ms);
  return `${date.getFullYear()}-${String(date.getMonth() + 1).padStart(2, '0')}-${String(date.getDate()).padStart(2, '0')}`;
};
/** A datetime-local value for a moment (minutes). */
const localDateTime = (ms: number): string => {
  const date = new Date(ms);
  return `${localDate(ms)}T${String(date.getHours()).padStart(2, '0')}:${String(date.getMinutes()).padStart(2, '0')}`;
};

/** Visitors: register (screened against the watch list), the day's visitors with their state, and the watch list of people. */
export function VisitorsScreen(_props: { role: Role }): JSX.Element {
  const [day, setDay] = useState(localDate(Date.now()));
  const [visitors, setVisitors] = useState<readonly Visitor[] | null>(null);
  const [inside, setInside] = useState<ReadonlySet<string>>(new Set());
  const [matchAlarms, setMatchAlarms] = useState<Readonly<Record<string, string>>>({});
  const [error, setError] = useState<unknown>(null);
  const reload = useMemo(
    () =>
      coalesce(async () => {
        const [list, occupancy, matches] = await Promise.all([
          api<Visitor[]>(`/api/v1/visitors?date=${day}`),
          api<Occupancy>('/api/v1/occupancy'),
          api<JournalEvent[]>(`/api/v1/events?type=visitor.watchlist_match&since=${new Date(Date.parse(`${day}T00:00:00`) - 86_400_000).toISOString()}&limit=500`),
        ]);
        setVisitors(list);
        setInside(new Set(occupancy.areas.flatMap((area) => area.people.map((person) => person.cardholder))));
        setMatchAlarms(Object.fromEntries(matches.map((event) => [String(event.data.visitor), String(event.data.alarm)])));
        setError(null);
      }, setError),
    [day],
  );
  useEffect(() => {
    void reload();
  }, [reload]);
  // A visitor's grant, check-out, expiry or match changes the list: follow the stream.
  useEffect(
    () =>
      live.subscribeEvents((event) => {
        if (event.type.startsWith('visitor.') || (event.type === 'access.granted' && event.cardholder?.startsWith('visitor-') === true) || event.type === 'muster.ended') void reload();
      }),
    [reload],
  );

  return (
    <div class="screen">
      <h1>Visitors</h1>
      <div class="grid-2">
        <RegisterVisitor onRegistered={() => void reload()} matchAlarms={matchAlarms} />
        <Section title="Visitors of the day">
          <div class="inline-form">
            <Field label="Day" type="date" value={day} onInput={(value) => value !== '' && setDay(value)} />
          </div>
          <ErrorText error={error} />
          {visitors === null ? <p class="muted">Loading…</p> : <VisitorTable visitors={visitors} inside={inside} matchAlarms={matchAlarms} onChange={() => void reload()} />}
        </Section>
      </div>
      <WatchList />
    </div>
  );
}

function RegisterVisitor(props: { onRegistered: () => void; matchAlarms: Readonly<Record<string, string>> }): JSX.Element {
  const empty = { name: '', company: '', host: '', expectedAt: localDateTime(Date.now()), photoUrl: '', card: '', identifiers: '' };
  const [draft, setDraft] = useState(empty);
  const [escorted, setEscorted] = useState(false);
  const [registered, setRegistered] = useState<Visitor | null>(null);
  const register = useAction(async () => {
    const expectedMs = Date.parse(draft.expectedAt);
    const body: Record<string, unknown> = { name: draft.name.trim(), host: draft.host.trim(), expectedAt: Number.isNaN(expectedMs) ? draft.expectedAt : new Date(expectedMs).toISOString(), escorted };
    if (draft.company.trim() !== '') body.company = draft.company.trim();
    if (draft.photoUrl.trim() !== '') body.photoUrl = draft.photoUrl.trim();
    if (draft.card.trim() !== '') body.card = draft.card.trim();
    const identifiers = draft.identifiers.split(/[,;\n]/).map((value) => value.trim()).filter((value) => value !== '');
    if (identifiers.length > 0) body.identifiers = identifiers;
    const visitor = await api<Visitor>('/api/v1/visitors', { method: 'POST', body });
    setRegistered(visitor);
    setDraft({ ...empty, expectedAt: draft.expectedAt });
    setEscorted(false);
    props.onRegistered();
  });
  const apiError = register.error instanceof ApiError ? register.error : null;
  const fieldError = (field: string): string | undefined => apiError?.forField(field);
  const set = (field: keyof typeof empty) => (value: string) => setDraft({ ...draft, [field]: value });
  const placed = ['name', 'company', 'host', 'expectedAt', 'photoUrl', 'card', 'identifiers', 'escorted'].some((field) => fieldError(field) !== undefined);
  const alarm = registered === null ? undefined : props.matchAlarms[registered.id];
  return (
    <Section title="Register a visitor">
      <form
        aria-label="Register a visitor"
        onSubmit={(event) => {
          event.preventDefault();
          void register.run();
        }}
      >
        <Field label="Visitor's name" value={draft.name} onInput={set('name')} required error={fieldError('name')} autoComplete="off" />
        <Field label="Company" value={draft.company} onInput={set('company')} error={fieldError('company')} />
        <Field label="Host" value={draft.host} onInput={set('host')} required hint="Whom they visit: a name or a cardholder id" error={fieldError('host')} />
        <Field label="Expected at" type="datetime-local" value={draft.expectedAt} onInput={set('expectedAt')} required error={fieldError('expectedAt')} />
        <Field label="Photo URL" value={draft.photoUrl} onInput={set('photoUrl')} placeholder="https://…" error={fieldError('photoUrl')} />
        <Field label="Visitor card number" value={draft.card} onInput={set('card')} hint="The card handed out; empty: one is issued from the site's range" error={fieldError('card')} />
        <Field label="Identifiers" value={draft.identifiers} onInput={set('identifiers')} hint="Document number, e-mail, phone (comma-separated): screened against the watch list, never kept" error={fieldError('identifiers')} />
        <label class="check">
          <input type="checkbox" checked={escorted} onChange={(event) => setEscorted((event.currentTarget as HTMLInputElement).checked)} /> Escorted: the card opens a door only with an escort
        </label>
        {fieldError('escorted') !== undefined ? <p class="field-error">{fieldError('escorted')}</p> : null}
        {register.error !== null && !placed ? <ErrorText error={register.error} /> : null}
        <p class="button-row">
          <button type="submit" class="primary" disabled={register.busy}>
            Register
          </button>
        </p>
      </form>
      {registered !== null ? (
        registered.status === 'blocked' ? (
          <div class="error" role="alert" data-testid="registration-result">
            <strong>{registered.name} is blocked: the watch list matches.</strong> The card is suspended and security has a silent alarm to review.
            <ul>
              {registered.matches.map((match) => (
                <li key={match.entry}>
                  on {match.on}: {match.reason}
                  {match.addedBy !== null ? ` (added by ${match.addedBy})` : ''}
                </li>
              ))}
            </ul>
            {alarm !== undefined ? <AlarmLink alarm={alarm} /> : null}
          </div>
        ) : (
          <p class="notice" role="status" data-testid="registration-result">
            {registered.name} is registered: card {registered.card}, valid until {clock(registered.validUntil)}.
          </p>
        )
      ) : null}
    </Section>
  );
}

function AlarmLink(props: { alarm: string }): JSX.Element {
  const { alarms } = useLive();
  const open = alarms.some((alarm) => alarm.id === props.alarm);
  return open ? (
    <button type="button" class="link" onClick={() => openAlarm(props.alarm)}>
      Open the watch-list alarm
    </button>
  ) : (
    <a href={`/alarms/${props.alarm}/report`}>Incident report of the watch-list alarm</a>
  );
}

function VisitorTable(props: { visitors: readonly Visitor[]; inside: ReadonlySet<string>; matchAlarms: Readonly<Record<string, string>>; onChange: () => void }): JSX.Element {
  const [approving, setApproving] = useState<string | null>(null);
  const [note, setNote] = useState('');
  const checkOut = useAction(async (id: string) => {
    await api(`/api/v1/visitors/${id}/check-out`, { method: 'POST' });
    props.onChange();
  });
  const approve = useAction(async (id: string) => {
    await api(`/api/v1/visitors/${id}/approve`, { method: 'POST', body: { note } });
    setApproving(null);
    setNote('');
    props.onChange();
  });
  if (props.visitors.length === 0) return <p class="muted">No visitors registered for this day.</p>;
  return (
    <>
      <ErrorText error={checkOut.error ?? approve.error} />
      <ul class="visitor-list" aria-label="Visitors">
        {props.visitors.map((visitor) => {
          const state = visitState(visitor, props.inside);
          const alarm = props.matchAlarms[visitor.id];
          return (
            <li key={visitor.id} data-visitor={visitor.id} class={state === 'blocked' ? 'visitor-blocked' : undefined}>
              <div>
                <strong>{visitor.name}</strong>
                {visitor.company !== null ? <span> · {visitor.company}</span> : null} <StatusBadge value={state} tone={stateTone[state]} />
                {visitor.escorted ? <StatusBadge value="escorted" /> : null}
              </div>
              <div class="muted">
                Host {visitor.host} · expected {dateTime(visitor.expectedAt)} · card {visitor.card} · until {clock(visitor.validUntil)}
                {visitor.photoUrl !== null ? (
                  <>
                    {' '}
                    ·{' '}
                    <a href={visitor.photoUrl} target="_blank" rel="noopener noreferrer">
                      photo
                    </a>
                  </>
                ) : null}
              </div>
              {state === 'blocked' ? (
                <div class="match">
                  Watch-list match: {visitor.matches.map((match) => `${match.on}: ${match.reason}`).join('; ')} {alarm !== undefined ? <AlarmLink alarm={alarm} /> : null}
                </div>
              ) : null}
              {visitor.approvedBy !== null ? <div class="muted">Approved after a match by {visitor.approvedBy}</div> : null}
              <div class="button-row">
                {visitor.status === 'active' || visitor.status === 'blocked' ? (
                  <button type="button" disabled={checkOut.busy} onClick={() => void checkOut.run(visitor.id)} aria-label={`Check out ${visitor.name}`}>
                    Check out
                  </button>
                ) : null}
                {visitor.status === 'blocked' && approving !== visitor.id ? (
                  <button type="button" onClick={() => setApproving(visitor.id)} aria-label={`Review the match of ${visitor.name}`}>
                    Review match
                  </button>
                ) : null}
              </div>
              {approving === visitor.id ? (
                <form
                  aria-label={`Approve ${visitor.name}`}
                  onSubmit={(event) => {
                    event.preventDefault();
                    void approve.run(visitor.id);
                  }}
                >
                  <Field label="Why the match is not this person" value={note} onInput={setNote} required />
                  <div class="button-row">
                    <button type="submit" class="primary" disabled={approve.busy || note.trim() === ''}>
                      Let them in
                    </button>
                    <button type="button" onClick={() => setApproving(null)}>
                      Cancel
                    </button>
                  </div>
                </form>
              ) : null}
            </li>
          );
        })}
      </ul>
    </>
  );
}

/** Security's watch list of people: screened at every registration. */
function WatchList(): JSX.Element {
  const [entries, setEntries] = useState<readonly WatchedPerson[] | null>(null);
  const [name, setName] = useState('');
  const [identifiers, setIdentifiers] = useState('');
  const [reason, setReason] = useState('');
  const [removing, setRemoving] = useState<string | null>(null);
  const load = useAction(async () => setEntries(await api<WatchedPerson[]>('/api/v1/watch-list/people')));
  useEffect(() => {
    void load.run();
  }, []);
  const add = useAction(async () => {
    const body: Record<string, unknown> = { reason: reason.trim() };
    if (name.trim() !== '') body.name = name.trim();
    const ids = identifiers.split(/[,;\n]/).map((value) => value.trim()).filter((value) => value !== '');
    if (ids.length > 0) body.identifiers = ids;
    await api('/api/v1/watch-list/people', { method: 'POST', body });
    setName('');
    setIdentifiers('');
    setReason('');
    await load.run();
  });
  const remove = useAction(async (id: string) => {
    await api(`/api/v1/watch-list/people/${id}`, { method: 'DELETE' });
    setRemoving(null);
    await load.run();
  });
  const apiError = add.error instanceof ApiError ? add.error : null;
  return (
    <Section title="Watch list of people">
      <p class="muted">Names and identifiers of people with a history of threats. Every visitor registration is screened against them (case, spacing, accents and word order do not matter).</p>
      <ErrorText error={load.error ?? remove.error} />
      {entries === null ? null : entries.length === 0 ? (
        <p class="muted">Nobody is on the watch list.</p>
      ) : (
        <div class="table-wrap">
          <table data-testid="watch-list">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Identifiers</th>
                <th scope="col">Reason</th>
                <th scope="col">Added</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {entries.map((entry) => (
                <tr key={entry.id} data-entry={entry.id}>
                  <td>{entry.name ?? '—'}</td>
                  <td>{entry.identifiers.join(', ') || '—'}</td>
                  <td>{entry.reason}</td>
                  <td>{entry.source === 'cardholder' ? 'site data (watch-listed cardholder)' : `${entry.addedBy ?? 'unknown'}, ${dateTime(entry.addedAt)}`}</td>
                  <td>
                    {entry.source === 'people' ? (
                      removing === entry.id ? (
                        <span class="button-row">
                          <button type="button" class="danger" disabled={remove.busy} onClick={() => void remove.run(entry.id)}>
                            Remove {entry.name ?? 'entry'}
                          </button>
                          <button type="button" onClick={() => setRemoving(null)}>
                            Keep
                          </button>
                        </span>
                      ) : (
                        <button type="button" onClick={() => setRemoving(entry.id)} aria-label={`Remove ${entry.name ?? entry.id} from the watch list`}>
                          Remove
                        </button>
                      )
                    ) : null}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <form
        aria-label="Add to the watch list"
        class="watch-form"
        onSubmit={(event) => {
          event.preventDefault();
          void add.run();
        }}
      >
        <h3>Add a person</h3>
        <Field label="Name on the watch list" value={name} onInput={setName} error={apiError?.forField('name')} />
        <Field label="Identifiers to watch" value={identifiers} onInput={setIdentifiers} hint="Document number, e-mail, phone (comma-separated)" error={apiError?.forField('identifiers')} />
        <Field label="Reason" value={reason} onInput={setReason} required error={apiError?.forField('reason')} />
        {add.error !== null && apiError?.forField('name') === undefined && apiError?.forField('reason') === undefined && apiError?.forField('identifiers') === undefined ? <ErrorText error={add.error} /> : null}
        <button type="submit" disabled={add.busy}>
          Add to the watch list
        </button>
      </form>
    </Section>
  );
}
