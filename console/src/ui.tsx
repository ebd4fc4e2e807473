import type { ComponentChildren, InputHTMLAttributes, JSX } from 'preact';
import { useId, useState } from 'preact/hooks';
import { ApiError, type JournalEvent } from './api.js';

/** A labelled input with the API's complaint about this field right under it. */
export function Field(props: {
  label: string;
  value: string;
  onInput: (value: string) => void;
  error?: string | undefined;
  hint?: string;
  type?: 'text' | 'password' | 'search' | 'number' | 'datetime-local' | 'date' | 'time' | 'file';
  name?: string;
  required?: boolean;
  autoComplete?: string;
  placeholder?: string;
  list?: string;
}): JSX.Element {
  const id = useId();
  const describedBy = [props.error !== undefined ? `${id}-error` : '', props.hint !== undefined ? `${id}-hint` : ''].filter(Boolean).join(' ');
  // Preact types <input> per `type`; this one component serves several types.
  const attributes = {
    id,
    name: props.name,
    type: props.type ?? 'text',
    // Any number: the API, not the browser, says what is out of range, next to the field.
    step: props.type === 'number' ? 'any' : undefined,
    value: props.value,
    required: props.required,
    autoComplete: props.autoComplete,
    placeholder: props.placeholder,
    list: props.list,
    'aria-invalid': props.error !== undefined,
    'aria-describedby': describedBy === '' ? undefined : describedBy,
    onInput: (event: Event) => props.onInput((event.currentTarget as HTMLInputElement).value),
  } as unknown as InputHTMLAttributes<HTMLInputElement>;
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <input {...attributes} />
      {props.hint !== undefined && (
        <small id={`${id}-hint`} class="hint">
          {props.hint}
        </small>
      )}
      {props.error !== undefined && (
        <small id={`${id}-error`} class="field-error" role="alert">
          {props.error}
        </small>
      )}
    </div>
  );
}

export function Select<T extends string>(props: { label: string; value: T; options: readonly (readonly [T, string])[]; onChange: (value: T) => void; error?: string | undefined }): JSX.Element {
  const id = useId();
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select id={id} value={props.value} aria-invalid={props.error !== undefined} onChange={(event) => props.onChange((event.currentTarget as HTMLSelectElement).value as T)}>
        {props.options.map(([value, text]) => (
          <option key={value} value={value}>
            {text}
          </option>
        ))}
      </select>
      {props.error !== undefined && (
        <small class="field-error" role="alert">
          {props.error}
        </small>
      )}
    </div>
  );
}

/** An error the API gave, in its own words (role=alert so a screen reader says it at once). */
export function ErrorText(props: { error: unknown }): JSX.Element | null {
  if (props.error === null || props.error === undefined) return null;
  const text = props.error instanceof ApiError ? props.error.text : props.error instanceof Error ? props.error.message : String(props.error);
  return (
    <p class="error" role="alert">
      {text}
    </p>
  );
}

export const messageOf = (error: unknown): string => (error instanceof ApiError ? error.text : error instanceof Error ? error.message : String(error));

/** Runs an action, tracking busy state and the error it threw. */
export function useAction<A extends unknown[]>(action: (...args: A) => Promise<unknown>): { run: (...args: A) => Promise<boolean>; busy: boolean; error: unknown; setError: (error: unknown) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const run = async (...args: A): Promise<boolean> => {
    setBusy(true);
    setError(null);
    try {
      await action(...args);
      return true;
    } catch (caught) {
      setError(caught);
      return false;
    } finally {
      setBusy(false);
    }
  };
  return { run, busy, error, setError };
}

export function Section(props: { title: string; children: ComponentChildren; actions?: ComponentChildren; id?: string }): JSX.Element {
  const headingId = useId();
  return (
    <section class="card" aria-labelledby={headingId} id={props.id}>
      <header class="card-head">
        <h2 id={headingId}>{props.title}</h2>
        {props.actions}
      </header>
      {props.children}
    </section>
  );
}

const timeFormat = new Intl.DateTimeFormat(undefined, { hour: '2-digit', minute: '2-digit', second: '2-digit' });
const dateTimeFormat = new Intl.DateTimeFormat(undefined, { dateStyle: 'short', timeStyle: 'medium' });

export const clock = (iso: string): string => timeFormat.format(new Date(iso));
export const dateTime = (iso: string): string => dateTimeFormat.format(new Date(iso));

/** How long ago, in words a guard reads at a glance. */
export function ago(iso: string, nowMs: number = Date.now()): string {
  const seconds = Math.max(0, Math.round((nowMs - Date.parse(iso)) / 1000));
  if (seconds < 60) return `${seconds} s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)} min ago`;
  if (seconds < 86_400) return `${Math.floor(seconds / 3600)} h ago`;
  return `${Math.floor(seconds / 86_400)} d ago`;
}

/** Who an event's `data.by` names: a user or device id, or an actor `{via, by}`. */
function actorText(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && 'by' in value) {
    const actor = value as { by: unknown; via?: unknown };
    return typeof actor.by === 'string' ? actor.by : typeof actor.via === 'string' ? `(${actor.via})` : null;
  }
  return null;
}

/** One line saying what an event was, for the feed and the door tiles. */
export function describeEvent(event: JournalEvent): string {
  const who = event.cardholder ?? (typeof event.data.card === 'string' ? `card ${event.data.card}` : typeof event.data.user === 'string' ? event.data.user : null);
  const where = event.door ?? event.device;
  const parts = [event.type.replace('.', ' ').replace(/_/g, ' ')];
  if (who !== null) parts.push(who);
  if (where !== null) parts.push(`at ${where}`);
  if (event.reason !== null && event.reason !== 'granted') parts.push(`(${event.reason.replace(/_/g, ' ')})`);
  const by = actorText(event.data.by);
  if (by !== null && by !== where) parts.push(`by ${by}`);
  return parts.join(' ');
}

export function severityClass(severity: string): string {
  switch (severity) {
    case 'critical':
    case 'high':
      return 'sev-critical';
    case 'medium':
      return 'sev-warning';
    default:
      return 'sev-info';
  }
}

export function StatusBadge(props: { value: string; tone?: 'ok' | 'bad' | 'warn' | 'neutral' }): JSX.Element {
  return <span class={`badge badge-${props.tone ?? 'neutral'}`}>{props.value}</span>;
}

/**
 * Takeovers (an alarm, an evacuation) make the page behind them inert; two may be open at once,
 * so the page comes back only when neither is.
 */
const inertHolders = new Set<string>();
export function setInertBehind(holder: string, on: boolean): void {
  if (on) inertHolders.add(holder);
  else inertHolders.delete(holder);
  const inert = inertHolders.size > 0;
  for (const element of [document.querySelector('.topbar'), document.getElementById('main'), document.querySelector('.evacuation-banner')]) element?.toggleAttribute('inert', inert);
}
