import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import tls from 'node:tls';
import { afterEach, describe, expect, it } from 'vitest';
import type { JournalEvent } from '../../src/journal/index.js';
import { startTestGateway, tempDir, type TestGateway } from '../support/gateway.js';
import { freePort } from '../support/mosquitto.js';
import { WebhookReceiver } from '../support/webhookReceiver.js';

const running: { stop(): Promise<void> }[] = [];
afterEach(async () => {
  for (const item of running.splice(0).reverse()) await item.stop();
});

async function gatewayWith(forwarder: string): Promise<TestGateway> {
  const yaml = ['demo: true', 'forwarders:', ...forwarder.split('\n').map((line, i) => (i === 0 ? `  - ${line}` : `    ${line}`)), '    initialBackoffMs: 20', '    maxBackoffMs: 200'].join('\n');
  const gateway = await startTestGateway({ configYaml: yaml });
  running.push(gateway);
  return gateway;
}

function nextJournalEvent(tg: TestGateway, match: (event: JournalEvent) => boolean): Promise<JournalEvent> {
  return new Promise((resolve) => {
    const off = tg.gateway.journal.onAppend((event) => {
      if (match(event)) {
        off();
        resolve(event);
      }
    });
  });
}

describe('PagerDuty forwarder', () => {
  it('opens, acknowledges and resolves one incident per alarm, keyed by the alarm id, and pages for nothing else', async () => {
    const pagerDuty = new WebhookReceiver();
    pagerDuty.responder = () => ({ status: 202, body: '{"status":"success","message":"Event processed"}' });
    await pagerDuty.start();
    running.push(pagerDuty);
    const tg = await gatewayWith(`id: on-call\nkind: pagerduty\nurl: http://127.0.0.1:${pagerDuty.port}/\nroutingKey: R0UTING-KEY-0123456789`);
    const journal = tg.gateway.journal;
    journal.append({ type: 'access.granted', door: 'main-entrance', cardholder: 'alice-adams' });
    const raised = journal.append({ type: 'alarm.raised', device: 'reception-panic', reason: 'panic', data: { alarm: 'alarm-7', location: 'Reception desk' } });
    journal.append({ type: 'alarm.acknowledged', data: { alarm: 'alarm-7', by: 'guard-1' } });
    const cleared = journal.append({ type: 'alarm.cleared', data: { alarm: 'alarm-7', by: 'guard-1' } });
    await pagerDuty.until(() => pagerDuty.requests.length >= 3);
    await tg.gateway.forwarders.caughtUp('on-call');

    expect(pagerDuty.requests.map((r) => r.path)).toEqual(['/v2/enqueue', '/v2/enqueue', '/v2/enqueue']);
    const bodies = pagerDuty.requests.map((r) => JSON.parse(r.body) as Record<string, unknown>);
    expect(bodies.map((b) => [b.event_action, b.dedup_key, b.routing_key])).toEqual([
      ['trigger', 'alarm-7', 'R0UTING-KEY-0123456789'],
      ['acknowledge', 'alarm-7', 'R0UTING-KEY-0123456789'],
      ['resolve', 'alarm-7', 'R0UTING-KEY-0123456789'],
    ]);
    expect(bodies[0]?.payload).toMatchObject({
      summary: 'alarm.raised at reception-panic (Reception desk): panic',
      severity: 'critical',
      source: expect.stringMatching(/^demo\//),
      timestamp: raised.time,
      class: 'alarm.raised',
      custom_details: { id: raised.id, seq: raised.seq },
    });
    expect(tg.gateway.forwarders.status('on-call')).toMatchObject({ delivered: 3, lagEvents: 0 });
    expect(cleared.seq).toBeGreaterThan(raised.seq);
  });

  it('journals forwarder.rejected for an acknowledge that names no alarm, and for a 400 from PagerDuty, and goes on', async () => {
    const pagerDuty = new WebhookReceiver();
    pagerDuty.responder = (request) => (request.body.includes('bad-alarm') ? { status: 400, body: '{"status":"invalid event","errors":["x"]}' } : { status: 202 });
    await pagerDuty.start();
    running.push(pagerDuty);
    const tg = await gatewayWith(`id: on-call\nkind: pagerduty\nurl: http://127.0.0.1:${pagerDuty.port}\nroutingKey: KEY-1`);
    const firstRejection = nextJournalEvent(tg, (event) => event.type === 'forwarder.rejected');
    const orphan = tg.gateway.journal.append({ type: 'alarm.acknowledged', data: { by: 'guard-1' } });
    expect((await firstRejection).data).toMatchObject({ destination: 'on-call', event: orphan.id, error: 'alarm.acknowledged without data.alarm cannot be matched to an incident' });
    const secondRejection = nextJournalEvent(tg, (event) => event.type === 'forwarder.rejected');
    const bad = tg.gateway.journal.append({ type: 'alarm.raised', data: { alarm: 'bad-alarm' } });
    expect((await secondRejection).data).toMatchObject({ event: bad.id, error: 'HTTP 400: {"status":"invalid event","errors":["x"]}' });
    tg.gateway.journal.append({ type: 'alarm.raised', data: { alarm: 'good-alarm' } });
    await pagerDuty.until(() => pagerDuty.requests.some((r) => r.body.includes('good-alarm') && r.status === 202));
  });
});

/** A SIEM's syslog listener over TCP or TLS: splits RFC 6587 octet-counted frames. */
class SyslogListener {
  readonly messages: string[] = [];
  private server: net.Server | undefined;
  private readonly sockets = new Set<net.Socket>();
  private waiters: { check: () => boolean; resolve: () => void }[] = [];

  constructor(
    public port = 0,
    private readonly tlsOptions?: tls.TlsOptions,
  ) {}

  async start(): Promise<void> {
    const onSocket = (socket: net.Socket): void => {
      this.sockets.add(socket);
      socket.on('close', () => this.sockets.delete(socket));
      socket.on('error', () => undefined);
      let buffer = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        buffer = Buffer.concat([buffer, chunk]);
        for (;;) {
          const space = buffer.indexOf(0x20);
          if (space < 0) return;
          const length = Number(buffer.subarray(0, space).toString('ascii'));
          if (buffer.length < space + 1 + length) return;
          this.messages.push(buffer.subarray(space + 1, space + 1 + length).toString('utf8'));
          buffer = buffer.subarray(space + 1 + length);
          this.waiters = this.waiters.filter((w) => (w.check() ? (w.resolve(), false) : true));
        }
      });
    };
    const server = this.tlsOptions === undefined ? net.createServer(onSocket) : tls.createServer(this.tlsOptions, onSocket);
    await new Promise<void>((resolve) => server.listen(this.port, '127.0.0.1', () => resolve()));
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    const server = this.server;
    this.server = undefined;
    if (server !== undefined) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  until(check: () => boolean, timeoutMs = 10_000): Promise<void> {
    if (check()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`syslog listener got ${this.messages.length} messages, not what was expected`)), timeoutMs);
      this.waiters.push({ check, resolve: () => (clearTimeout(timer), resolve()) });
    });
  }

  forEvent(id: string): string | undefined {
    return this.messages.find((message) => message.includes(`id="${id}"`));
  }
}

const RFC5424 = /^<(\d+)>1 (\S+) ([a-z0-9-]+) guardpost - (\S+) \[guardpost@32473 id="([^"]+)" seq="(\d+)" site="demo"\] (CEF:0\|.*)$/;

describe('syslog forwarder', () => {
  it('sends each event as an RFC 5424 message with a CEF body over TCP, escaping what CEF needs escaped', async () => {
    const siem = new SyslogListener();
    await siem.start();
    running.push(siem);
    const tg = await gatewayWith(`id: siem\nkind: syslog\nurl: tcp://127.0.0.1:${siem.port}\ngateway: floor-3`);
    const event = tg.gateway.journal.append({ type: 'alarm.raised', door: 'main-entrance', device: 'reception-panic', cardholder: 'alice-adams', reason: 'panic', data: { alarm: 'a=1|b', note: 'line1\nline2' } });
    await siem.until(() => siem.forEvent(event.id) !== undefined);
    const match = RFC5424.exec(siem.forEvent(event.id) ?? '');
    expect(match).not.toBeNull();
    const [, pri, time, host, msgId, id, seq, cef] = match ?? [];
    expect(Number(pri)).toBe(13 * 8 + 2); // log audit, critical
    expect([time, host, msgId, id, seq]).toEqual([event.time, 'floor-3', 'alarm.raised', event.id, String(event.seq)]);
    expect(cef).toMatch(/^CEF:0\|Guardpost\|guardpost\|[\d.]+\|alarm\.raised\|alarm raised\|10\|rt=\d+ externalId=/);
    expect(cef).toContain(`externalId=${event.id} cn1Label=seq cn1=${event.seq} dvchost=floor-3`);
    expect(cef).toContain('cs2Label=door cs2=main-entrance cs3Label=device cs3=reception-panic duser=alice-adams reason=panic');
    expect(cef).toContain('cs4=' + JSON.stringify({ alarm: 'a=1|b', note: 'line1\nline2' }).replace(/\\/g, '\\\\').replace(/=/g, '\\='));
    expect(cef).not.toContain('\n');
  });

  it('holds events while the SIEM is down and sends them all, in order, once it listens again', async () => {
    const port = await freePort();
    const siem = new SyslogListener(port);
    running.push(siem);
    const tg = await gatewayWith(`id: siem\nkind: syslog\nurl: tcp://127.0.0.1:${port}\nfailingAfterMs: 0`);
    const failing = await nextJournalEvent(tg, (event) => event.type === 'forwarder.failing');
    expect(failing.data).toMatchObject({ destination: 'siem', error: 'cannot connect to the syslog server: ECONNREFUSED' });
    const events = Array.from({ length: 200 }, (_, i) => tg.gateway.journal.append({ type: 'access.denied', door: 'main-entrance', reason: 'unknown_card', data: { n: i } }));
    await siem.start();
    await siem.until(() => events.every((event) => siem.forEvent(event.id) !== undefined));
    const seqs = siem.messages.map((message) => Number(RFC5424.exec(message)?.[6]));
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));
  });

  it('speaks TLS to a SIEM whose certificate is signed by the configured CA', async () => {
    const dir = tempDir('gp-tls-');
    const key = path.join(dir, 'key.pem');
    const cert = path.join(dir, 'cert.pem');
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '1', '-subj', '/CN=siem.test', '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
    const siem = new SyslogListener(0, { key: fs.readFileSync(key), cert: fs.readFileSync(cert) });
    await siem.start();
    running.push(siem);
    const tg = await gatewayWith(`id: siem\nkind: syslog\nurl: tls://127.0.0.1:${siem.port}\ncaFile: ${cert}`);
    const event = tg.gateway.journal.append({ type: 'access.denied', door: 'server-room', reason: 'outside_schedule' });
    await siem.until(() => siem.forEvent(event.id) !== undefined);
    expect(RFC5424.exec(siem.forEvent(event.id) ?? '')?.[4]).toBe('access.denied');
  });
});
