import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, apiList, isMissingRoute, roleAllows, type Role } from '../api.js';
import { ago, dateTime, ErrorText, Field, Section, Select, StatusBadge, useAction } from '../ui.js';

interface User {
  readonly id: string;
  readonly role: Role;
  readonly disabled: boolean;
  readonly created: string;
}

interface Token {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly createdBy: string;
  readonly created: string;
  readonly revoked: string | null;
}

interface ForwarderStatus {
  readonly id: string;
  readonly kind: string;
  readonly enabled: boolean;
  readonly state: string;
  readonly cursorSeq: number;
  readonly lagEvents: number;
  readonly lagSeconds: number;
  readonly lastSuccess: string | null;
  readonly lastError: { readonly message: string; readonly at: string } | null;
  readonly failingSince: string | null;
  readonly delivered: number;
  readonly rejected: number;
}

interface Drill {
  readonly running: boolean;
  readonly until?: string;
  readonly startedBy?: { readonly via: string; readonly by: string | null };
}

const ROLES = [
  ['viewer', 'Viewer (read only)'],
  ['security', 'Security (alarms, doors, history)'],
  ['admin', 'Admin (everything)'],
] as const;

/** Settings: users and tokens (admin), forwarders' status, drills (security). */
export function SettingsScreen(props: { role: Role }): JSX.Element {
  return (
    <div class="screen">
      <h1>Settings</h1>
      <Forwarders />
      {roleAllows(props.role, 'security') ? <Drills /> : <DrillStatus />}
      {roleAllows(props.role, 'admin') ? (
        <>
          <Users />
          <Tokens />
        </>
      ) : (
        <p class="muted">Users and API tokens are managed by admins.</p>
      )}
    </div>
  );
}

function Forwarders(): JSX.Element {
  const [statuses, setStatuses] = useState<readonly ForwarderStatus[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    const load = (): void => {
      api<ForwarderStatus[]>('/api/v1/forwarders').then(
        (list) => {
          setStatuses(list);
          setError(null);
        },
        (caught: unknown) => (isMissingRoute(caught) ? setStatuses([]) : setError(caught)),
      );
    };
    load();
    // Lag moves on its own: refresh while the screen is open.
    const timer = setInterval(load, 5_000);
    return () => clearInterval(timer);
  }, []);
  return (
    <Section title="Forwarding to the incident system">
      <ErrorText error={error} />
      {statuses !== null && statuses.length === 0 ? <p class="muted">No forwarder is configured (forwarders: in the config file).</p> : null}
      {statuses !== null && statuses.length > 0 ? (
        <div class="table-wrap">
          <table data-testid="forwarders">
            <thead>
              <tr>
                <th scope="col">Forwarder</th>
                <th scope="col">State</th>
                <th scope="col">Lag</th>
                <th scope="col">Last success</th>
                <th scope="col">Last error</th>
                <th scope="col">Delivered / rejected</th>
              </tr>
            </thead>
            <tbody>
              {statuses.map((status) => (
                <tr key={status.id} data-forwarder={status.id}>
                  <td>
                    {status.id} <small class="muted">({status.kind})</small>
                  </td>
                  <td>
                    <StatusBadge value={status.state} tone={!status.enabled ? 'neutral' : status.failingSince !== null ? 'bad' : status.lagEvents > 0 ? 'warn' : 'ok'} />
                    {status.failingSince !== null ? <small> failing since {dateTime(status.failingSince)}</small> : null}
                  </td>
                  <td>
                    {status.lagEvents} event(s){status.lagSeconds > 0 ? `, ${Math.round(status.lagSeconds)} s` : ''}
                  </td>
                  <td>{status.lastSuccess === null ? 'never' : ago(status.lastSuccess)}</td>
                  <td>{status.lastError === null ? 'none' : `${dateTime(status.lastError.at)}: ${status.lastError.message}`}</td>
                  <td>
                    {status.delivered} / {status.rejected}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
    </Section>
  );
}

function useDrill(): [Drill | null, () => Promise<void>] {
  const [drill, setDrill] = useState<Drill | null>(null);
  const load = async (): Promise<void> => setDrill(await api<Drill>('/api/v1/drills/current'));
  useEffect(() => {
    load().catch(() => undefined);
  }, []);
  return [drill, load];
}

function DrillStatus(): JSX.Element {
  const [drill] = useDrill();
  return (
    <Section title="Drills">
      <p>{drill?.running === true ? `A drill runs until ${dateTime(drill.until!)} (started by ${drill.startedBy?.by ?? drill.startedBy?.via ?? 'unknown'}).` : 'No drill is running.'}</p>
    </Section>
  );
}

function Drills(): JSX.Element {
  const [drill, load] = useDrill();
  const [minutes, setMinutes] = useState('30');
  const start = useAction(async () => {
    await api('/api/v1/drills', { method: 'POST', body: { durationMs: Math.round(Number(minutes) * 60_000) } });
    await load();
  });
  const end = useAction(async () => {
    await api('/api/v1/drills/current', { method: 'DELETE' });
    await load();
  });
  const apiError = start.error instanceof ApiError ? start.error : null;
  return (
    <Section title="Drills">
      <p data-testid="drill">
        {drill?.running === true ? (
          <>
            <StatusBadge value="drill running" tone="warn" /> until {dateTime(drill.until!)}, started by {drill.startedBy?.by ?? drill.startedBy?.via ?? 'unknown'}. Alarms raised now are marked as drill.
          </>
        ) : (
          'No drill is running.'
        )}
      </p>
      {drill?.running === true ? (
        <button type="button" onClick={() => void end.run()} disabled={end.busy}>
          End the drill
        </button>
      ) : (
        <form
          class="inline-form"
          onSubmit={(event) => {
            event.preventDefault();
            void start.run();
          }}
        >
          <Field label="Drill length (minutes)" type="number" value={minutes} onInput={setMinutes} error={apiError?.forField('durationMs')} />
          <button type="submit" disabled={start.busy}>
            Start a drill
          </button>
        </form>
      )}
      {apiError?.forField('durationMs') === undefined ? <ErrorText error={start.error} /> : null}
      <ErrorText error={end.error} />
    </Section>
  );
}

function Users(): JSX.Element {
  const [users, setUsers] = useState<readonly User[]>([]);
  const [id, setId] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<unknown>(null);
  const load = async (): Promise<void> => setUsers(await apiList<User>('/api/v1/users'));
  useEffect(() => {
    load().catch(setError);
  }, []);
  const add = useAction(async () => {
    await api('/api/v1/users', { method: 'POST', body: { id, role, password } });
    setId('');
    setPassword('');
    await load();
  });
  const change = useAction(async (user: string, body: Record<string, unknown>) => {
    await api(`/api/v1/users/${encodeURIComponent(user)}`, { method: 'PATCH', body });
    await load();
  });
  const remove = useAction(async (user: string) => {
    await api(`/api/v1/users/${encodeURIComponent(user)}`, { method: 'DELETE' });
    await load();
  });
  const apiError = add.error instanceof ApiError ? add.error : null;
  const placed = ['id', 'role', 'password'].some((field) => apiError?.forField(field) !== undefined);
  return (
    <Section title="Users">
      <ErrorText error={error} />
      <div class="table-wrap">
        <table data-testid="users">
          <thead>
            <tr>
              <th scope="col">User</th>
              <th scope="col">Role</th>
              <th scope="col">Status</th>
              <th scope="col">Actions</th>
            </tr>
          </thead>
          <tbody>
            {users.map((user) => (
              <tr key={user.id} data-user={user.id}>
                <td>{user.id}</td>
                <td>
                  <label class="visually-hidden" for={`role-${user.id}`}>
                    Role of {user.id}
                  </label>
                  <select id={`role-${user.id}`} value={user.role} onChange={(event) => void change.run(user.id, { role: (event.currentTarget as HTMLSelectElement).value })}>
                    {ROLES.map(([value, text]) => (
                      <option key={value} value={value}>
                        {text}
                      </option>
                    ))}
                  </select>
                </td>
                <td>
                  <StatusBadge value={user.disabled ? 'disabled' : 'active'} tone={user.disabled ? 'bad' : 'ok'} />
                </td>
                <td>
                  <button type="button" onClick={() => void change.run(user.id, { disabled: !user.disabled })}>
                    {user.disabled ? `Enable ${user.id}` : `Disable ${user.id}`}
                  </button>{' '}
                  <button type="button" class="danger" onClick={() => void remove.run(user.id)}>
                    Delete {user.id}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ErrorText error={change.error ?? remove.error} />
      <form
        class="inline-form"
        aria-label="New user"
        onSubmit={(event) => {
          event.preventDefault();
          void add.run();
        }}
      >
        <Field label="New user name" value={id} onInput={setId} error={apiError?.forField('id')} autoComplete="off" />
        <Select label="Role" value={role} options={ROLES} onChange={setRole} error={apiError?.forField('role')} />
        <Field label="Password" type="password" value={password} onInput={setPassword} error={apiError?.forField('password')} autoComplete="new-password" />
        <button type="submit" disabled={add.busy}>
          Add user
        </button>
      </form>
      {!placed ? <ErrorText error={add.error} /> : null}
    </Section>
  );
}

function Tokens(): JSX.Element {
  const [tokens, setTokens] = useState<readonly Token[]>([]);
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const [secret, setSecret] = useState<{ name: string; token: string } | null>(null);
  const [error, setError] = useState<unknown>(null);
  const load = async (): Promise<void> => setTokens(await apiList<Token>('/api/v1/tokens'));
  useEffect(() => {
    load().catch(setError);
  }, []);
  const create = useAction(async () => {
    const created = await api<Token & { token: string }>('/api/v1/tokens', { method: 'POST', body: { name, role } });
    setSecret({ name: created.name, token: created.token });
    setName('');
    await load();
  });
  const revoke = useAction(async (id: string) => {
    await api(`/api/v1/tokens/${encodeURIComponent(id)}`, { method: 'DELETE' });
    await load();
  });
  const apiError = create.error instanceof ApiError ? create.error : null;
  return (
    <Section title="API tokens">
      <ErrorText error={error} />
      {secret !== null ? (
        <div class="secret" role="status">
          <p>
            Token “{secret.name}” — copy it now, it is shown only once:
            <br />
            <code data-testid="new-token">{secret.token}</code>
          </p>
          <button type="button" onClick={() => setSecret(null)}>
            I have copied it
          </button>
        </div>
      ) : null}
      <div class="table-wrap">
        <table data-testid="tokens">
          <thead>
            <tr>
              <th scope="col">Name</th>
              <th scope="col">Role</th>
              <th scope="col">Created</th>
              <th scope="col">Status</th>
            </tr>
          </thead>
          <tbody>
            {tokens.map((token) => (
              <tr key={token.id} data-token={token.id}>
                <td>
                  {token.name} <small class="muted">({token.id})</small>
                </td>
                <td>{token.role}</td>
                <td>
                  {dateTime(token.created)} by {token.createdBy}
                </td>
                <td>
                  {token.revoked !== null ? (
                    <StatusBadge value={`revoked ${dateTime(token.revoked)}`} tone="bad" />
                  ) : (
                    <button type="button" class="danger" onClick={() => void revoke.run(token.id)}>
                      Revoke {token.name}
                    </button>
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <ErrorText error={revoke.error} />
      <form
        class="inline-form"
        aria-label="New API token"
        onSubmit={(event) => {
          event.preventDefault();
          void create.run();
        }}
      >
        <Field label="Token name" value={name} onInput={setName} error={apiError?.forField('name')} hint="who uses it, e.g. incident-system" />
        <Select label="Token role" value={role} options={ROLES} onChange={setRole} />
        <button type="submit" disabled={create.busy}>
          Create token
        </button>
      </form>
      {apiError?.forField('name') === undefined ? <ErrorText error={create.error} /> : null}
    </Section>
  );
}
