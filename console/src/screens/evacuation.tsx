import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, download, roleAllows, type JournalEvent, type Role } from '../api.js';
import { useLive } from '../live.js';
import { navigate, usePath } from '../router.js';
import { soundFor } from '../sound.js';
import { evacuation, useEvacuation, type EvacuationBrief, type EvacuationView, type MusterEntry } from '../threat.js';
import { triggerText as triggerWords } from '../threatViews.js';
import { clock, dateTime, ErrorText, Field, Section, setInertBehind, StatusBadge, useAction } from '../ui.js';

/** How it started, with the fire panel's name once the live data has it. */
function useTriggerText(): (brief: Pick<EvacuationBrief, 'trigger' | 'startedBy' | 'reason'>) => string {
  const { devices } = useLive();
  return (brief) => triggerWords(brief, (id) => devices.find((device) => device.id === id)?.name ?? id);
}

const safeText = (entry: MusterEntry, doorName: (id: string | null) => string): string => {
  if (entry.safe === null) return 'missing';
  const how = entry.safe.via === 'reader' ? `badged at ${entry.safe.point !== null ? doorName(entry.safe.point) : 'the muster point'}` : `marked by ${entry.safe.by ?? 'someone'}`;
  return `safe ${clock(entry.safe.at)}, ${how}`;
};

/**
 * Evacuation and mustering: start one (with a confirm), the live mustering list by area, one tap
 * to mark a person safe, end it; the list exported as CSV and the incident reports of its alarms.
 */
export function EvacuationScreen(props: { role: Role; evacuationId?: string }): JSX.Element {
  const state = useEvacuation();
  if (props.evacuationId !== undefined) return <PastEvacuation id={props.evacuationId} />;
  const mayAct = roleAllows(props.role, 'security');
  return (
    <div class="screen">
      <h1>Evacuation</h1>
      <ErrorText error={state.error} />
      {!state.loaded ? (
        <p class="muted">Loading…</p>
      ) : state.view !== null ? (
        <Mustering view={state.view} mayAct={mayAct} />
      ) : state.brief !== null ? (
        // Security hears of a start before its list arrives: a moment's counts, then the list.
        <BriefOnly brief={state.brief} forSecurity={mayAct} />
      ) : (
        <NoEvacuation mayAct={mayAct} />
      )}
      <PastEvacuations linked={mayAct} />
    </div>
  );
}

/** Viewers: the counts from the live stream, not who. */
function BriefOnly(props: { brief: EvacuationBrief; forSecurity: boolean }): JSX.Element {
  const triggerText = useTriggerText();
  return (
    <Section title="Evacuation under way">
      <p data-testid="muster-counts">
        <StatusBadge value={`${props.brief.missing} missing`} tone={props.brief.missing > 0 ? 'bad' : 'ok'} /> {props.brief.safe} of {props.brief.total} accounted for · {triggerText(props.brief)}
      </p>
      <p class="muted">{props.forSecurity ? 'Loading the mustering list…' : 'The mustering list (who is missing) is for security staff.'}</p>
    </Section>
  );
}

function NoEvacuation(props: { mayAct: boolean }): JSX.Element {
  const [reason, setReason] = useState('');
  const [confirming, setConfirming] = useState(false);
  const cancel = useFocusWhen(confirming);
  const start = useAction(async () => {
    await api('/api/v1/evacuations', { method: 'POST', body: reason.trim() === '' ? {} : { reason: reason.trim() } });
    setConfirming(false);
    setReason('');
    await evacuation.reload();
  });
  return (
    <Section title="No evacuation is under way">
      <p class="muted">A fire-alarm input starts one on its own. The mustering list is everyone last seen inside an area when it starts.</p>
      {props.mayAct ? (
        <form
          aria-label="Start an evacuation"
          onSubmit={(event) => {
            event.preventDefault();
            if (confirming) void start.run();
            else setConfirming(true);
          }}
        >
          <Field label="Reason (optional)" value={reason} onInput={setReason} placeholder="gas smell on floor 2" />
          {confirming ? (
            <div class="confirm" role="group" aria-label="Confirm the evacuation">
              <p>
                <strong>Start an evacuation now?</strong> Everyone signed in to the console is told, and the mustering list is taken from who is inside.
              </p>
              <div class="button-row">
                <button type="submit" class="danger" disabled={start.busy}>
                  Yes, start the evacuation
                </button>
                <button type="button" ref={cancel} onClick={() => setConfirming(false)}>
                  Cancel
                </button>
              </div>
            </div>
          ) : (
            <button type="submit" class="danger">
              Start an evacuation
            </button>
          )}
          <ErrorText error={start.error} />
        </form>
      ) : null}
    </Section>
  );
}

function Mustering(props: { view: EvacuationView; mayAct: boolean }): JSX.Element {
  const { view, mayAct } = props;
  const live = useLive();
  const [missingOnly, setMissingOnly] = useState(false);
  const [search, setSearch] = useState('');
  const [extra, setExtra] = useState('');
  const [confirmEnd, setConfirmEnd] = useState(false);
  const keepGoing = useFocusWhen(confirmEnd);
  const doorName = (id: string | null): string => (id === null ? '—' : (live.doors.find((door) => door.id === id)?.name ?? live.devices.find((device) => device.id === id)?.name ?? id));
  const areaName = useAreaNames();
  const triggerText = useTriggerText();

  const mark = useAction(async (cardholder: string) => {
    await api(`/api/v1/evacuations/${view.id}/safe`, { method: 'POST', body: { cardholder } });
    await evacuation.reload();
  });
  const markExtra = useAction(async () => {
    await api(`/api/v1/evacuations/${view.id}/safe`, { method: 'POST', body: { cardholder: extra.trim() } });
    setExtra('');
    await evacuation.reload();
  });
  const end = useAction(async () => {
    await api(`/api/v1/evacuations/${view.id}/end`, { method: 'POST' });
    setConfirmEnd(false);
    navigate(`/evacuation/${view.id}`);
    await evacuation.reload();
  });

  const needle = search.trim().toLowerCase();
  const shown = view.people.filter((entry) => (!missingOnly || entry.safe === null) && (needle === '' || entry.name.toLowerCase().includes(needle) || entry.cardholder.includes(needle)));
  // By area, as the marshals search their own part of the floor; people found outside any area last.
  const areaIds = [...new Set(view.people.flatMap((entry) => (entry.areas.length === 0 ? ['(not seen inside)'] : entry.areas)))];

  return (
    <>
      <Section title="Evacuation under way" id="muster-summary">
        <p class="muster-counts" data-testid="muster-counts">
          <StatusBadge value={`${view.summary.missing} missing`} tone={view.summary.missing > 0 ? 'bad' : 'ok'} /> <strong>{view.summary.safe}</strong> of {view.summary.total} accounted for
        </p>
        <p>
          Started {dateTime(view.startedAt)} · {triggerText(view)}
        </p>
        <ul class="plain area-counts">
          {view.summary.byArea.map((area) => (
            <li key={area.area}>
              {areaName(area.area)}: {area.missing} missing of {area.total}
            </li>
          ))}
        </ul>
        <p class="button-row">
          <ExportButton id={view.id} startedAt={view.startedAt} />
          <a href={`/evacuation/${view.id}`}>Record and incident reports</a>
        </p>
      </Section>
      <Section title="Mustering list">
        <div class="inline-form">
          <Field label="Find a person" type="search" value={search} onInput={setSearch} />
          <label class="check">
            <input type="checkbox" checked={missingOnly} onChange={(event) => setMissingOnly((event.currentTarget as HTMLInputElement).checked)} /> Missing only
          </label>
        </div>
        <ErrorText error={mark.error} />
        {areaIds.map((area) => {
          const people = shown.filter((entry) => (entry.areas.length === 0 ? area === '(not seen inside)' : entry.areas.includes(area)));
          if (people.length === 0) return null;
          return (
            <div key={area} class="muster-area">
              <h3>{areaName(area)}</h3>
              <ul class="muster-list" aria-label={`People in ${areaName(area)}`}>
                {people.map((entry) => (
                  <li key={entry.cardholder} class={entry.safe === null ? 'muster-missing' : 'muster-safe'} data-cardholder={entry.cardholder}>
                    <div>
                      <strong>{entry.name}</strong>
                      <span class="muted"> · last read {clock(entry.lastSeenAt)} at {doorName(entry.lastSeenDoor)}</span>
                      <div data-testid="muster-status">
                        <StatusBadge value={safeText(entry, doorName)} tone={entry.safe === null ? 'bad' : 'ok'} />
                      </div>
                    </div>
                    {mayAct && entry.safe === null ? (
                      <button type="button" class="primary" disabled={mark.busy} onClick={() => void mark.run(entry.cardholder)} aria-label={`Mark ${entry.name} safe`}>
                        Safe
                      </button>
                    ) : null}
                  </li>
                ))}
              </ul>
            </div>
          );
        })}
        {shown.length === 0 ? <p class="muted">{missingOnly ? 'Nobody is missing.' : 'Nobody matches.'}</p> : null}
      </Section>
      {mayAct ? (
        <Section title="Close the evacuation">
          <form
            class="inline-form"
            aria-label="Someone not on the list"
            onSubmit={(event) => {
              event.preventDefault();
              void markExtra.run();
            }}
          >
            <Field label="Cardholder id of someone found who is not on the list" value={extra} onInput={setExtra} />
            <button type="submit" disabled={markExtra.busy || extra.trim() === ''}>
              Add as safe
            </button>
          </form>
          <ErrorText error={markExtra.error} />
          {confirmEnd ? (
            <div class="confirm" role="group" aria-label="Confirm the end of the evacuation">
              <p>
                <strong>End the evacuation{view.summary.missing > 0 ? ` with ${view.summary.missing} still missing` : ''}?</strong> The list is kept in the journal; occupancy starts afresh.
              </p>
              <div class="button-row">
                <button type="button" class="danger" disabled={end.busy} onClick={() => void end.run()}>
                  Yes, end it
                </button>
                <button type="button" ref={keepGoing} onClick={() => setConfirmEnd(false)}>
                  Cancel
                </button>
              </div>
            </div>
          ) : (
            <p class="button-row">
              <button type="button" onClick={() => setConfirmEnd(true)}>
                End the evacuation
              </button>
            </p>
          )}
          <ErrorText error={end.error} />
        </Section>
      ) : null}
    </>
  );
}

/** A confirmation takes the keyboard focus to its safe choice (Cancel), so Enter twice does not act. */
function useFocusWhen(shown: boolean): { current: HTMLButtonElement | null } {
  const ref = useRef<HTMLButtonElement>(null);
  useEffect(() => {
    if (shown) ref.current?.focus();
  }, [shown]);
  return ref;
}

/** Area names for ids (the list journals ids); an area deleted since shows its id. */
function useAreaNames(): (id: string) => string {
  const [names, setNames] = useState<Readonly<Record<string, string>>>({});
  useEffect(() => {
    api<{ id: string; name: string }[]>('/api/v1/areas?limit=1000').then(
      (areas) => setNames(Object.fromEntries(areas.map((area) => [area.id, area.name]))),
      () => setNames({}),
    );
  }, []);
  return (id) => names[id] ?? id;
}

function ExportButton(props: { id: string; startedAt: string }): JSX.Element {
  const save = useAction(() => download(`/api/v1/evacuations/${props.id}?format=csv`, `mustering-${props.startedAt.slice(0, 10)}-${props.id}.csv`));
  return (
    <>
      <button type="button" onClick={() => void save.run()} disabled={save.busy}>
        Export the list (CSV)
      </button>
      <ErrorText error={save.error} />
    </>
  );
}

/** Evacuations from the journal (newest first), each with its list. */
function PastEvacuations(props: { linked: boolean }): JSX.Element | null {
  const [started, setStarted] = useState<readonly JournalEvent[] | null>(null);
  const state = useEvacuation();
  useEffect(() => {
    api<JournalEvent[]>('/api/v1/events?type=muster.started&limit=10').then(setStarted, () => setStarted(null));
  }, [state.brief?.id]);
  if (started === null || started.length === 0) return null;
  return (
    <Section title="Recent evacuations">
      <ul class="plain" data-testid="past-evacuations">
        {started.map((event) => {
          const id = String(event.data.evacuation);
          return (
            <li key={event.seq}>
              {/* Each list is for security staff, as the API decides: viewers see when, not who. */}
              {props.linked ? <a href={`/evacuation/${id}`}>{dateTime(event.time)}</a> : dateTime(event.time)} · {String(event.data.count ?? 0)} people on the list · {event.reason === 'fire-alarm' ? 'fire alarm' : `started by ${String(event.data.by ?? 'the API')}`}
            </li>
          );
        })}
      </ul>
    </Section>
  );
}

/** One evacuation, ended or not: its list as it stands, the export and the incident reports of alarms in its window. */
function PastEvacuation(props: { id: string }): JSX.Element {
  const [view, setView] = useState<EvacuationView | null>(null);
  const live = useLive();
  const areaName = useAreaNames();
  const triggerText = useTriggerText();
  const placeName = (id: string | null): string => (id === null ? '' : (live.doors.find((door) => door.id === id)?.name ?? live.devices.find((device) => device.id === id)?.name ?? id));
  const [alarms, setAlarms] = useState<readonly JournalEvent[]>([]);
  const load = useAction(async () => {
    const found = await api<EvacuationView>(`/api/v1/evacuations/${props.id}`);
    setView(found);
    const window = new URLSearchParams({ type: 'alarm.raised', since: new Date(Date.parse(found.startedAt) - 15 * 60_000).toISOString(), limit: '50' });
    if (found.endedAt !== null) window.set('until', new Date(Date.parse(found.endedAt) + 15 * 60_000).toISOString());
    setAlarms(await api<JournalEvent[]>(`/api/v1/events?${window.toString()}`));
  });
  useEffect(() => {
    void load.run();
  }, [props.id]);
  return (
    <div class="screen">
      <h1>Evacuation of {view === null ? '…' : dateTime(view.startedAt)}</h1>
      <ErrorText error={load.error} />
      <p>
        <a href="/evacuation">Back to the Evacuation screen</a>
      </p>
      {view !== null ? (
        <>
          <Section title={view.endedAt === null ? 'Under way' : `Ended ${dateTime(view.endedAt)}${view.endedBy !== null ? ` by ${view.endedBy}` : ''}`}>
            <p data-testid="muster-counts">
              {view.summary.safe} of {view.summary.total} accounted for, {view.summary.missing} missing · {triggerText(view)}
            </p>
            <p class="button-row">
              <ExportButton id={view.id} startedAt={view.startedAt} />
            </p>
            <div class="table-wrap">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th>
                    <th scope="col">Areas</th>
                    <th scope="col">Last read</th>
                    <th scope="col">Accounted for</th>
                  </tr>
                </thead>
                <tbody>
                  {view.people.map((entry) => (
                    <tr key={entry.cardholder} data-cardholder={entry.cardholder}>
                      <td>{entry.name}</td>
                      <td>{entry.areas.map(areaName).join(', ') || '—'}</td>
                      <td>
                        {dateTime(entry.lastSeenAt)} {placeName(entry.lastSeenDoor)}
                      </td>
                      <td>{entry.safe === null ? 'missing' : `${dateTime(entry.safe.at)} (${entry.safe.via === 'reader' ? `badged at ${entry.safe.point === null ? 'a muster point' : placeName(entry.safe.point)}` : `by ${entry.safe.by ?? 'someone'}`})`}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          </Section>
          <Section title="Incident reports of alarms around it">
            {alarms.length === 0 ? (
              <p class="muted">No alarm was raised from 15 minutes before it to 15 minutes after.</p>
            ) : (
              <ul class="plain">
                {alarms.map((event) => (
                  <li key={event.seq}>
                    <a href={`/alarms/${String(event.data.alarm)}/report`}>Incident report: {String(event.data.kind ?? 'alarm')} alarm of {dateTime(event.time)}</a>
                  </li>
                ))}
              </ul>
            )}
          </Section>
        </>
      ) : null}
    </div>
  );
}

/**
 * An evacuation takes over every signed-in console, as a panic alarm does: a modal until someone
 * opens the list or hides it, then a red banner on every screen until it ends.
 */
export function EvacuationTakeover(props: { role: Role }): JSX.Element | null {
  const { brief } = useEvacuation();
  const triggerText = useTriggerText();
  const path = usePath();
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const onScreen = path === '/evacuation';
  const modal = brief !== null && !hidden.has(brief.id) && !onScreen;
  // The tone sounds until someone opens the list or hides the notice: an evacuation started from
  // the console (a bomb threat) has no fire sounders to announce it.
  useEffect(() => {
    soundFor('evacuation', modal);
    return () => soundFor('evacuation', false);
  }, [modal]);
  useEffect(() => {
    if (!modal) return;
    setInertBehind('evacuation', true);
    document.querySelector<HTMLElement>('[data-testid="evacuation-takeover"] button')?.focus();
    return () => setInertBehind('evacuation', false);
  }, [modal]);
  if (brief === null) return null;
  const hide = (): void => setHidden(new Set([...hidden, brief.id]));
  const open = (): void => {
    hide();
    navigate('/evacuation');
  };
  const mayList = roleAllows(props.role, 'security');
  const counts = `${brief.safe} of ${brief.total} accounted for, ${brief.missing} missing`;
  if (!modal) {
    return onScreen ? null : (
      <div class="evacuation-banner" role="status" data-testid="evacuation-banner">
        <strong>Evacuation under way</strong> · {counts}{' '}
        <a href="/evacuation" class="banner-link">
          {mayList ? 'Mustering list' : 'Details'}
        </a>
      </div>
    );
  }
  return (
    <div class="takeover-backdrop">
      <div
        class="takeover takeover-raised"
        role="alertdialog"
        aria-modal="true"
        aria-labelledby="evacuation-title"
        data-testid="evacuation-takeover"
        onKeyDown={(event) => {
          if (event.key === 'Escape') hide();
        }}
      >
        <h2 id="evacuation-title">Evacuation under way</h2>
        <p>
          {brief.startedAt !== null ? `Since ${clock(brief.startedAt)} · ` : ''}
          {triggerText(brief)}
        </p>
        <p data-testid="takeover-counts">{counts}</p>
        {mayList ? null : <p class="muted">Marking people safe and the list of who is missing are for security staff.</p>}
        <p class="muted">Hide or open the list to silence this console.</p>
        <footer class="button-row">
          <button type="button" class="primary" onClick={open}>
            {mayList ? 'Open the mustering list' : 'Open the Evacuation screen'}
          </button>
          <button type="button" onClick={hide}>
            Hide
          </button>
        </footer>
      </div>
    </div>
  );
}
