import type { JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { api, ApiError, apiList, apiPage, isMissingRoute, raw, roleAllows, type Cardholder, type Credential, type CsvImportReport, type Group, type Role } from '../api.js';
import { useLive } from '../live.js';
import { ErrorText, Field, Section, Select, StatusBadge, useAction } from '../ui.js';

interface AccessLevel {
  readonly id: string;
  readonly name: string;
  readonly doors?: readonly string[];
  readonly doorGroups?: readonly string[];
  readonly schedule?: string;
}

/**
 * A table of a whole site's people would freeze a phone, and a panel holds millions: the gateway
 * searches and pages [SITE-LIST]; the screen shows the first matches only.
 */
const SHOWN_ROWS = 200;
/** Typing pauses this long before the search goes to the gateway. */
const SEARCH_DELAY_MS = 250;
/**
 * Shorter text is not sent: the gateway's search index takes three characters and more, and a
 * shorter search scans every person (over a second on the gateway's thread at panel scale).
 */
const MIN_SEARCH_CHARS = 3;

const cardText = (credential: Credential): string =>
  credential.card !== undefined
    ? credential.card
    : typeof credential.wiegand === 'string'
      ? credential.wiegand
      : credential.wiegand !== undefined
        ? `${credential.wiegand.format}:${credential.wiegand.facility}:${credential.wiegand.number}`
        : (credential.id ?? 'credential');

/** People: cardholders and their cards, groups and access levels, CSV import. */
export function PeopleScreen(props: { role: Role }): JSX.Element {
  // The first matches of the search (or of everyone), and how many there are in all.
  const [cardholders, setCardholders] = useState<readonly Cardholder[] | null>(null);
  const [total, setTotal] = useState(0);
  const [everyone, setEveryone] = useState<number | null>(null);
  const [reloads, setReloads] = useState(0);
  const [groups, setGroups] = useState<readonly Group[]>([]);
  const [levels, setLevels] = useState<readonly AccessLevel[] | null>(null);
  const [query, setQuery] = useState('');
  const [tooShort, setTooShort] = useState(false);
  const [editing, setEditing] = useState<Cardholder | 'new' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const mayEdit = roleAllows(props.role, 'admin');

  const load = async (): Promise<void> => {
    try {
      setGroups(await apiList<Group>('/api/v1/groups'));
      setReloads((count) => count + 1);
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  };
  useEffect(() => {
    void load();
    apiList<AccessLevel>('/api/v1/access-levels').then(setLevels, (caught: unknown) => (isMissingRoute(caught) ? setLevels(null) : setError(caught)));
  }, []);

  // The search runs on the gateway: an id, a name, a credential id or a card's visible digits
  // (`q`), or a group's id (`group`). A newer search cancels the one in flight.
  useEffect(() => {
    const needle = query.trim();
    const controller = new AbortController();
    const timer = setTimeout(
      () => {
        const group = groups.find((candidate) => candidate.id === needle.toLowerCase());
        const short = needle !== '' && group === undefined && [...needle].length < MIN_SEARCH_CHARS;
        setTooShort(short);
        if (short) return;
        const filter = needle === '' ? '' : group !== undefined ? `&group=${encodeURIComponent(group.id)}` : `&q=${encodeURIComponent(needle)}`;
        apiPage<Cardholder>(`/api/v1/cardholders?limit=${SHOWN_ROWS}${filter}`, controller.signal).then(
          ({ items, total: matches }) => {
            setCardholders(items);
            setTotal(matches);
            if (needle === '') setEveryone(matches);
          },
          (caught: unknown) => {
            if ((caught as Error).name !== 'AbortError') setError(caught);
          },
        );
      },
      needle === '' ? 0 : SEARCH_DELAY_MS,
    );
    return () => {
      clearTimeout(timer);
      controller.abort();
    };
  }, [query, groups, reloads]);
  const shown = cardholders ?? [];

  return (
    <div class="screen">
      <h1>People</h1>
      <ErrorText error={error} />
      <Section
        title={`Cardholders${everyone === null ? '' : ` (${everyone})`}`}
        actions={
          mayEdit ? (
            <button type="button" class="primary" onClick={() => setEditing('new')}>
              Add cardholder
            </button>
          ) : null
        }
      >
        <Field label="Search by name, id, group or card" type="search" value={query} onInput={setQuery} />
        {editing !== null ? (
          <CardholderForm
            key={editing === 'new' ? 'new' : editing.id}
            holder={editing === 'new' ? null : editing}
            groups={groups}
            onDone={(changed) => {
              setEditing(null);
              if (changed) void load();
            }}
          />
        ) : null}
        <div class="table-wrap">
          <table data-testid="cardholders">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Groups</th>
                <th scope="col">Cards</th>
                {mayEdit ? <th scope="col">Actions</th> : null}
              </tr>
            </thead>
            <tbody>
              {shown.map((holder) => (
                <CardholderRow key={holder.id} holder={holder} mayEdit={mayEdit} onEdit={() => setEditing(holder)} onChanged={() => void load()} />
              ))}
            </tbody>
          </table>
        </div>
        {tooShort ? <p class="muted">Type at least {MIN_SEARCH_CHARS} characters to search (or a group's id).</p> : null}
        {cardholders !== null && shown.length === 0 && !tooShort ? <p>No cardholder matches “{query}”.</p> : null}
        {total > shown.length ? (
          <p class="muted">
            Showing {shown.length} of {total} matches: refine the search to see the others.
          </p>
        ) : null}
      </Section>
      <div class="grid-2">
        <GroupsSection groups={groups} mayEdit={mayEdit} onChanged={() => void load()} />
        <Section title="Access levels">
          {levels === null ? (
            <p class="muted">This gateway's API does not list access levels yet.</p>
          ) : levels.length === 0 ? (
            <p class="muted">No access levels: groups name their doors directly.</p>
          ) : (
            <ul class="plain">
              {levels.map((level) => (
                <li key={level.id}>
                  <strong>{level.name}</strong> · {[...(level.doors ?? []), ...(level.doorGroups ?? []).map((group) => `group ${group}`)].join(', ') || 'no doors'}
                  {level.schedule !== undefined ? ` · ${level.schedule}` : ' · any time'}
                </li>
              ))}
            </ul>
          )}
        </Section>
      </div>
      {mayEdit ? <CsvImport onImported={() => void load()} /> : null}
    </div>
  );
}

function CardholderRow(props: { holder: Cardholder; mayEdit: boolean; onEdit: () => void; onChanged: () => void }): JSX.Element {
  const { holder } = props;
  const [confirming, setConfirming] = useState<number | null>(null);
  // Two clicks: "Lost…" then "Suspend card …". The card stays on record, refused from the next read.
  const suspend = useAction(async (index: number) => {
    const credentials = holder.credentials.map((credential, at) => (at === index ? { ...credential, status: 'lost' as const } : credential));
    await api(`/api/v1/cardholders/${holder.id}`, { method: 'PUT', body: { ...holder, credentials } });
    setConfirming(null);
    props.onChanged();
  });
  return (
    <tr data-cardholder={holder.id}>
      <td>
        {holder.name}
        <br />
        <small class="muted">{holder.id}</small>
      </td>
      <td>
        <StatusBadge value={holder.status} tone={holder.status === 'active' ? 'ok' : 'bad'} />
      </td>
      <td>{holder.groups.join(', ')}</td>
      <td>
        <ul class="plain">
          {holder.credentials.map((credential, index) => (
            <li key={credential.id ?? index}>
              <code>{cardText(credential)}</code> <StatusBadge value={credential.status} tone={credential.status === 'active' ? 'ok' : 'bad'} />
              {credential.validUntil !== undefined ? <small class="muted"> until {credential.validUntil.slice(0, 10)}</small> : null}
              {props.mayEdit && credential.status === 'active' ? (
                confirming === index ? (
                  <>
                    {' '}
                    <button type="button" class="danger" onClick={() => void suspend.run(index)} disabled={suspend.busy}>
                      Suspend card {cardText(credential)}
                    </button>{' '}
                    <button type="button" onClick={() => setConfirming(null)}>
                      Keep it
                    </button>
                  </>
                ) : (
                  <>
                    {' '}
                    <button type="button" onClick={() => setConfirming(index)} aria-label={`Card ${cardText(credential)} of ${holder.name} is lost`}>
                      Lost…
                    </button>
                  </>
                )
              ) : null}
            </li>
          ))}
        </ul>
        <ErrorText error={suspend.error} />
      </td>
      {props.mayEdit ? (
        <td>
          <button type="button" onClick={props.onEdit} aria-label={`Edit ${holder.name}`}>
            Edit
          </button>
        </td>
      ) : null}
    </tr>
  );
}

const STATUSES = [
  ['active', 'Active'],
  ['suspended', 'Suspended'],
  ['lost', 'Lost'],
  ['expired', 'Expired'],
] as const;

/** Add or edit one cardholder and their cards; the API's complaints appear under the field they name. */
function CardholderForm(props: { holder: Cardholder | null; groups: readonly Group[]; onDone: (changed: boolean) => void }): JSX.Element {
  const creating = props.holder === null;
  const [id, setId] = useState(props.holder?.id ?? '');
  const [name, setName] = useState(props.holder?.name ?? '');
  const [status, setStatus] = useState<Cardholder['status']>(props.holder?.status ?? 'active');
  const [groups, setGroups] = useState<readonly string[]>(props.holder?.groups ?? []);
  const [credentials, setCredentials] = useState<readonly Credential[]>(props.holder?.credentials ?? []);
  const save = useAction(async () => {
    const body: Cardholder = { ...(props.holder ?? {}), id, name, status, groups: [...groups], credentials: credentials.map((credential) => clean(credential)) };
    if (creating) await api('/api/v1/cardholders', { method: 'POST', body });
    else await api(`/api/v1/cardholders/${props.holder!.id}`, { method: 'PUT', body });
    props.onDone(true);
  });
  const remove = useAction(async () => {
    await api(`/api/v1/cardholders/${props.holder!.id}`, { method: 'DELETE' });
    props.onDone(true);
  });
  const apiError = save.error instanceof ApiError ? save.error : null;
  const fieldError = (field: string): string | undefined => apiError?.forField(field);
  const fields = ['id', 'name', 'status', 'groups', ...credentials.flatMap((_, index) => [`credentials[${index}].card`, `credentials[${index}].status`, `credentials[${index}].validUntil`])];
  const unplaced = apiError !== null && fields.every((field) => fieldError(field) === undefined) ? apiError : save.error instanceof ApiError ? null : save.error;
  const setCredential = (index: number, change: Partial<Credential>): void => setCredentials(credentials.map((credential, at) => (at === index ? { ...credential, ...change } : credential)));

  return (
    <form
      class="card editor"
      aria-label={creating ? 'New cardholder' : `Edit ${props.holder!.name}`}
      onSubmit={(event) => {
        event.preventDefault();
        void save.run();
      }}
    >
      <h2>{creating ? 'New cardholder' : `Edit ${props.holder!.name}`}</h2>
      <div class="grid-2">
        <div>
          {creating ? <Field label="Id" value={id} onInput={setId} hint="lowercase letters, digits and dashes, e.g. erin-evans" error={fieldError('id')} required /> : null}
          <Field label="Name" value={name} onInput={setName} error={fieldError('name')} required />
          <Select
            label="Cardholder status"
            value={status}
            options={[
              ['active', 'Active'],
              ['suspended', 'Suspended'],
            ]}
            onChange={setStatus}
            error={fieldError('status')}
          />
          <fieldset class="checks">
            <legend>Groups</legend>
            {props.groups.map((group) => (
              <label key={group.id}>
                <input
                  type="checkbox"
                  checked={groups.includes(group.id)}
                  onChange={(event) => setGroups((event.currentTarget as HTMLInputElement).checked ? [...groups, group.id] : groups.filter((known) => known !== group.id))}
                />{' '}
                {group.name}
              </label>
            ))}
          </fieldset>
          {fieldError('groups') !== undefined ? <p class="field-error">{fieldError('groups')}</p> : null}
        </div>
        <fieldset class="checks stacked">
          <legend>Cards</legend>
          {credentials.map((credential, index) => (
            <div key={index} class="inline-form credential">
              <Field
                label={`Card ${index + 1} number`}
                value={credential.card ?? ''}
                onInput={(value) => setCredential(index, { card: value })}
                error={fieldError(`credentials[${index}].card`)}
              />
              <Select
                label={`Card ${index + 1} status`}
                value={credential.status}
                options={STATUSES}
                onChange={(value) => setCredential(index, { status: value })}
                error={fieldError(`credentials[${index}].status`)}
              />
              <Field
                label={`Card ${index + 1} valid until`}
                type="date"
                value={credential.validUntil?.slice(0, 10) ?? ''}
                onInput={(value) => setCredential(index, { validUntil: value === '' ? undefined : `${value}T23:59:59Z` })}
                error={fieldError(`credentials[${index}].validUntil`)}
              />
              <button type="button" onClick={() => setCredentials(credentials.filter((_, at) => at !== index))}>
                Remove card {index + 1}
              </button>
            </div>
          ))}
          <button type="button" onClick={() => setCredentials([...credentials, { card: '', status: 'active' }])}>
            Add card
          </button>
        </fieldset>
      </div>
      <ErrorText error={unplaced} />
      <div class="button-row">
        <button type="submit" class="primary" disabled={save.busy}>
          {creating ? 'Create cardholder' : 'Save changes'}
        </button>
        <button type="button" onClick={() => props.onDone(false)}>
          Cancel
        </button>
        {!creating ? (
          <button type="button" class="danger" onClick={() => void remove.run()} disabled={remove.busy}>
            Delete {props.holder!.name}
          </button>
        ) : null}
      </div>
      <ErrorText error={remove.error} />
    </form>
  );
}

/** Drops empty optional fields so the site rules see what a person meant. */
function clean(credential: Credential): Credential {
  const copy: Credential = { ...credential };
  if (copy.card === '') delete copy.card;
  if (copy.validUntil === undefined) delete copy.validUntil;
  if (copy.validFrom === undefined) delete copy.validFrom;
  return copy;
}

/** CSV import: a dry run first, showing every bad row; the import itself only once it is clean. */
function CsvImport(props: { onImported: () => void }): JSX.Element {
  const [text, setText] = useState('');
  const [report, setReport] = useState<CsvImportReport | null>(null);
  const run = useAction(async (dryRun: boolean) => {
    const response = await raw(`/api/v1/cardholders/import?dryRun=${dryRun}`, { method: 'POST', body: text, contentType: 'text/csv' });
    const result = (await response.json()) as CsvImportReport;
    setReport(result);
    if (!dryRun) props.onImported();
  });
  const readFile = async (file: File | undefined): Promise<void> => {
    if (file === undefined) return;
    setText(await file.text());
    setReport(null);
  };
  const clean = report !== null && report.dryRun && report.errors.length === 0;
  return (
    <Section title="Import cardholders from CSV">
      <p class="muted">
        Columns <code>id,name,status,groups,cards,validFrom,validUntil</code>; groups and cards separated by <code>;</code>. Check the file first: nothing is written while any row is
        bad.
      </p>
      <div class="field">
        <label for="csv-file">CSV file</label>
        <input id="csv-file" type="file" accept=".csv,text/csv" onChange={(event) => void readFile((event.currentTarget as HTMLInputElement).files?.[0])} />
      </div>
      <div class="field">
        <label for="csv-text">Or paste the CSV</label>
        <textarea
          id="csv-text"
          rows={5}
          value={text}
          onInput={(event) => {
            setText((event.currentTarget as HTMLTextAreaElement).value);
            setReport(null);
          }}
        />
      </div>
      <div class="button-row">
        <button type="button" onClick={() => void run.run(true)} disabled={run.busy || text.trim() === ''}>
          Check (dry run)
        </button>
        <button type="button" class="primary" onClick={() => void run.run(false)} disabled={run.busy || !clean}>
          Import
        </button>
      </div>
      <ErrorText error={run.error} />
      {report !== null ? (
        <div role="status" data-testid="import-report">
          <p>
            {report.dryRun ? 'Dry run' : 'Imported'}: {report.rows} row(s) — {report.created.length} to create, {report.updated.length} to update, {report.unchanged.length} unchanged,{' '}
            {report.errors.length} bad.
          </p>
          {report.errors.length > 0 ? (
            <ul>
              {report.errors.map((problem) => (
                <li key={problem.row} class="field-error">
                  Line {problem.row}
                  {problem.id !== null ? ` (${problem.id})` : ''}: {problem.message}
                </li>
              ))}
            </ul>
          ) : null}
          {report.dryRun && report.errors.length === 0 ? <p>The file is clean: press Import to apply it.</p> : null}
        </div>
      ) : null}
    </Section>
  );
}

/** Groups and the doors they open; admins add a group or change its doors. */
function GroupsSection(props: { groups: readonly Group[]; mayEdit: boolean; onChanged: () => void }): JSX.Element {
  const doors = useLive().doors;
  const [editing, setEditing] = useState<Group | 'new' | null>(null);
  return (
    <Section
      title="Groups"
      actions={
        props.mayEdit ? (
          <button type="button" onClick={() => setEditing('new')}>
            Add group
          </button>
        ) : null
      }
    >
      <ul class="plain" data-testid="groups">
        {props.groups.map((group) => (
          <li key={group.id} data-group={group.id}>
            <strong>{group.name}</strong> <span class="muted">({group.id})</span>
            {group.doors !== undefined && group.doors.length > 0 ? ` · doors: ${group.doors.join(', ')}` : ' · no doors'}
            {props.mayEdit ? (
              <>
                {' '}
                <button type="button" class="link" onClick={() => setEditing(group)} aria-label={`Edit group ${group.name}`}>
                  Edit
                </button>
              </>
            ) : null}
          </li>
        ))}
      </ul>
      {editing !== null ? (
        <GroupForm
          key={editing === 'new' ? 'new' : editing.id}
          group={editing === 'new' ? null : editing}
          doors={doors.map((door) => [door.id, door.name] as const)}
          onDone={(changed) => {
            setEditing(null);
            if (changed) props.onChanged();
          }}
        />
      ) : null}
    </Section>
  );
}

function GroupForm(props: { group: Group | null; doors: readonly (readonly [string, string])[]; onDone: (changed: boolean) => void }): JSX.Element {
  const creating = props.group === null;
  const [id, setId] = useState(props.group?.id ?? '');
  const [name, setName] = useState(props.group?.name ?? '');
  const [doors, setDoors] = useState<readonly string[]>(props.group?.doors ?? []);
  const save = useAction(async () => {
    const body = { ...(props.group ?? {}), id, name, doors: [...doors] };
    if (creating) await api('/api/v1/groups', { method: 'POST', body });
    else await api(`/api/v1/groups/${props.group!.id}`, { method: 'PUT', body });
    props.onDone(true);
  });
  const apiError = save.error instanceof ApiError ? save.error : null;
  const placed = ['id', 'name', 'doors'].some((field) => apiError?.forField(field) !== undefined);
  return (
    <form
      class="card editor"
      aria-label={creating ? 'New group' : `Edit group ${props.group!.name}`}
      onSubmit={(event) => {
        event.preventDefault();
        void save.run();
      }}
    >
      {creating ? <Field label="Group id" value={id} onInput={setId} error={apiError?.forField('id')} required /> : null}
      <Field label="Group name" value={name} onInput={setName} error={apiError?.forField('name')} required />
      <fieldset class="checks">
        <legend>Doors this group opens</legend>
        {props.doors.map(([doorId, doorName]) => (
          <label key={doorId}>
            <input
              type="checkbox"
              checked={doors.includes(doorId)}
              onChange={(event) => setDoors((event.currentTarget as HTMLInputElement).checked ? [...doors, doorId] : doors.filter((known) => known !== doorId))}
            />{' '}
            {doorName}
          </label>
        ))}
      </fieldset>
      {apiError?.forField('doors') !== undefined ? <p class="field-error">{apiError.forField('doors')}</p> : null}
      {!placed ? <ErrorText error={save.error} /> : null}
      <div class="button-row">
        <button type="submit" class="primary" disabled={save.busy}>
          {creating ? 'Create group' : 'Save group'}
        </button>
        <button type="button" onClick={() => props.onDone(false)}>
          Cancel
        </button>
      </div>
    </form>
  );
}
