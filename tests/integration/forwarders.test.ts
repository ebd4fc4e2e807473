import { afterEach, describe, expect, it } from 'vitest';
import type { EventInput, JournalEvent } from '../../src/journal/index.js';
import { verify } from '../../src/forwarders/signature.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';
import { freePort } from '../support/mosquitto.js';
import { WebhookReceiver, type ReceivedRequest } from '../support/webhookReceiver.js';

const SECRET = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const item of running.splice(0).reverse()) await item.stop();
});

interface Dest {
  id: string;
  url: string;
  batchSize?: number;
  extra?: string;
}

function forwardersYaml(destinations: Dest[]): string {
  const lines = ['demo: true', 'forwarders:'];
  for (const dest of destinations) {
    lines.push(
      `  - id: ${dest.id}`,
      '    kind: webhook',
      `    url: ${dest.url}`,
      `    secret: ${SECRET}`,
      `    batchSize: ${dest.batchSize ?? 1}`,
      '    initialBackoffMs: 20',
      '    maxBackoffMs: 200',
      '    failingAfterMs: 0',
      ...(dest.extra === undefined ? [] : dest.extra.split('\n').map((line) => `    ${line}`)),
    );
  }
  return lines.join('\n');
}

async function gatewayWith(destinations: Dest[]): Promise<TestGateway> {
  const gateway = await startTestGateway({ configYaml: forwardersYaml(destinations) });
  running.push(gateway);
  return gateway;
}

async function receiver(port = 0): Promise<WebhookReceiver> {
  const hook = new WebhookReceiver(port);
  await hook.start();
  running.push(hook);
  return hook;
}

function badge(i: number): EventInput {
  return { type: 'access.granted', door: 'front-door', device: 'front-reader', cardholder: 'alice', reason: 'granted', data: { n: i } };
}

/** Resolves with the next journal event that matches. */
function nextJournalEvent(gateway: TestGateway, match: (event: JournalEvent) => boolean): Promise<JournalEvent> {
  return new Promise((resolve) => {
    const off = gateway.gateway.journal.onAppend((event) => {
      if (!match(event)) return;
      off();
      resolve(event);
    });
  });
}

function everyEvent(gateway: TestGateway): JournalEvent[] {
  return gateway.gateway.journal.query({ afterSeq: 0, limit: 1_000_000 });
}

function signatureOk(request: ReceivedRequest): boolean {
  const id = String(request.headers['webhook-id']);
  const timestamp = Number(request.headers['webhook-timestamp']);
  return verify(SECRET, id, timestamp, request.body, String(request.headers['webhook-signature']));
}

describe('webhook forwarder', () => {
  it('posts each event as a CloudEvent signed the Standard Webhooks way, with the event id as webhook-id', async () => {
    const hook = await receiver();
    const { gateway } = await gatewayWith([{ id: 'incidents', url: hook.url }]);
    const event = gateway.journal.append(badge(1));
    await hook.untilAccepted([event.id]);
    const request = hook.requests.find((r) => r.events.some((e) => e.id === event.id));
    expect(request?.headers['content-type']).toBe('application/cloudevents+json');
    expect(request?.headers['webhook-id']).toBe(event.id);
    expect(Math.abs(Number(request?.headers['webhook-timestamp']) - Date.now() / 1000)).toBeLessThan(60);
    expect(request !== undefined && signatureOk(request)).toBe(true);
    expect(JSON.parse(request?.body ?? '{}')).toMatchObject({
      specversion: '1.0',
      id: event.id,
      type: 'guardpost.access.granted',
      source: expect.stringMatching(/^\/guardpost\/[a-z0-9-]+\/[a-z0-9-]+$/),
      subject: 'front-door',
      sequence: String(event.seq),
      datacontenttype: 'application/json',
      data: { seq: event.seq, type: 'access.granted', door: 'front-door', cardholder: 'alice' },
    });
  });

  it('delivers all 5,000 events produced while the receiver was down, in seq order, none missing, every signature valid', async () => {
    const port = await freePort();
    const hook = new WebhookReceiver(port);
    running.push(hook);
    const tg = await gatewayWith([{ id: 'incidents', url: `http://127.0.0.1:${port}/hook`, batchSize: 100 }]);
    const gateway = tg.gateway;
    // The receiver is down: the forwarder fails, says so, and keeps its cursor.
    const failing = await nextJournalEvent(tg, (event) => event.type === 'forwarder.failing');
    expect(failing.data).toMatchObject({ destination: 'incidents', error: expect.stringContaining('ECONNREFUSED') });
    for (let i = 0; i < 5_000; i++) gateway.journal.append(badge(i));
    expect(gateway.forwarders.status('incidents')).toMatchObject({ state: 'retrying', cursorSeq: 0 });
    expect(gateway.forwarders.status('incidents')?.lagEvents).toBeGreaterThanOrEqual(5_000);

    await hook.start();
    const restored = nextJournalEvent(tg, (event) => event.type === 'forwarder.restored');
    const journalled = everyEvent(tg);
    await hook.untilAccepted(journalled.map((event) => event.id), 30_000);
    await restored;

    expect(hook.requests.every(signatureOk)).toBe(true);
    expect(hook.requests.every((r) => r.headers['content-type'] === 'application/cloudevents-batch+json')).toBe(true);
    // In seq order, and no gap: the first sighting of each event follows the journal exactly.
    const firstSeen: number[] = [];
    const seen = new Set<string>();
    for (const event of hook.accepted()) {
      if (seen.has(event.id)) continue;
      seen.add(event.id);
      firstSeen.push(Number(event.sequence));
    }
    expect(firstSeen.slice(0, journalled.length)).toEqual(journalled.map((event) => event.seq));
    await gateway.forwarders.caughtUp('incidents');
    const status = gateway.forwarders.status('incidents');
    expect(status).toMatchObject({ state: 'idle', lagEvents: 0, lagSeconds: 0, failingSince: null });
    expect(status?.lastSuccess).not.toBeNull();
    expect(status?.delivered).toBeGreaterThanOrEqual(journalled.length);
  });

  it('journals forwarder.rejected for an event answered 400 and goes on; another destination gets everything', async () => {
    const picky = await receiver();
    const calm = await receiver();
    const batched = await receiver();
    const refusePoison = (request: Omit<ReceivedRequest, 'status' | 'atMs'>) =>
      request.events.some((event) => event.data.data.poison === true) ? { status: 400, body: 'schema violation: poison' } : { status: 200 };
    picky.responder = refusePoison;
    batched.responder = refusePoison;
    const tg = await gatewayWith([
      { id: 'picky', url: picky.url },
      { id: 'calm', url: calm.url },
      { id: 'batched', url: batched.url, batchSize: 10 },
    ]);
    const gateway = tg.gateway;
    const rejections: JournalEvent[] = [];
    gateway.journal.onAppend((event) => {
      if (event.type === 'forwarder.rejected') rejections.push(event);
    });
    const before = gateway.journal.append(badge(1));
    const poison = gateway.journal.append({ ...badge(2), data: { poison: true } });
    const after = gateway.journal.append(badge(3));

    await picky.untilAccepted([before.id, after.id]);
    await batched.untilAccepted([before.id, after.id]);
    await calm.untilAccepted([before.id, poison.id, after.id]);
    expect(picky.accepted().map((e) => e.id)).not.toContain(poison.id);
    expect(batched.accepted().map((e) => e.id)).not.toContain(poison.id);
    const rejected = (destination: string) => rejections.find((event) => event.data.destination === destination);
    expect(rejected('picky')?.data).toMatchObject({ event: poison.id, seq: poison.seq, eventType: 'access.granted', error: 'HTTP 400: schema violation: poison' });
    expect(rejected('batched')?.data).toMatchObject({ event: poison.id });
    expect(rejected('calm')).toBeUndefined();
    expect(gateway.forwarders.status('picky')).toMatchObject({ rejected: 1, lastError: { message: 'HTTP 400: schema violation: poison' } });
    expect(gateway.metrics.get('guardpost_forwarder_rejected_total', { destination: 'picky' })).toBe(1);
  });

  it('waits as long as Retry-After asks before trying again', async () => {
    const hook = await receiver();
    let first = true;
    hook.responder = () => {
      if (!first) return { status: 200 };
      first = false;
      return { status: 503, headers: { 'retry-after': '1' }, body: 'maintenance' };
    };
    const { gateway } = await gatewayWith([{ id: 'incidents', url: hook.url }]);
    const event = gateway.journal.append(badge(1));
    await hook.untilAccepted([event.id]);
    const [refused, ...rest] = hook.requests;
    const accepted = rest.find((r) => r.status === 200);
    expect(refused?.status).toBe(503);
    // Backoff alone would retry within 20 ms; the server asked for a second.
    expect((accepted?.atMs ?? 0) - (refused?.atMs ?? 0)).toBeGreaterThanOrEqual(990);
  });

  it('answers 429 and 5xx with retries, never a rejection, until the event is accepted', async () => {
    const hook = await receiver();
    const answers = [429, 500, 502, 408, 200];
    hook.responder = (request) => ({ status: request.events.some((e) => e.data.data.n === 'retried') ? (answers.shift() ?? 200) : 200 });
    const tg = await gatewayWith([{ id: 'incidents', url: hook.url }]);
    const event = tg.gateway.journal.append({ ...badge(1), data: { n: 'retried' } });
    await hook.untilAccepted([event.id]);
    expect(hook.requests.filter((r) => r.events.some((e) => e.id === event.id)).map((r) => r.status)).toEqual([429, 500, 502, 408, 200]);
    expect(tg.gateway.journal.query({ type: 'forwarder.rejected', limit: 10 })).toEqual([]);
  });

  it('only forwards the types and severities a destination asks for', async () => {
    const hook = await receiver();
    const { gateway } = await gatewayWith([{ id: 'alarms-only', url: hook.url, extra: 'filter:\n  types: [alarm, door.forced]\n  minSeverity: high' }]);
    gateway.journal.append(badge(1));
    const forced = gateway.journal.append({ type: 'door.forced' as EventInput['type'], severity: 'critical', door: 'front-door' });
    const quiet = gateway.journal.append({ type: 'alarm.cleared', severity: 'low', data: { alarm: 'a1' } });
    const raised = gateway.journal.append({ type: 'alarm.raised', data: { alarm: 'a2' } });
    await hook.untilAccepted([forced.id, raised.id]);
    const ids = hook.accepted().map((e) => e.id);
    expect(ids).toEqual([forced.id, raised.id]);
    expect(ids).not.toContain(quiet.id);
    await gateway.forwarders.caughtUp('alarms-only');
    expect(gateway.forwarders.status('alarms-only')?.lagEvents).toBe(0);
  });
});

describe('alarm priority', () => {
  it('delivers a panic alarm ahead of a backlog of badge events, and each alarm lifecycle in order, once', async () => {
    const port = await freePort();
    const hook = new WebhookReceiver(port);
    running.push(hook);
    const tg = await gatewayWith([{ id: 'incidents', url: `http://127.0.0.1:${port}/hook`, batchSize: 50 }]);
    const gateway = tg.gateway;
    await nextJournalEvent(tg, (event) => event.type === 'forwarder.failing');
    for (let i = 0; i < 2_000; i++) gateway.journal.append(badge(i));
    const raised = gateway.journal.append({ type: 'alarm.raised', device: 'panic-1', reason: 'panic', data: { alarm: 'alarm-1' } });
    for (let i = 0; i < 500; i++) gateway.journal.append(badge(i));
    const acknowledged = gateway.journal.append({ type: 'alarm.acknowledged', data: { alarm: 'alarm-1', by: 'guard-1' } });
    const cleared = gateway.journal.append({ type: 'alarm.cleared', data: { alarm: 'alarm-1', by: 'guard-1' } });

    await hook.start();
    await hook.untilAccepted(everyEvent(tg).map((event) => event.id), 30_000);
    const ids = hook.accepted().map((e) => e.id);
    const alarmIds = [raised.id, acknowledged.id, cleared.id];
    // The alarm's whole lifecycle is in the very first request, in order, before any badge.
    expect(hook.requests.find((r) => r.status < 300)?.events.map((e) => e.id)).toEqual(alarmIds);
    expect(ids.filter((id) => alarmIds.includes(id))).toEqual(alarmIds);
    // The backlog still follows in seq order, and the alarms are not sent a second time.
    const rest = hook.accepted().filter((e) => !alarmIds.includes(e.id)).map((e) => Number(e.sequence));
    expect(rest).toEqual([...rest].sort((a, b) => a - b));
  });
});

describe('alarm priority while a batch is in flight', () => {
  it('sends a panic alarm at once, without waiting for the backlog batch the receiver is still answering', async () => {
    const hook = await receiver();
    let release: () => void = () => undefined;
    const slow = new Promise<void>((resolve) => (release = resolve));
    // The incident system takes its time over the badge batch; alarms it answers at once.
    hook.holdAnswer = (request) => (request.events.some((event) => event.type.includes('alarm')) ? undefined : slow);
    const tg = await gatewayWith([{ id: 'incidents', url: hook.url, batchSize: 50 }]);
    const gateway = tg.gateway;
    for (let i = 0; i < 200; i++) gateway.journal.append(badge(i));
    await hook.until(() => hook.pending === 1, 10_000, 'the first badge batch');

    const raised = gateway.journal.append({ type: 'alarm.raised', device: 'panic-1', reason: 'panic', data: { alarm: 'alarm-9' } });
    await hook.untilAccepted([raised.id]);
    expect(hook.pending).toBe(1);
    expect(hook.accepted().map((event) => event.id)).toEqual([raised.id]);

    release();
    await gateway.forwarders.caughtUp('incidents');
    const ids = hook.accepted().map((event) => event.id);
    // Every event once: the alarm was not sent again with the backlog.
    expect([...ids].sort()).toEqual(everyEvent(tg).map((event) => event.id).sort());
  });

  it('never moves the delivered-through cursor past an alarm that is not delivered yet', async () => {
    const hook = await receiver();
    // The destination refuses alarms for now (503) and takes everything else.
    let alarmsDown = true;
    hook.responder = (request) => (alarmsDown && request.events.some((event) => event.type.includes('alarm.')) ? { status: 503 } : { status: 204 });
    const tg = await gatewayWith([{ id: 'incidents', url: hook.url, batchSize: 10 }]);
    const gateway = tg.gateway;
    for (let i = 0; i < 20; i++) gateway.journal.append(badge(i));
    await gateway.forwarders.caughtUp('incidents');
    const raised = gateway.journal.append({ type: 'alarm.raised', device: 'panic-1', reason: 'panic', data: { alarm: 'alarm-7' } });
    await hook.until(() => hook.requests.some((request) => request.status === 503), 10_000, 'the refused alarm');
    const later = Array.from({ length: 20 }, (_, i) => gateway.journal.append(badge(20 + i)));
    // Whatever the lanes did meanwhile, the cursor that retention and restarts trust stays below the alarm.
    expect(gateway.forwarders.status('incidents')?.cursorSeq).toBeLessThan(raised.seq);
    alarmsDown = false;
    await gateway.forwarders.caughtUp('incidents');
    const ids = hook.accepted().map((event) => event.id);
    // Once the destination takes alarms again, the alarm goes before the badges queued behind it.
    expect(ids.indexOf(raised.id)).toBeGreaterThan(-1);
    expect(ids.indexOf(raised.id)).toBeLessThan(Math.min(...later.map((event) => ids.indexOf(event.id))));
  });
});

describe('forwarder status', () => {
  it('shows each destination\'s lag, last error and last success in /readyz and the API, without making the gateway unready', async () => {
    const port = await freePort();
    const hook = new WebhookReceiver(port);
    running.push(hook);
    const tg = await gatewayWith([
      { id: 'incidents', url: `http://127.0.0.1:${port}/hook` },
      { id: 'old-siem', url: `http://127.0.0.1:${port}/old`, extra: 'enabled: false' },
    ]);
    await nextJournalEvent(tg, (event) => event.type === 'forwarder.failing');
    for (let i = 0; i < 10; i++) tg.gateway.journal.append(badge(i));

    const ready = await fetch(`${tg.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { checks: { name: string; ready: boolean; detail: string; data: Record<string, unknown> }[] };
    const check = body.checks.find((c) => c.name === 'forwarder:incidents');
    expect(check).toMatchObject({ ready: true, data: { kind: 'webhook', state: 'retrying', cursorSeq: 0, lastSuccess: null, lastError: { message: expect.stringContaining('ECONNREFUSED') } } });
    expect(check?.data.lagEvents).toBeGreaterThanOrEqual(12);
    expect(check?.detail).toMatch(/^retrying, \d+ events \(\d+ s\) behind; last error at .*ECONNREFUSED/);

    const list = (await (await fetch(`${tg.httpUrl}/api/v1/forwarders`)).json()) as { id: string; state: string }[];
    expect(list.map((s) => [s.id, s.state])).toEqual([
      ['incidents', 'retrying'],
      ['old-siem', 'disabled'],
    ]);
    await hook.start();
    await tg.gateway.forwarders.caughtUp('incidents');
    const one = await fetch(`${tg.httpUrl}/api/v1/forwarders/incidents`);
    expect(await one.json()).toMatchObject({ id: 'incidents', state: 'idle', lagEvents: 0, lastSuccess: expect.any(String), failingSince: null });
    const missing = await fetch(`${tg.httpUrl}/api/v1/forwarders/nope`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ code: 'GP_ERR_NOT_FOUND', message: 'no forwarder nope in the config' });
  });

  it('keeps its place across a restart: nothing delivered twice, nothing skipped', async () => {
    const hook = await receiver();
    const first = await gatewayWith([{ id: 'incidents', url: hook.url, batchSize: 20 }]);
    const early = Array.from({ length: 50 }, (_, i) => first.gateway.journal.append(badge(i)));
    await first.gateway.forwarders.caughtUp('incidents');
    await first.stop();
    running.splice(running.indexOf(first), 1);
    const before = hook.accepted().length;

    const second = await startTestGateway({ stateDir: first.stateDir, configYaml: forwardersYaml([{ id: 'incidents', url: hook.url, batchSize: 20 }]) });
    running.push(second);
    const late = second.gateway.journal.append(badge(99));
    await hook.untilAccepted([late.id]);
    await second.gateway.forwarders.caughtUp('incidents');
    const ids = hook.accepted().map((e) => e.id);
    expect(ids).toEqual(everyEvent(second).map((e) => e.id));
    expect(ids).toEqual(expect.arrayContaining([...early.map((e) => e.id), late.id]));
    // After the restart only what was journalled since the first caught up arrives.
    expect(hook.accepted().slice(before).map((e) => e.type)).toEqual(expect.arrayContaining(['guardpost.system.started', 'guardpost.access.granted']));
    expect(hook.accepted().length - before).toBeLessThanOrEqual(3);
  });
});

describe('journal retention with forwarders', () => {
  it('never deletes what an enabled forwarder has not delivered; a disabled one holds nothing back', async () => {
    const port = await freePort();
    const hook = new WebhookReceiver(port);
    running.push(hook);
    const tg = await startTestGateway({
      configYaml: `${forwardersYaml([
        { id: 'incidents', url: `http://127.0.0.1:${port}/hook`, batchSize: 50 },
        { id: 'retired', url: `http://127.0.0.1:${port}/old`, extra: 'enabled: false' },
      ])}\njournal:\n  maxEvents: 10`,
    });
    running.push(tg);
    await nextJournalEvent(tg, (event) => event.type === 'forwarder.failing');
    for (let i = 0; i < 100; i++) tg.gateway.journal.append(badge(i));
    expect(tg.gateway.retention.pruneNow()).toMatchObject({ deleted: 0 });
    expect(everyEvent(tg)[0]?.seq).toBe(1);

    await hook.start();
    await tg.gateway.forwarders.caughtUp('incidents');
    const result = tg.gateway.retention.pruneNow();
    expect(result.deleted).toBeGreaterThan(90);
    const left = everyEvent(tg);
    // Ten kept, plus the journal.pruned notice itself.
    expect(left.length).toBe(11);
    expect(left.at(-1)).toMatchObject({ type: 'journal.pruned', data: { deleted: result.deleted } });
  });
});

describe('forwarder secrets', () => {
  it('sends URL credentials as Basic authorization and never writes them or the signing secret to logs or events', async () => {
    const hook = await receiver();
    let fail = true;
    hook.responder = () => (fail ? ((fail = false), { status: 503, body: 'try later' }) : { status: 200 });
    const tg = await gatewayWith([{ id: 'incidents', url: `http://soc-user:pa55-w0rd@127.0.0.1:${hook.port}/hook` }]);
    const failing = await nextJournalEvent(tg, (event) => event.type === 'forwarder.failing');
    const event = tg.gateway.journal.append(badge(1));
    await hook.untilAccepted([event.id]);
    expect(hook.requests[0]?.headers.authorization).toBe(`Basic ${Buffer.from('soc-user:pa55-w0rd').toString('base64')}`);
    expect(hook.requests[0]?.path).toBe('/hook');
    const everything = [...tg.logs, JSON.stringify(failing), JSON.stringify(tg.gateway.forwarders.statuses())].join('\n');
    expect(everything).toContain('HTTP 503: try later');
    for (const secret of ['pa55-w0rd', SECRET, SECRET.slice(6)]) expect(everything).not.toContain(secret);
  });
});
