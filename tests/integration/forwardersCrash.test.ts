import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { isPriorityType, type JournalEvent } from '../../src/journal/index.js';
import { verify } from '../../src/forwarders/signature.js';
import { spawnGuardpost } from '../support/cli.js';
import { connect, demoSiteFile, tempDir, type TestClient } from '../support/gateway.js';
import { WebhookReceiver } from '../support/webhookReceiver.js';

const SECRET = 'whsec_c2VjcmV0LWZvci1jcmFzaC10ZXN0cw==';
const KILL_POINTS = 20;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Running {
  readonly child: ChildProcess;
  readonly mqttUrl: string;
  readonly exited: Promise<number | null>;
}

/** The real `guardpost start` as a child process; resolves once it says where it listens. */
async function startChild(configFile: string, stateDir: string): Promise<Running> {
  const child = spawnGuardpost(['start', '--config', configFile, '--state-dir', stateDir, '--http-port', '0', '--mqtt-port', '0']);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      for (const text of buffer.split('\n')) if (text.includes('guardpost is running')) resolve(JSON.parse(text) as Record<string, unknown>);
    });
    void exited.then((code) => reject(new Error(`guardpost exited early with ${code}: ${stderr}`)));
    setTimeout(() => reject(new Error(`guardpost did not say it was running within 30 s: ${stderr}`)), 30_000).unref();
  });
  return { child, exited, mqttUrl: String(line.mqtt).replace('0.0.0.0', '127.0.0.1') };
}

function journalled(stateDir: string): JournalEvent[] {
  const db = new Database(path.join(stateDir, 'guardpost.db'), { readonly: true });
  try {
    return db
      .prepare<[], { seq: number; id: string; type: string }>('SELECT seq, id, type FROM events ORDER BY seq')
      .all()
      .map((row) => ({ ...row }) as unknown as JournalEvent);
  } finally {
    db.close();
  }
}

describe('kill -9 in the middle of a burst', () => {
  it(`delivers every journalled event after ${KILL_POINTS} hard kills at different points, with no gap in seq and an intact database`, async () => {
    const hook = new WebhookReceiver();
    await hook.start();
    cleanups.push(() => hook.stop());
    const stateDir = tempDir('gp-crash-');
    const configFile = path.join(stateDir, 'crash.yaml');
    fs.writeFileSync(
      configFile,
      [
        'demo: true',
        `siteFile: ${JSON.stringify(demoSiteFile)}`,
        'forwarders:',
        '  - id: incidents',
        '    kind: webhook',
        `    url: ${hook.url}`,
        `    secret: ${SECRET}`,
        '    batchSize: 10',
        '    initialBackoffMs: 20',
        '    maxBackoffMs: 200',
        '',
      ].join('\n'),
    );

    for (let round = 0; round < KILL_POINTS; round++) {
      const gateway = await startChild(configFile, stateDir);
      const reader = await connect(gateway.mqttUrl, { clientId: `reader-${round}`, username: 'main-entrance-reader', password: 'demo' });
      const panic = await connect(gateway.mqttUrl, { clientId: `panic-${round}`, username: 'reception-panic', password: 'demo' });
      const clients: TestClient[] = [reader, panic];
      // Kill at a different point each round: after 1 to ~100 events of this round reached the receiver.
      const killAfter = 1 + ((round * 37) % 100);
      const target = hook.accepted().length + killAfter;
      const reached = hook.until(() => hook.accepted().length >= target, 20_000, `event ${killAfter} of round ${round}`);
      for (let i = 0; i < 120; i++) {
        if (i % 25 === 7) panic.client.publish('guardpost/devices/reception-panic/input', JSON.stringify({ type: 'button', state: 'pressed' }));
        else reader.client.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card: i % 3 === 0 ? '9999' : '1001' }));
      }
      await reached;
      gateway.child.kill('SIGKILL');
      await gateway.exited;
      await Promise.all(clients.map((client) => client.end()));
    }

    // One more start: it must catch up on everything the killed ones journalled.
    const last = await startChild(configFile, stateDir);
    const events = journalled(stateDir);
    await hook.untilAccepted(events.map((event) => event.id), 60_000);
    last.child.kill('SIGTERM');
    expect(await last.exited).toBe(0);

    const db = new Database(path.join(stateDir, 'guardpost.db'), { readonly: true });
    expect(db.pragma('integrity_check', { simple: true })).toBe('ok');
    db.close();
    const seqs = events.map((event) => event.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
    expect(events.filter((event) => event.type === 'access.granted').length).toBeGreaterThan(KILL_POINTS);
    expect(events.filter((event) => event.type === 'alarm.raised').length).toBeGreaterThan(0);
    expect(events.filter((event) => event.type === 'system.started').length).toBe(KILL_POINTS + 1);

    // Each destination sees the journal in seq order (alarms ahead, in their own order); repeats are allowed.
    const firstSeen = new Map<string, number>();
    for (const event of hook.accepted()) if (!firstSeen.has(event.id)) firstSeen.set(event.id, Number(event.sequence));
    const order = [...firstSeen.values()];
    const bySeq = new Map(events.map((event) => [event.seq, event]));
    const lane = (priority: boolean): number[] => order.filter((seq) => isPriorityType(bySeq.get(seq)?.type ?? '') === priority);
    expect(lane(false)).toEqual([...lane(false)].sort((a, b) => a - b));
    expect(lane(true)).toEqual([...lane(true)].sort((a, b) => a - b));
    expect(hook.requests.every((r) => verify(SECRET, String(r.headers['webhook-id']), Number(r.headers['webhook-timestamp']), r.body, String(r.headers['webhook-signature'])))).toBe(true);
  }, 300_000);
});
