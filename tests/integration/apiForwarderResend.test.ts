import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedUser, startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { WebhookReceiver } from '../support/webhookReceiver.js';

type Json = Record<string, unknown>;

describe('resending a range to a forwarder', () => {
  let gw: TestGateway;
  let hook: WebhookReceiver;
  let admin: string;
  let security: string;

  beforeAll(async () => {
    hook = new WebhookReceiver();
    await hook.start();
    const stateDir = tempDir();
    await seedUser(stateDir, 'sam-security', 'security', 'security-password-1');
    gw = await startTestGateway({
      stateDir,
      configYaml: [
        'demo: false',
        'forwarders:',
        '  - id: incidents',
        '    kind: webhook',
        `    url: ${hook.url}`,
        '    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        '    batchSize: 10',
        '  - id: retired',
        '    kind: webhook',
        `    url: ${hook.url}`,
        '    secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
        '    enabled: false',
      ].join('\n'),
    });
    admin = await gw.login();
    security = await gw.login('sam-security', 'security-password-1');
  });
  afterAll(async () => {
    await gw?.stop();
    await hook?.stop();
  });

  const resend = async (body: unknown, token = admin, id = 'incidents') => {
    const response = await fetch(`${gw.httpUrl}/api/v1/forwarders/${id}/resend`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Json };
  };

  it('sends every event from the asked seq again, in order, and audits and journals who asked', async () => {
    const journal = gw.gateway.journal;
    const early = [1, 2, 3, 4, 5].map((n) => journal.append({ type: 'access.granted', door: 'main-entrance', cardholder: 'alice-adams', data: { n } }));
    await gw.gateway.forwarders.caughtUp('incidents');
    const sentBefore = hook.accepted().length;
    const from = early[2]!;
    const result = await resend({ fromSeq: from.seq });
    expect(result.status).toBe(202);
    expect(result.body).toMatchObject({ forwarder: 'incidents', fromSeq: from.seq, previousCursorSeq: expect.any(Number) });
    expect(result.body.previousCursorSeq as number).toBeGreaterThanOrEqual(early[4]!.seq);
    await hook.untilAccepted([early[4]!.id]);
    await gw.gateway.forwarders.caughtUp('incidents');
    const again = hook.accepted().slice(sentBefore).map((event) => event.id);
    // The range arrives again from the asked event on, oldest first; nothing before it.
    expect(again.slice(0, 3)).toEqual([early[2]!.id, early[3]!.id, early[4]!.id]);
    expect(again).not.toContain(early[1]!.id);
    const [entry] = (await (await fetch(`${gw.httpUrl}/api/v1/audit?action=forwarder.resend`, { headers: { authorization: `Bearer ${admin}` } })).json()) as Json[];
    expect(entry).toMatchObject({ actor: 'admin', action: 'forwarder.resend', target: 'incidents', after: { fromSeq: from.seq } });
    expect(journal.query({ limit: 1, type: 'forwarder.resend' })[0]).toMatchObject({ data: { destination: 'incidents', fromSeq: from.seq, by: 'admin' } });
  });

  it('resends from a time: the first event journalled at or after it', async () => {
    const marker = gw.gateway.journal.append({ type: 'access.denied', door: 'server-room', reason: 'not_in_group', data: { marker: true } });
    await gw.gateway.forwarders.caughtUp('incidents');
    const sentBefore = hook.accepted().length;
    const result = await resend({ fromTime: marker.time });
    expect(result.status).toBe(202);
    expect((result.body.fromSeq as number) <= marker.seq).toBe(true);
    await hook.untilAccepted([marker.id]);
    await hook.until(() => hook.accepted().slice(sentBefore).some((event) => event.id === marker.id));
  });

  it('refuses to skip ahead, a body with both or neither field, a disabled or unknown forwarder, and callers below admin', async () => {
    await gw.gateway.forwarders.caughtUp('incidents');
    const ahead = await resend({ fromSeq: 10_000_000 });
    expect(ahead.status).toBe(400);
    expect(String(ahead.body.message)).toContain('resend only goes back, it never skips events');
    expect((await resend({ fromSeq: 1, fromTime: new Date().toISOString() })).body).toMatchObject({ statusCode: 400, message: 'body: give exactly one of fromSeq or fromTime' });
    expect((await resend({})).status).toBe(400);
    expect((await resend({ fromSeq: 'yesterday' })).status).toBe(400);
    expect((await resend({ fromSeq: 1, extra: true })).body).toMatchObject({ statusCode: 400, message: expect.stringContaining('body.extra: unknown field') });
    expect((await resend({ fromSeq: 1 }, admin, 'retired')).status).toBe(409);
    expect((await resend({ fromSeq: 1 }, admin, 'no-such-forwarder')).status).toBe(404);
    expect((await resend({ fromSeq: 1 }, security)).status).toBe(403);
    const future = await resend({ fromTime: '2099-01-01T00:00:00Z' });
    expect(future.status).toBe(400);
    expect(String(future.body.message)).toContain('fromTime: no event was journalled at or after 2099-01-01T00:00:00.000Z');
  });
});
