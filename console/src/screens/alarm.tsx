import type { JSX } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, roleAllows, type Alarm, type JournalEvent, type Role } from '../api.js';
import { live, useLive } from '../live.js';
import { navigate } from '../router.js';
import { soundFor } from '../sound.js';
import { clock, describeEvent, ErrorText, setInertBehind, StatusBadge, useAction } from '../ui.js';
import { alarmTitle } from './live.js';

const OPEN_EVENT = 'guardpost:open-alarm';

/** Opens the alarm panel for one alarm (from a list on any screen). */
export function openAlarm(id: string): void {
  window.dispatchEvent(new CustomEvent(OPEN_EVENT, { detail: id }));
}

/** An alarm is "new" again when it escalates or is pressed again: hiding it lasts until then. */
const versionOf = (alarm: Alarm): string => `${alarm.id}:${alarm.escalations}:${alarm.presses}`;

/**
 * A raised alarm takes over the screen with a sound until someone acknowledges it; hiding or
 * silencing it lasts only until it escalates or is pressed again.
 */
export function AlarmTakeover(props: { role: Role }): JSX.Element | null {
  const { alarms } = useLive();
  const [hidden, setHidden] = useState<ReadonlySet<string>>(new Set());
  const [silenced, setSilenced] = useState<ReadonlySet<string>>(new Set());
  const [chosen, setChosen] = useState<string | null>(null);

  useEffect(() => {
    const open = (event: Event): void => setChosen((event as CustomEvent<string>).detail);
    window.addEventListener(OPEN_EVENT, open);
    return () => window.removeEventListener(OPEN_EVENT, open);
  }, []);

  const chosenAlarm = chosen === null ? undefined : alarms.find((alarm) => alarm.id === chosen);
  const takingOver = alarms.filter((alarm) => alarm.state === 'raised' && !hidden.has(versionOf(alarm)));
  const shown = chosenAlarm ?? takingOver[0];
  const sounding = alarms.some((alarm) => alarm.state === 'raised' && !alarm.silent && !silenced.has(versionOf(alarm)));

  useEffect(() => {
    soundFor('alarm', sounding);
  }, [sounding]);
  useEffect(() => () => soundFor('alarm', false), []);

  // A modal: the page behind it takes no focus or clicks while it is open.
  const open = shown !== undefined;
  useEffect(() => {
    setInertBehind('alarm', open);
    return () => setInertBehind('alarm', false);
  }, [open]);

  if (shown === undefined) return null;
  const hide = (): void => {
    setHidden(new Set([...hidden, versionOf(shown)]));
    setSilenced(new Set([...silenced, versionOf(shown)]));
    setChosen(null);
  };
  return (
    <AlarmPanel
      key={shown.id}
      alarm={shown}
      role={props.role}
      others={alarms.length - 1}
      soundOn={sounding}
      onSilence={() => setSilenced(new Set([...silenced, ...alarms.map(versionOf)]))}
      onHide={hide}
      onKeep={() => setChosen(shown.id)}
    />
  );
}

function AlarmPanel(props: { alarm: Alarm; role: Role; others: number; soundOn: boolean; onSilence: () => void; onHide: () => void; onKeep: () => void }): JSX.Element {
  const { alarm, role } = props;
  const [note, setNote] = useState('');
  const [resolution, setResolution] = useState('');
  const [related, setRelated] = useState<readonly JournalEvent[]>([]);
  const [nowMs, setNowMs] = useState(Date.now());
  const dialog = useRef<HTMLDivElement>(null);

  // The alarm's own events: its lifecycle and the camera triggers it fired.
  useEffect(() => {
    let cancelled = false;
    api<JournalEvent[]>(`/api/v1/events?alarm=${encodeURIComponent(alarm.id)}&limit=200`)
      .then((events) => {
        if (!cancelled) setRelated(events);
      })
      .catch(() => undefined);
    return () => {
      cancelled = true;
    };
  }, [alarm.id, alarm.state, alarm.escalations]);

  useEffect(() => {
    const timer = setInterval(() => setNowMs(Date.now()), 1_000);
    return () => clearInterval(timer);
  }, []);

  useEffect(() => {
    dialog.current?.querySelector<HTMLElement>('textarea, button')?.focus();
  }, [alarm.id, alarm.state]);

  const acknowledge = useAction(async () => {
    await api(`/api/v1/alarms/${alarm.id}/acknowledge`, { method: 'POST', body: { note } });
    setNote('');
    // Stay on this alarm so it can be cleared next.
    props.onKeep();
    await live.refreshAlarms();
  });
  const clear = useAction(async () => {
    await api(`/api/v1/alarms/${alarm.id}/clear`, { method: 'POST', body: { resolution } });
    setResolution('');
    await live.refreshAlarms();
  });

  const cameras = related.filter((event) => event.type.startsWith('camera.'));
  const escalations = related.filter((event) => event.type === 'alarm.escalated');
  const mayHandle = roleAllows(role, 'security');
  const nextInS = alarm.nextEscalationAt === null ? null : Math.max(0, Math.round((Date.parse(alarm.nextEscalationAt) - nowMs) / 1000));
  const titleId = `alarm-title-${alarm.id}`;

  return (
    <div class="takeover-backdrop">
      <div
        ref={dialog}
        class={`takeover takeover-${alarm.state}`}
        role="alertdialog"
        aria-modal="true"
        aria-labelledby={titleId}
        data-testid="alarm-takeover"
        onKeyDown={(event) => {
          if (event.key === 'Escape') props.onHide();
        }}
      >
        <header>
          <h2 id={titleId}>{alarmTitle(alarm)}</h2>
          <p>
            <StatusBadge value={alarm.state} tone={alarm.state === 'raised' ? 'bad' : 'warn'} /> <StatusBadge value={`priority ${alarm.priority}`} />
            {alarm.drill ? <StatusBadge value="drill" /> : null}
            {alarm.silent ? <StatusBadge value="silent" /> : null}
            {props.others > 0 ? <span> · {props.others} other open alarm(s)</span> : null}
          </p>
        </header>
        <dl class="facts">
          <dt>Raised</dt>
          <dd>
            {clock(alarm.raisedAt)}
            {alarm.raisedBy !== null ? ` by ${alarm.raisedBy.by ?? 'anonymous'} (${alarm.raisedBy.via})` : ''}
            {alarm.presses > 1 ? ` · pressed ${alarm.presses} times` : ''}
          </dd>
          <dt>Escalation</dt>
          <dd data-testid="escalation">
            {alarm.escalations === 0 ? 'not escalated' : `escalated ${alarm.escalations} time(s)`}
            {alarm.state === 'raised' && nextInS !== null ? ` · next escalation in ${Math.floor(nextInS / 60)}:${String(nextInS % 60).padStart(2, '0')}` : ''}
            {alarm.state !== 'raised' ? ' · stopped by the acknowledgement' : ''}
            {escalations.length > 0 ? (
              <ul class="plain">
                {escalations.map((event) => (
                  <li key={event.seq}>
                    {clock(event.time)} escalated to {typeof event.data.to === 'string' ? event.data.to : 'the next level'}
                  </li>
                ))}
              </ul>
            ) : null}
          </dd>
          {alarm.acknowledged !== null ? (
            <>
              <dt>Acknowledged</dt>
              <dd>
                {clock(alarm.acknowledged.at)} by {alarm.acknowledged.by ?? alarm.acknowledged.via}
                {alarm.acknowledged.note !== '' ? `: ${alarm.acknowledged.note}` : ''}
              </dd>
            </>
          ) : null}
          <dt>Cameras</dt>
          <dd>
            {cameras.length === 0 ? (
              'no camera triggered yet'
            ) : (
              <ul class="plain" data-testid="camera-triggers">
                {cameras.map((event) => (
                  <li key={event.seq}>
                    {clock(event.time)} {describeEvent(event)}
                  </li>
                ))}
              </ul>
            )}
          </dd>
        </dl>

        {!mayHandle ? <p class="muted">Acknowledging and clearing alarms needs the security role.</p> : null}
        {mayHandle && alarm.state === 'raised' ? (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void acknowledge.run();
            }}
          >
            <label for={`ack-note-${alarm.id}`}>Acknowledgement note</label>
            <textarea id={`ack-note-${alarm.id}`} rows={2} value={note} maxLength={2000} onInput={(event) => setNote((event.currentTarget as HTMLTextAreaElement).value)} />
            <ErrorText error={acknowledge.error} />
            <button type="submit" class="primary" disabled={acknowledge.busy}>
              Acknowledge
            </button>
          </form>
        ) : null}
        {mayHandle && alarm.state === 'acknowledged' ? (
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void clear.run();
            }}
          >
            <label for={`clear-resolution-${alarm.id}`}>Resolution</label>
            <textarea
              id={`clear-resolution-${alarm.id}`}
              rows={2}
              value={resolution}
              required
              maxLength={2000}
              onInput={(event) => setResolution((event.currentTarget as HTMLTextAreaElement).value)}
            />
            <ErrorText error={clear.error} />
            <button type="submit" class="primary" disabled={clear.busy}>
              Clear alarm
            </button>
          </form>
        ) : null}

        <footer class="button-row">
          {mayHandle ? (
            <button
              type="button"
              onClick={() => {
                props.onHide();
                navigate(`/alarms/${alarm.id}/report`);
              }}
            >
              Incident report
            </button>
          ) : null}
          {props.soundOn ? (
            <button type="button" onClick={props.onSilence}>
              Silence
            </button>
          ) : null}
          <button type="button" onClick={props.onHide}>
            Hide
          </button>
        </footer>
      </div>
    </div>
  );
}
