import type { JSX } from 'preact';
import { useState } from 'preact/hooks';
import { api, roleAllows, type Alarm, type Door, type DoorState, type JournalEvent, type Role } from '../api.js';
import { live, useLive, type LiveState } from '../live.js';
import { openAlarm } from './alarm.js';
import { clock, describeEvent, ErrorText, Section, severityClass, StatusBadge, useAction } from '../ui.js';

export function LiveScreen(props: { role: Role }): JSX.Element {
  const state = useLive();
  return (
    <div class="screen">
      <h1 class="visually-hidden">Live</h1>
      <ErrorText error={state.error} />
      <OpenAlarms alarms={state.alarms} role={props.role} />
      <div class="live-grid">
        <div>
          <ThreatLevelCard state={state} role={props.role} />
          <Section title="Doors">
            <ul class="tiles" aria-label="Doors">
              {state.doors.map((door) => (
                <DoorTile key={door.id} door={door} state={state.doorStates[door.id]} last={state.lastEventByDoor[door.id]} />
              ))}
            </ul>
          </Section>
        </div>
        <Feed state={state} />
      </div>
    </div>
  );
}

function OpenAlarms(props: { alarms: readonly Alarm[]; role: Role }): JSX.Element | null {
  if (props.alarms.length === 0) return null;
  return (
    <Section title={`Open alarms (${props.alarms.length})`} id="open-alarms">
      <ul class="alarm-list">
        {props.alarms.map((alarm) => (
          <li key={alarm.id} class={`alarm-row alarm-${alarm.state}`}>
            <strong>{alarmTitle(alarm)}</strong> <StatusBadge value={alarm.state} tone={alarm.state === 'raised' ? 'bad' : 'warn'} />
            {alarm.drill ? <StatusBadge value="drill" /> : null} <span>raised {clock(alarm.raisedAt)}</span>
            {alarm.escalations > 0 ? <span> · escalated {alarm.escalations}×</span> : null} ·{' '}
            <button type="button" class="link" onClick={() => openAlarm(alarm.id)}>
              Handle
            </button>
            {roleAllows(props.role, 'security') ? (
              <>
                {' '}
                · <a href={`/alarms/${alarm.id}/report`}>Incident report</a>
              </>
            ) : null}
          </li>
        ))}
      </ul>
    </Section>
  );
}

export function alarmTitle(alarm: Alarm): string {
  const where = alarm.source.location ?? alarm.source.door ?? alarm.source.zone ?? alarm.source.device ?? 'unknown place';
  return `${alarm.kind === 'panic' ? 'Panic' : alarm.kind[0]!.toUpperCase() + alarm.kind.slice(1)} alarm at ${where}`;
}

function ThreatLevelCard(props: { state: LiveState; role: Role }): JSX.Element {
  const threat = props.state.threat;
  const [level, setLevel] = useState('');
  const [reason, setReason] = useState('');
  const change = useAction(async () => {
    await api('/api/v1/threat-level', { method: 'PUT', body: reason === '' ? { level } : { level, reason } });
    setReason('');
    await live.refreshThreat();
  });
  const current = threat?.level ?? 'normal';
  return (
    <Section title="Threat level">
      <p class="threat" data-testid="threat-level">
        <StatusBadge value={threat?.name ?? '…'} tone={current === 'normal' ? 'ok' : 'bad'} />
      </p>
      {roleAllows(props.role, 'security') && threat !== null ? (
        <form
          class="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            void change.run();
          }}
        >
          <label>
            Set level{' '}
            <select value={level === '' ? current : level} onChange={(event) => setLevel((event.currentTarget as HTMLSelectElement).value)}>
              {[{ id: 'normal', name: 'Normal' }, ...threat.levels.filter((candidate) => candidate.id !== 'normal')].map((candidate) => (
                <option key={candidate.id} value={candidate.id}>
                  {candidate.name}
                </option>
              ))}
            </select>
          </label>
          <label>
            Reason <input value={reason} onInput={(event) => setReason((event.currentTarget as HTMLInputElement).value)} />
          </label>
          <button type="submit" disabled={change.busy || level === '' || level === current}>
            Change level
          </button>
          <ErrorText error={change.error} />
        </form>
      ) : null}
    </Section>
  );
}

export function lockTone(state: DoorState | undefined): 'ok' | 'bad' | 'warn' | 'neutral' {
  if (state === undefined) return 'neutral';
  if (state.alarm !== 'none' && state.alarm !== 'ok') return 'bad';
  if (state.lockdown) return 'warn';
  return state.lock === 'locked' ? 'ok' : 'warn';
}

function DoorTile(props: { door: Door; state: DoorState | undefined; last: JournalEvent | undefined }): JSX.Element {
  const { door, state, last } = props;
  return (
    <li class="tile" data-door={door.id}>
      <h3>{door.name}</h3>
      <p>
        <StatusBadge value={state?.lock ?? '…'} tone={lockTone(state)} /> <StatusBadge value={state === undefined ? '…' : state.position === 'unknown' ? 'position unknown' : `door ${state.position}`} />
        {state?.lockdown === true ? <StatusBadge value="lockdown" tone="bad" /> : null}
        {state?.fireAlarm === true ? <StatusBadge value="fire release" tone="bad" /> : null}
        {state !== undefined && state.alarm !== 'none' && state.alarm !== 'ok' ? <StatusBadge value={state.alarm} tone="bad" /> : null}
      </p>
      <p class="muted">Mode: {door.mode}</p>
      <p class="last-event" data-testid={`last-event-${door.id}`}>
        {last === undefined ? 'No recent event' : `${clock(last.time)} ${describeEvent(last)}`}
      </p>
    </li>
  );
}

function Feed(props: { state: LiveState }): JSX.Element {
  const { stream, streamDetail, feed } = props.state;
  return (
    <Section
      title="Live events"
      actions={
        <span class="stream-status" role="status" data-testid="stream-status">
          <StatusBadge value={stream === 'live' ? 'live' : stream === 'connecting' ? 'connecting…' : 'reconnecting…'} tone={stream === 'live' ? 'ok' : 'warn'} />
          {streamDetail !== null && stream !== 'live' ? <span class="muted"> {streamDetail}</span> : null}
        </span>
      }
    >
      <ol class="feed" aria-live="polite" aria-label="Live events, newest first" data-testid="feed">
        {feed.map((event) => (
          <li key={event.seq} class={severityClass(event.severity)} data-type={event.type}>
            <time dateTime={event.time}>{clock(event.time)}</time> <span>{describeEvent(event)}</span>
          </li>
        ))}
      </ol>
    </Section>
  );
}
