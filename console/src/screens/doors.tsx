import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, apiList, isMissingRoute, roleAllows, type Device, type Door, type DoorState, type JournalEvent, type Role } from '../api.js';
import { live, useLive } from '../live.js';
import { ago, clock, describeEvent, ErrorText, Field, Section, Select, StatusBadge, useAction } from '../ui.js';
import { lockTone } from './live.js';

type LockdownTarget = { readonly scope: 'site' } | { readonly scope: 'zone'; readonly zone: string } | { readonly scope: 'door'; readonly door: string };

interface Lockdown {
  readonly target: LockdownTarget;
  readonly source: 'manual' | 'panic' | 'threat-level';
  readonly since: string;
  readonly actor: { readonly via: string; readonly by: string | null };
  readonly reason: string | null;
}

interface Lockdowns {
  readonly lockdowns: readonly Lockdown[];
  readonly lockedDownDoors: readonly string[];
}

interface Named {
  readonly id: string;
  readonly name: string;
}

const lockdownPath = (target: LockdownTarget): string =>
  target.scope === 'site' ? '/api/v1/lockdown' : target.scope === 'zone' ? `/api/v1/zones/${target.zone}/lockdown` : `/api/v1/doors/${target.door}/lockdown`;

const targetText = (target: LockdownTarget): string => (target.scope === 'site' ? 'the whole site' : target.scope === 'zone' ? `zone ${target.zone}` : `door ${target.door}`);

/** Doors: momentary unlock, lockdown and release, modes and schedules, bound devices' health. */
export function DoorsScreen(props: { role: Role }): JSX.Element {
  const state = useLive();
  const [lockdowns, setLockdowns] = useState<Lockdowns | null>(null);
  const [zones, setZones] = useState<readonly Named[] | null>(null);
  const [schedules, setSchedules] = useState<readonly Named[] | null>(null);
  const [health, setHealth] = useState<Readonly<Record<string, DeviceHealth>>>({});
  const [error, setError] = useState<unknown>(null);

  const loadLockdowns = async (): Promise<void> => setLockdowns(await api<Lockdowns>('/api/v1/lockdowns'));

  useEffect(() => {
    loadLockdowns().catch(setError);
    // Zones and schedules come with the site-data routes of issue 8; without them the screen still works.
    apiList<Named>('/api/v1/zones').then(setZones, (caught: unknown) => (isMissingRoute(caught) ? setZones(null) : setError(caught)));
    apiList<Named>('/api/v1/schedules').then(setSchedules, () => setSchedules(null));
  }, []);

  // Lockdown events change the list: follow the live feed.
  const newest = state.feed[0];
  useEffect(() => {
    if (newest !== undefined && (newest.type.startsWith('door.lockdown') || newest.type === 'threat.changed')) loadLockdowns().catch(setError);
  }, [newest?.seq]);

  // Health of every bound device: availability (live), last seen and trouble (from the journal).
  const boundIds = [...new Set(state.doors.flatMap((door) => boundDevices(door).map(([, id]) => id)))];
  useEffect(() => {
    let cancelled = false;
    Promise.all(boundIds.map(async (id) => [id, await deviceHealth(id)] as const))
      .then((entries) => {
        if (!cancelled) setHealth(Object.fromEntries(entries));
      })
      .catch(setError);
    return () => {
      cancelled = true;
    };
  }, [boundIds.join(','), state.devices]);

  const mayCommand = roleAllows(props.role, 'security');
  const siteLocked = lockdowns?.lockdowns.some((lockdown) => lockdown.target.scope === 'site') ?? false;

  return (
    <div class="screen">
      <h1>Doors</h1>
      <ErrorText error={error} />
      <LockdownPanel lockdowns={lockdowns} zones={zones} mayCommand={mayCommand} siteLocked={siteLocked} onChange={() => loadLockdowns().catch(setError)} />
      <ul class="tiles door-cards" aria-label="Doors">
        {state.doors.map((door) => (
          <DoorCard
            key={door.id}
            door={door}
            state={state.doorStates[door.id]}
            last={state.lastEventByDoor[door.id]}
            devices={state.devices}
            health={health}
            role={props.role}
            schedules={schedules}
            onLockdownChange={() => loadLockdowns().catch(setError)}
          />
        ))}
      </ul>
    </div>
  );
}

function LockdownPanel(props: { lockdowns: Lockdowns | null; zones: readonly Named[] | null; mayCommand: boolean; siteLocked: boolean; onChange: () => void }): JSX.Element {
  const [reason, setReason] = useState('');
  const [zone, setZone] = useState('');
  const command = useAction(async (method: 'POST' | 'DELETE', target: LockdownTarget) => {
    await api(lockdownPath(target), { method, body: reason === '' ? undefined : { reason } });
    setReason('');
    props.onChange();
    await live.refreshDoorStates();
  });
  const active = props.lockdowns?.lockdowns ?? [];
  return (
    <Section title="Lockdowns">
      {active.length === 0 ? (
        <p data-testid="lockdowns">No lockdown in force.</p>
      ) : (
        <ul class="plain" data-testid="lockdowns">
          {active.map((lockdown) => (
            <li key={JSON.stringify(lockdown.target)}>
              <StatusBadge value="lockdown" tone="bad" /> {targetText(lockdown.target)} since {clock(lockdown.since)} by {lockdown.actor.by ?? lockdown.actor.via}
              {lockdown.reason !== null ? ` (${lockdown.reason})` : ''}
              {lockdown.source === 'threat-level' ? <span class="muted"> · follows the threat level; lower the level to release</span> : null}
              {props.mayCommand && lockdown.source !== 'threat-level' ? (
                <>
                  {' '}
                  <button type="button" onClick={() => void command.run('DELETE', lockdown.target)} disabled={command.busy}>
                    Release {targetText(lockdown.target)}
                  </button>
                </>
              ) : null}
            </li>
          ))}
        </ul>
      )}
      {props.mayCommand ? (
        <div class="inline-form">
          <Field label="Reason (recorded with the command)" value={reason} onInput={setReason} />
          {!props.siteLocked ? (
            <button type="button" class="danger" onClick={() => void command.run('POST', { scope: 'site' })} disabled={command.busy}>
              Lock down the whole site
            </button>
          ) : null}
          {props.zones !== null && props.zones.length > 0 ? (
            <>
              <Select label="Zone" value={zone} options={[['', 'Choose a zone'], ...props.zones.map((candidate) => [candidate.id, candidate.name] as const)]} onChange={setZone} />
              <button type="button" onClick={() => void command.run('POST', { scope: 'zone', zone })} disabled={command.busy || zone === ''}>
                Lock down zone
              </button>
            </>
          ) : null}
        </div>
      ) : null}
      <ErrorText error={command.error} />
    </Section>
  );
}

interface DeviceHealth {
  readonly lastSeen: string | null;
  readonly trouble: string | null;
}

/** What the journal says of a device: its newest event, and whether its last trouble is still open. */
async function deviceHealth(deviceId: string): Promise<DeviceHealth> {
  const events = await api<JournalEvent[]>(`/api/v1/events?device=${encodeURIComponent(deviceId)}&limit=50`);
  const troubleEvent = events.find((event) => ['device.trouble', 'device.trouble_cleared', 'device.tamper', 'device.online'].includes(event.type));
  const trouble = troubleEvent === undefined || troubleEvent.type === 'device.trouble_cleared' || troubleEvent.type === 'device.online' ? null : troubleEvent.type === 'device.tamper' ? 'tamper' : (troubleEvent.reason ?? 'trouble');
  return { lastSeen: events[0]?.time ?? null, trouble };
}

function boundDevices(door: Door): (readonly [string, string])[] {
  const roles: (readonly [string, unknown])[] = [
    ['reader', door.reader],
    ['strike', door.strike],
    ['door contact', door.contact],
    ['exit button', door.exit],
  ];
  return roles.filter((entry): entry is readonly [string, string] => typeof entry[1] === 'string');
}

const MODES = [
  ['card', 'Card'],
  ['card-and-pin', 'Card and PIN'],
  ['card-or-pin', 'Card or PIN'],
  ['scheduled-unlock', 'Unlocked on a schedule'],
  ['locked', 'Locked (override groups only)'],
] as const;

function DoorCard(props: {
  door: Door;
  state: DoorState | undefined;
  last: JournalEvent | undefined;
  devices: readonly Device[];
  health: Readonly<Record<string, DeviceHealth>>;
  role: Role;
  schedules: readonly Named[] | null;
  onLockdownChange: () => void;
}): JSX.Element {
  const { door, state } = props;
  const [mode, setMode] = useState<Door['mode']>(door.mode);
  const [schedule, setSchedule] = useState(door.unlockSchedule ?? '');
  const [unlockS, setUnlockS] = useState(String(door.unlockMs / 1000));
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    setMode(door.mode);
    setSchedule(door.unlockSchedule ?? '');
    setUnlockS(String(door.unlockMs / 1000));
  }, [door]);

  const unlock = useAction(async () => {
    await api(`/api/v1/doors/${door.id}/unlock`, { method: 'POST' });
    await live.refreshDoorState(door.id);
  });
  const lockdown = useAction(async (method: 'POST' | 'DELETE') => {
    await api(`/api/v1/doors/${door.id}/lockdown`, { method });
    props.onLockdownChange();
    await live.refreshDoorState(door.id);
  });
  const save = useAction(async () => {
    setSaved(false);
    const { status: _status, ...body } = door;
    const unlockMs = Math.round(Number(unlockS) * 1000);
    const next: Record<string, unknown> = { ...body, mode, unlockMs: Number.isFinite(unlockMs) ? unlockMs : unlockS };
    if (schedule === '') delete next.unlockSchedule;
    else next.unlockSchedule = schedule;
    await api(`/api/v1/doors/${door.id}`, { method: 'PUT', body: next });
    await live.refreshDoors();
    setSaved(true);
  });
  const saveError = save.error instanceof ApiError ? save.error : null;
  const mayCommand = roleAllows(props.role, 'security');
  const mayEdit = roleAllows(props.role, 'admin');
  const fieldError = (field: string): string | undefined => saveError?.forField(field);
  const otherSaveError = saveError !== null && ['mode', 'unlockSchedule', 'unlockMs'].every((field) => fieldError(field) === undefined) ? saveError : null;

  return (
    <li class="tile" data-door={door.id} aria-labelledby={`door-${door.id}`}>
      <h2 id={`door-${door.id}`}>{door.name}</h2>
      <p>
        <StatusBadge value={state?.lock ?? '…'} tone={lockTone(state)} /> <StatusBadge value={state === undefined ? '…' : state.position === 'unknown' ? 'position unknown' : `door ${state.position}`} />
        {state?.lockdown === true ? <StatusBadge value="lockdown" tone="bad" /> : null}
        {state !== undefined && state.alarm !== 'none' ? <StatusBadge value={state.alarm} tone="bad" /> : null}
      </p>
      <p class="muted">
        Mode: {door.mode}
        {door.unlockSchedule !== undefined ? ` · schedule ${door.unlockSchedule}` : ''} · unlocks for {door.unlockMs / 1000} s · {state?.failMode ?? ''}
      </p>
      <p class="last-event">{props.last === undefined ? 'No recent event' : `${clock(props.last.time)} ${describeEvent(props.last)}`}</p>
      {mayCommand ? (
        <div class="button-row">
          <button type="button" class="primary" onClick={() => void unlock.run()} disabled={unlock.busy}>
            Unlock {door.name} for {door.unlockMs / 1000} s
          </button>
          {state?.lockdown === true ? (
            <button type="button" onClick={() => void lockdown.run('DELETE')} disabled={lockdown.busy}>
              Release lockdown
            </button>
          ) : (
            <button type="button" class="danger" onClick={() => void lockdown.run('POST')} disabled={lockdown.busy}>
              Lock down {door.name}
            </button>
          )}
        </div>
      ) : null}
      <ErrorText error={unlock.error ?? lockdown.error} />
      <h3>Devices</h3>
      <table>
        <thead>
          <tr>
            <th scope="col">Role</th>
            <th scope="col">Device</th>
            <th scope="col">Health</th>
          </tr>
        </thead>
        <tbody>
          {boundDevices(door).map(([role, id]) => {
            const device = props.devices.find((candidate) => candidate.id === id);
            const health = props.health[id];
            const availability = device?.availability ?? 'unknown';
            return (
              <tr key={role} data-device={id}>
                <td>{role}</td>
                <td>{device?.name ?? id}</td>
                <td>
                  <StatusBadge value={availability} tone={availability === 'online' ? 'ok' : availability === 'offline' ? 'bad' : 'neutral'} />
                  {health?.trouble != null ? (
                    <>
                      {' '}
                      <StatusBadge value={health.trouble} tone="bad" />
                    </>
                  ) : null}
                  <br />
                  <small class="muted">{health?.lastSeen != null ? `last seen ${ago(health.lastSeen)}` : 'never seen'}</small>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
      {mayEdit ? (
        <details>
          <summary>Change mode and schedule</summary>
          <form
            onSubmit={(event) => {
              event.preventDefault();
              void save.run();
            }}
          >
            <Select label="Mode" value={mode} options={MODES} onChange={setMode} error={fieldError('mode')} />
            {props.schedules !== null ? (
              <Select
                label="Unlock schedule"
                value={schedule}
                options={[['', 'None'], ...props.schedules.map((candidate) => [candidate.id, candidate.name] as const)]}
                onChange={setSchedule}
                error={fieldError('unlockSchedule')}
              />
            ) : (
              <Field label="Unlock schedule (id)" value={schedule} onInput={setSchedule} error={fieldError('unlockSchedule')} />
            )}
            <Field label="Unlock time (seconds)" type="number" value={unlockS} onInput={setUnlockS} error={fieldError('unlockMs')} />
            <ErrorText error={otherSaveError} />
            <button type="submit" disabled={save.busy}>
              Save {door.name}
            </button>
            {saved ? <span role="status"> Saved.</span> : null}
          </form>
        </details>
      ) : null}
    </li>
  );
}
