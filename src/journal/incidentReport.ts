import { createHash } from 'node:crypto';
import type { JournalEvent } from './events.js';
import type { Journal } from './journal.js';
import { replayEvacuations, summary, type Evacuation, type MusterSummary } from './evacuations.js';

/** Events beyond this in the window are left out (and the report says so). */
const MAX_EVENTS_AROUND = 10_000;

export interface IncidentReport {
  readonly alarm: string;
  readonly site: string;
  readonly generatedAt: string;
  readonly windowMinutes: number;
  readonly window: { readonly from: string; readonly until: string };
  readonly raisedAt: string;
  readonly acknowledgedAt: string | null;
  readonly acknowledgedBy: string | null;
  readonly clearedAt: string | null;
  readonly clearedBy: string | null;
  readonly escalations: number;
  /** The doors, devices and zone the alarm's events name: "where" for the events around it. */
  readonly doors: readonly string[];
  readonly devices: readonly string[];
  readonly zone: string | null;
  /** Every event that names this alarm, in order: raised, escalated, acknowledged, cleared … */
  readonly lifecycle: readonly JournalEvent[];
  readonly cameraTriggers: readonly JournalEvent[];
  /** Every other event at those doors, devices or zone inside the window. */
  readonly around: readonly JournalEvent[];
  readonly truncated: boolean;
  /** Evacuations started in the window, with their mustering list as it stands now (issue 12). */
  readonly evacuations: readonly (Evacuation & { readonly summary: MusterSummary })[];
  /** SHA-256 of the lifecycle, camera and around events as JSON: lets a recipient check the copy. */
  readonly sha256: string;
}

const actor = (event: JournalEvent | undefined): string | null => {
  if (event === undefined) return null;
  for (const key of ['by', 'user', 'actor']) {
    const value = event.data[key];
    if (typeof value === 'string' && value !== '') return value;
  }
  return null;
};

const strings = (value: unknown): string[] => (Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : typeof value === 'string' ? [value] : []);

/**
 * What a security team hands to law enforcement about one alarm: its lifecycle, who
 * acknowledged and cleared it, camera triggers, and every event at its doors or zone from
 * `windowMinutes` before it was raised to `windowMinutes` after it was cleared (or last changed).
 * Undefined when the journal knows no such alarm.
 */
export function buildIncidentReport(journal: Journal, alarm: string, windowMinutes: number, nowMs: number): IncidentReport | undefined {
  // Everything that names the alarm: its lifecycle, and what it set off (cameras, lockdowns …).
  const named = [...journal.iterate({ alarm })];
  const lifecycle = named.filter((event) => event.type.startsWith('alarm.'));
  const first = lifecycle[0];
  const last = lifecycle.at(-1);
  if (first === undefined || last === undefined) return undefined;
  const raised = lifecycle.find((event) => event.type === 'alarm.raised') ?? first;
  const acknowledged = lifecycle.find((event) => event.type === 'alarm.acknowledged');
  const cleared = lifecycle.findLast((event) => event.type === 'alarm.cleared');
  const doors = new Set<string>();
  const devices = new Set<string>();
  let zone: string | null = null;
  for (const event of lifecycle) {
    if (event.door !== null) doors.add(event.door);
    if (event.device !== null) devices.add(event.device);
    for (const door of strings(event.data.doors)) doors.add(door);
    if (typeof event.data.zone === 'string') zone ??= event.data.zone;
  }
  const windowMs = windowMinutes * 60_000;
  const fromMs = Date.parse(first.time) - windowMs;
  const untilMs = Date.parse((cleared ?? last).time) + windowMs;
  const isNamed = new Set(named.map((event) => event.seq));
  const cameraTriggers: JournalEvent[] = named.filter((event) => event.type.startsWith('camera.'));
  const around: JournalEvent[] = named.filter((event) => !event.type.startsWith('alarm.') && !event.type.startsWith('camera.'));
  let truncated = false;
  for (const event of journal.iterate({ sinceMs: fromMs, untilMs: untilMs + 1 })) {
    if (isNamed.has(event.seq)) continue;
    const here = (event.door !== null && doors.has(event.door)) || (event.device !== null && devices.has(event.device)) || (zone !== null && event.data.zone === zone);
    if (event.type.startsWith('camera.') && (here || event.data.alarm === alarm)) {
      cameraTriggers.push(event);
      continue;
    }
    if (!here) continue;
    if (around.length === MAX_EVENTS_AROUND) {
      truncated = true;
      break;
    }
    around.push(event);
  }
  around.sort((a, b) => a.seq - b.seq);
  cameraTriggers.sort((a, b) => a.seq - b.seq);
  const sha256 = createHash('sha256').update(JSON.stringify({ lifecycle, cameraTriggers, around })).digest('hex');
  const evacuations = replayEvacuations(journal.iterate({ type: 'muster', sinceMs: fromMs }))
    .filter((evacuation) => Date.parse(evacuation.startedAt) <= untilMs)
    .map((evacuation) => ({ ...evacuation, summary: summary(evacuation) }));
  return {
    alarm,
    site: first.site,
    generatedAt: new Date(nowMs).toISOString(),
    windowMinutes,
    window: { from: new Date(fromMs).toISOString(), until: new Date(untilMs).toISOString() },
    raisedAt: raised.time,
    acknowledgedAt: acknowledged?.time ?? null,
    acknowledgedBy: actor(acknowledged),
    clearedAt: cleared?.time ?? null,
    clearedBy: actor(cleared),
    escalations: lifecycle.filter((event) => event.type === 'alarm.escalated').length,
    doors: [...doors].sort(),
    devices: [...devices].sort(),
    zone,
    lifecycle,
    cameraTriggers,
    around,
    truncated,
    evacuations,
    sha256,
  };
}

const escapeHtml = (text: string): string => text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);

function eventTable(events: readonly JournalEvent[], empty: string): string {
  if (events.length === 0) return `<p class="empty">${escapeHtml(empty)}</p>`;
  const rows = events
    .map((event) => {
      const cells = [event.time.replace('T', ' ').replace('Z', ' UTC'), String(event.seq), event.type, event.severity, event.door ?? '', event.device ?? '', event.cardholder ?? '', event.reason ?? '', JSON.stringify(event.data)];
      return `<tr class="sev-${event.severity}">${cells.map((cell) => `<td>${escapeHtml(cell)}</td>`).join('')}</tr>`;
    })
    .join('\n');
  return `<table><thead><tr><th>Time</th><th>Seq</th><th>Event</th><th>Severity</th><th>Door</th><th>Device</th><th>Cardholder</th><th>Reason</th><th>Details</th></tr></thead><tbody>\n${rows}\n</tbody></table>`;
}

/** A self-contained page (no scripts, no external files) that prints cleanly on A4. */
export function incidentReportHtml(report: IncidentReport): string {
  const row = (label: string, value: string | null): string => `<tr><th>${escapeHtml(label)}</th><td>${escapeHtml(value ?? '—')}</td></tr>`;
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Incident report: alarm ${escapeHtml(report.alarm)}</title>
<style>
  body { font: 11pt/1.4 system-ui, sans-serif; margin: 2em; color: #000; }
  h1 { font-size: 16pt; margin-bottom: 0.2em; } h2 { font-size: 13pt; margin-top: 1.5em; border-bottom: 1px solid #000; }
  table { border-collapse: collapse; width: 100%; } th, td { border: 1px solid #999; padding: 2px 6px; text-align: left; vertical-align: top; }
  td:last-child { font-family: monospace; font-size: 9pt; word-break: break-all; }
  .summary th { width: 14em; background: #eee; } .sev-critical td, .sev-high td { font-weight: bold; }
  .empty, footer { color: #444; } footer { margin-top: 2em; font-size: 9pt; }
  @media print { body { margin: 0; } @page { size: A4 landscape; margin: 12mm; } tr { page-break-inside: avoid; } }
</style>
</head>
<body>
<h1>Incident report: alarm ${escapeHtml(report.alarm)}</h1>
<p>Site ${escapeHtml(report.site)}. Events from ${escapeHtml(report.window.from)} to ${escapeHtml(report.window.until)} (${report.windowMinutes} minutes either side).</p>
<h2>Summary</h2>
<table class="summary">
${row('Raised', report.raisedAt)}
${row('Acknowledged', report.acknowledgedAt === null ? null : `${report.acknowledgedAt} by ${report.acknowledgedBy ?? 'unknown'}`)}
${row('Cleared', report.clearedAt === null ? 'not cleared' : `${report.clearedAt} by ${report.clearedBy ?? 'unknown'}`)}
${row('Escalations', String(report.escalations))}
${row('Doors', report.doors.join(', ') || null)}
${row('Devices', report.devices.join(', ') || null)}
${row('Zone', report.zone)}
</table>
<h2>Alarm lifecycle</h2>
${eventTable(report.lifecycle, 'No lifecycle events.')}
<h2>Camera triggers</h2>
${eventTable(report.cameraTriggers, 'No camera was triggered.')}
<h2>Events at these doors and devices</h2>
${eventTable(report.around, 'No other events at these doors or devices in the window.')}
${report.evacuations.map((evacuation) => `<h2>Evacuation ${escapeHtml(evacuation.startedAt)}: ${evacuation.summary.safe} of ${evacuation.summary.total} accounted for</h2>
<table><thead><tr><th>Name</th><th>Areas</th><th>Last read</th><th>Safe</th></tr></thead><tbody>
${evacuation.people.map((entry) => `<tr><td>${escapeHtml(entry.name)}</td><td>${escapeHtml(entry.areas.join(', '))}</td><td>${escapeHtml(`${entry.lastSeenAt} ${entry.lastSeenDoor ?? ''}`)}</td><td>${escapeHtml(entry.safe === null ? 'MISSING' : `${entry.safe.at} (${entry.safe.via}${entry.safe.by === null ? '' : ` by ${entry.safe.by}`})`)}</td></tr>`).join('\n')}
</tbody></table>`).join('\n')}
${report.truncated ? `<p><strong>Only the first ${MAX_EVENTS_AROUND} events are listed; export the journal for the rest.</strong></p>` : ''}
<footer>Generated by guardpost at ${escapeHtml(report.generatedAt)} from the gateway's journal. SHA-256 of the listed events: <code>${report.sha256}</code>.</footer>
</body>
</html>
`;
}
