import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../../src/config/load.js';

const webhook = { id: 'soc', kind: 'webhook', url: 'https://soc.example.com/hook', secret: 'whsec_c2VjcmV0' };

function problems(forwarders: unknown): string[] {
  const result = parseConfig({ forwarders });
  return result.ok ? [] : result.problems;
}

describe('forwarders in the config file', () => {
  it('fills in defaults: enabled, every type from info up, one event per request, backoff from 1 s to 5 min', () => {
    const result = parseConfig({ forwarders: [webhook] });
    expect(result.ok && result.config.forwarders[0]).toEqual({
      ...webhook,
      enabled: true,
      filter: { types: [], minSeverity: 'info' },
      batchSize: 1,
      timeoutMs: 10_000,
      initialBackoffMs: 1_000,
      maxBackoffMs: 300_000,
      failingAfterMs: 60_000,
    });
  });

  it('has none unless some are configured', () => {
    const result = parseConfig({});
    expect(result.ok && result.config.forwarders).toEqual([]);
  });

  it('names every bad key with its path', () => {
    expect(
      problems([
        { ...webhook, kind: 'fax' },
        { ...webhook, id: 'Bad Id', batchSize: 0, filter: { types: ['access denied'], minSeverity: 'urgent' } },
        { ...webhook, colour: 'red' },
      ]),
    ).toEqual([
      'forwarders[0].kind: expected one of webhook, mqtt, pagerduty, syslog, got "fax"',
      'forwarders[1].id: expected an id of lowercase letters, digits and dashes, got "Bad Id"',
      'forwarders[1].batchSize: expected integer ≥ 1, got 0',
      'forwarders[1].filter.types[0]: expected an event type such as access.denied, alarm or alarm.*, got "access denied"',
      'forwarders[1].filter.minSeverity: expected one of info, low, medium, high, critical, got "urgent"',
      'forwarders[2].colour: unknown key (allowed: id, kind, enabled, url, secret, routingKey, username, password, caFile, gateway, filter, batchSize, timeoutMs, initialBackoffMs, maxBackoffMs, failingAfterMs)',
      'forwarders[2].id: duplicate forwarder id "soc"',
    ]);
  });

  it('requires unique ids, the right URL scheme per kind, a webhook secret and a PagerDuty routing key', () => {
    expect(
      problems([
        webhook,
        { ...webhook, url: 'mqtt://broker:1883' },
        { id: 'pd', kind: 'pagerduty', url: 'https://events.pagerduty.com' },
        { id: 'siem', kind: 'syslog', url: 'udp://siem:514', batchSize: 5 },
        { id: 'hook2', kind: 'webhook', url: 'not a url' },
      ]),
    ).toEqual([
      'forwarders[1].id: duplicate forwarder id "soc"',
      'forwarders[1].url: a webhook forwarder needs http://… or https://…, got mqtt://…',
      'forwarders[2].routingKey: required for pagerduty',
      'forwarders[3].url: a syslog forwarder needs tcp://… or tls://…, got udp://…',
      'forwarders[3].batchSize: only webhooks send batches; a syslog forwarder sends one event per message',
      'forwarders[4].url: expected a URL (http://…, https://…)',
      'forwarders[4].secret: required for a webhook: receivers verify the signature',
    ]);
  });

  it('never echoes a secret, routing key, password or URL credentials in an error', () => {
    const all = problems([
      { ...webhook, secret: 42 },
      { id: 'pd', kind: 'pagerduty', url: 'ftp://user:hunter2@events.example.com', routingKey: ['R0UTINGKEY'] },
      { id: 'up', kind: 'mqtt', url: 'https://user:s3cr3t-pass@broker', password: 1234 },
    ]).join('\n');
    expect(all).toContain('forwarders[0].secret: expected string, got number');
    expect(all).toContain('forwarders[2].password: expected string, got number');
    for (const secret of ['42', 'R0UTINGKEY', 'hunter2', 's3cr3t-pass', '1234']) expect(all).not.toContain(secret);
  });
});
