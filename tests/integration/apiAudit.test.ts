import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, TEST_ADMIN, type TestGateway } from '../support/gateway.js';
import { WebhookReceiver } from '../support/webhookReceiver.js';

type Json = Record<string, unknown>;

/** One call of a mutating route, valid against the demo site as changed by the calls before it. */
interface Step {
  /** The route as registered: `POST /api/v1/zones/:id`. */
  readonly route: string;
  readonly path: string | (() => string);
  readonly body?: unknown;
  readonly contentType?: string;
  /** The audit action the call must write. */
  readonly action: string;
  /** Keeps what the next steps need (created ids). */
  readonly keep?: (response: Json) => void;
}

const kept: Record<string, string> = {};
const crud = (segment: string, entity: string, create: Json, update: Json): Step[] => [
  { route: `POST /api/v1/${segment}`, path: `/api/v1/${segment}`, body: create, action: `${entity}.created` },
  { route: `PUT /api/v1/${segment}/:id`, path: `/api/v1/${segment}/${String(create.id)}`, body: update, action: `${entity}.updated` },
];
const remove = (segment: string, entity: string, id: string): Step => ({ route: `DELETE /api/v1/${segment}/:id`, path: `/api/v1/${segment}/${id}`, action: `${entity}.deleted` });

/** Every mutating route, in an order where each call is valid. */
const steps: Step[] = [
  { route: 'POST /api/v1/users', path: '/api/v1/users', body: { id: 'audit-user', role: 'viewer', password: 'audit-password-1' }, action: 'user.created' },
  { route: 'PATCH /api/v1/users/:id', path: '/api/v1/users/audit-user', body: { role: 'security' }, action: 'user.updated' },
  { route: 'DELETE /api/v1/users/:id', path: '/api/v1/users/audit-user', action: 'user.deleted' },
  { route: 'POST /api/v1/tokens', path: '/api/v1/tokens', body: { name: 'audit', role: 'viewer' }, action: 'token.created', keep: (token) => (kept.token = String(token.id)) },
  { route: 'DELETE /api/v1/tokens/:id', path: () => `/api/v1/tokens/${kept.token}`, action: 'token.revoked' },
  ...crud('devices', 'device', { id: 'audit-reader', kind: 'reader' }, { kind: 'reader', name: 'Audit reader' }),
  { route: 'PUT /api/v1/devices/:id', path: '/api/v1/devices/audit-strike', body: { kind: 'strike' }, action: 'device.created' },
  ...crud('doors', 'door', { id: 'audit-door', name: 'Audit door', reader: 'audit-reader', strike: 'audit-strike' }, { name: 'Audit door 2', reader: 'audit-reader', strike: 'audit-strike' }),
  ...crud('holidays', 'holidayCalendar', { id: 'audit-days', name: 'Audit days', dates: ['2026-12-24'] }, { name: 'Audit days', dates: ['2026-12-24', '2026-12-31'] }),
  ...crud('schedules', 'schedule', { id: 'audit-hours', name: 'Audit hours', intervals: [{ days: ['mon'], from: '08:00', to: '09:00' }] }, { name: 'Audit hours', holidays: ['audit-days'] }),
  ...crud('door-groups', 'doorGroup', { id: 'audit-doors', name: 'Audit doors', doors: ['audit-door'] }, { name: 'Audit doors 2', doors: ['audit-door'] }),
  ...crud('access-levels', 'accessLevel', { id: 'audit-level', name: 'Audit level', doorGroups: ['audit-doors'] }, { name: 'Audit level', doorGroups: ['audit-doors'], schedule: 'audit-hours' }),
  ...crud('groups', 'group', { id: 'audit-group', name: 'Audit group', doors: ['audit-door'] }, { name: 'Audit group', accessLevels: ['audit-level'] }),
  ...crud('zones', 'zone', { id: 'audit-zone', name: 'Audit zone', doors: ['audit-door'] }, { name: 'Audit zone 2', doors: ['audit-door'] }),
  ...crud('areas', 'area', { id: 'audit-area', name: 'Audit area', entryDoors: ['audit-door'] }, { name: 'Audit area', entryDoors: ['audit-door'], passback: 'soft' }),
  ...crud('threat-levels', 'threatLevel', { id: 'audit-threat', name: 'Audit threat' }, { name: 'Audit threat', lockdownZones: ['audit-zone'] }),
  ...crud('cameras', 'camera', { id: 'audit-camera', kind: 'http', url: 'http://127.0.0.1:9/trigger' }, { kind: 'http', url: 'http://127.0.0.1:9/trigger', doors: ['audit-door'] }),
  ...crud('cardholders', 'cardholder', { id: 'audit-holder', name: 'Audit Holder', groups: ['audit-group'] }, { name: 'Audit Holder', groups: ['audit-group'], credentials: [{ card: '7770001' }] }),
  { route: 'POST /api/v1/cardholders/:id/credentials', path: '/api/v1/cardholders/audit-holder/credentials', body: { card: '7770002' }, action: 'cardholder.updated' },
  { route: 'PATCH /api/v1/cardholders/:id/credentials/:credential', path: '/api/v1/cardholders/audit-holder/credentials/audit-holder-card-2', body: { status: 'lost' }, action: 'cardholder.updated' },
  { route: 'DELETE /api/v1/cardholders/:id/credentials/:credential', path: '/api/v1/cardholders/audit-holder/credentials/audit-holder-card-2', action: 'cardholder.updated' },
  { route: 'POST /api/v1/watch-list', path: '/api/v1/watch-list', body: { cardholder: 'audit-holder', reason: 'audit' }, action: 'watchList.created' },
  { route: 'PUT /api/v1/watch-list/:key', path: '/api/v1/watch-list/cardholder:audit-holder', body: { reason: 'audit again' }, action: 'watchList.updated' },
  { route: 'DELETE /api/v1/watch-list/:key', path: '/api/v1/watch-list/cardholder:audit-holder', action: 'watchList.deleted' },
  { route: 'POST /api/v1/cardholders/import', path: '/api/v1/cardholders/import', body: 'id,name,groups\naudit-csv,Audit Csv,staff\n', contentType: 'text/csv', action: 'cardholder.created' },
  { route: 'POST /api/v1/passback/forgive', path: '/api/v1/passback/forgive', body: {}, action: 'passback.forgiven' },
  { route: 'POST /api/v1/doors/:id/unlock', path: '/api/v1/doors/main-entrance/unlock', body: { reason: 'delivery' }, action: 'door.unlock' },
  { route: 'POST /api/v1/doors/:id/lockdown', path: '/api/v1/doors/server-room/lockdown', body: { reason: 'drill' }, action: 'lockdown.started' },
  { route: 'DELETE /api/v1/doors/:id/lockdown', path: '/api/v1/doors/server-room/lockdown', action: 'lockdown.released' },
  { route: 'POST /api/v1/zones/:id/lockdown', path: '/api/v1/zones/secure-area/lockdown', action: 'lockdown.started' },
  { route: 'DELETE /api/v1/zones/:id/lockdown', path: '/api/v1/zones/secure-area/lockdown', action: 'lockdown.released' },
  { route: 'POST /api/v1/lockdown', path: '/api/v1/lockdown', action: 'lockdown.started' },
  { route: 'DELETE /api/v1/lockdown', path: '/api/v1/lockdown', action: 'lockdown.released' },
  { route: 'PUT /api/v1/threat-level', path: '/api/v1/threat-level', body: { level: 'audit-threat', reason: 'audit' }, action: 'threatLevel.set' },
  { route: 'POST /api/v1/drills', path: '/api/v1/drills', body: { durationMs: 60_000 }, action: 'drill.started' },
  { route: 'DELETE /api/v1/drills/current', path: '/api/v1/drills/current', action: 'drill.ended' },
  { route: 'POST /api/v1/alarms', path: '/api/v1/alarms', body: { location: 'desk 7', silent: true }, action: 'alarm.raised', keep: (alarm) => (kept.alarm = String(alarm.id)) },
  { route: 'POST /api/v1/alarms/:id/acknowledge', path: () => `/api/v1/alarms/${kept.alarm}/acknowledge`, body: { note: 'seen' }, action: 'alarm.acknowledged' },
  { route: 'POST /api/v1/alarms/:id/clear', path: () => `/api/v1/alarms/${kept.alarm}/clear`, body: { resolution: 'audit' }, action: 'alarm.cleared' },
  { route: 'POST /api/v1/forwarders/:id/resend', path: '/api/v1/forwarders/incidents/resend', body: { fromSeq: 1 }, action: 'forwarder.resend' },
  // Deletes last, dependants first.
  { route: 'PUT /api/v1/threat-level', path: '/api/v1/threat-level', body: { level: 'normal' }, action: 'threatLevel.set' },
  { route: 'POST /api/v1/threat-level/raise', path: '/api/v1/threat-level/raise', body: { level: 'elevated', reason: 'caller threatened staff' }, action: 'threatLevel.raised' },
  { route: 'PUT /api/v1/threat-level', path: '/api/v1/threat-level', body: { level: 'normal' }, action: 'threatLevel.set' },
  remove('threat-levels', 'threatLevel', 'audit-threat'),
  remove('cardholders', 'cardholder', 'audit-holder'),
  remove('groups', 'group', 'audit-group'),
  remove('access-levels', 'accessLevel', 'audit-level'),
  remove('door-groups', 'doorGroup', 'audit-doors'),
  remove('schedules', 'schedule', 'audit-hours'),
  remove('holidays', 'holidayCalendar', 'audit-days'),
  remove('cameras', 'camera', 'audit-camera'),
  remove('areas', 'area', 'audit-area'),
  remove('zones', 'zone', 'audit-zone'),
  remove('doors', 'door', 'audit-door'),
  remove('devices', 'device', 'audit-reader'),
  { route: 'POST /api/v1/site/import', path: '/api/v1/site/import', body: 'site export with a renamed door', action: 'door.updated' },
  // Threat management (issue 12): the import above turned visitors on (threatRules.visitors).
  { route: 'POST /api/v1/watch-list/people', path: '/api/v1/watch-list/people', body: { name: 'Audit Watched', reason: 'audit' }, action: 'watchlist.added', keep: (entry) => (kept.watch = String(entry.id)) },
  { route: 'POST /api/v1/visitors', path: '/api/v1/visitors', body: { name: 'Audit Watched', host: 'alice-adams', expectedAt: new Date(Date.now() + 86_400_000).toISOString(), card: '7770099' }, action: 'visitor.registered', keep: (visitor) => (kept.visitor = String(visitor.id)) },
  { route: 'POST /api/v1/visitors/:id/approve', path: () => `/api/v1/visitors/${kept.visitor}/approve`, body: { note: 'a namesake' }, action: 'visitor.approved' },
  { route: 'POST /api/v1/visitors/:id/check-out', path: () => `/api/v1/visitors/${kept.visitor}/check-out`, action: 'visitor.checked_out' },
  { route: 'DELETE /api/v1/watch-list/people/:id', path: () => `/api/v1/watch-list/people/${kept.watch}`, action: 'watchlist.removed' },
  { route: 'POST /api/v1/evacuations', path: '/api/v1/evacuations', body: { reason: 'audit' }, action: 'evacuation.started', keep: (evacuation) => (kept.evacuation = String(evacuation.id)) },
  { route: 'POST /api/v1/evacuations/:id/safe', path: () => `/api/v1/evacuations/${kept.evacuation}/safe`, body: { cardholder: 'alice-adams' }, action: 'evacuation.marked_safe' },
  { route: 'POST /api/v1/evacuations/:id/end', path: () => `/api/v1/evacuations/${kept.evacuation}/end`, action: 'evacuation.ended' },
  { route: 'POST /api/v1/auth/logout', path: '/api/v1/auth/logout', action: 'session.ended' },
];

describe('every mutating route writes its audit row', () => {
  let gw: TestGateway;
  let hook: WebhookReceiver;
  let admin: string;

  beforeAll(async () => {
    hook = new WebhookReceiver();
    await hook.start();
    gw = await startTestGateway({
      configYaml: ['demo: false', 'forwarders:', '  - id: incidents', '    kind: webhook', `    url: ${hook.url}`, '    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw'].join('\n'),
    });
    admin = await gw.login();
  });
  afterAll(async () => {
    await gw?.stop();
    await hook?.stop();
  });

  const audit = async (): Promise<Json[]> =>
    (await (await fetch(`${gw.httpUrl}/api/v1/audit?limit=1000`, { headers: { authorization: `Bearer ${admin}` } })).json()) as Json[];

  it('has a step for each mutating route, so a new route without an audit row fails here', () => {
    const mutating = gw.gateway.app.routeRules.filter((rule) => rule.method !== 'GET' && rule.auth !== 'public').map((rule) => `${rule.method} ${rule.url}`);
    const covered = new Set(steps.map((step) => step.route));
    expect(mutating.filter((route) => !covered.has(route)), 'mutating routes without a step').toEqual([]);
    expect([...covered].filter((route) => !mutating.includes(route)), 'steps for routes that do not exist').toEqual([]);
  });

  it('writes the expected audit row, naming the admin and the address, for each call', async () => {
    for (const step of steps) {
      const path = typeof step.path === 'function' ? step.path() : step.path;
      let body = step.body;
      let contentType = step.contentType ?? 'application/json';
      if (step.route === 'POST /api/v1/site/import') {
        const site = (await (await fetch(`${gw.httpUrl}/api/v1/site/export`, { headers: { authorization: `Bearer ${admin}` } })).json()) as { doors: Json[] };
        site.doors[0]!.name = 'Main entrance (renamed)';
        (site as unknown as Json).threatRules = { ...((site as unknown as Json).threatRules as Json | undefined), visitors: { group: 'staff' } };
        body = site;
      }
      // Logging out ends a session of its own, not the one this table runs with.
      const token = step.route === 'POST /api/v1/auth/logout' ? await gw.login(TEST_ADMIN.user, TEST_ADMIN.password) : admin;
      if (body === undefined) contentType = '';
      const before = (await audit()).length;
      const response = await fetch(`${gw.httpUrl}${path}`, {
        method: step.route.split(' ')[0],
        headers: { authorization: `Bearer ${token}`, ...(contentType === '' ? {} : { 'content-type': contentType }) },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await response.text();
      expect(response.status, `${step.route}: ${text}`).toBeLessThan(300);
      if (text !== '' && response.headers.get('content-type')?.includes('json') === true) step.keep?.(JSON.parse(text) as Json);
      const after = await audit();
      const added = after.slice(0, after.length - before);
      expect(added.map((entry) => entry.action), step.route).toContain(step.action);
      expect(added.find((entry) => entry.action === step.action), step.route).toMatchObject({ actor: TEST_ADMIN.user, source: '127.0.0.1' });
    }
  });
});
