import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { SHUTDOWN_LIMIT_MS } from '../../src/ops/shutdown.js';
import { spawnGuardpost } from '../support/cli.js';
import { connect, demoConfigFile, tempDir, type TestClient } from '../support/gateway.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Running {
  readonly child: ChildProcess;
  readonly mqttUrl: string;
  readonly exited: Promise<{ code: number | null; atMs: number }>;
  readonly stdout: () => string;
}

/** The real `guardpost start` as a child process; resolves once it says where it listens. */
async function startChild(stateDir: string): Promise<Running> {
  const child = spawnGuardpost(['start', '--config', demoConfigFile, '--state-dir', stateDir, '--http-port', '0', '--mqtt-port', '0']);
  const exited = new Promise<{ code: number | null; atMs: number }>((resolve) => child.once('exit', (code) => resolve({ code, atMs: performance.now() })));
  cleanups.push(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let stderr = '';
  let stdout = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const line = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
      for (const text of stdout.split('\n')) if (text.includes('guardpost is running')) resolve(JSON.parse(text) as Record<string, unknown>);
    });
    void exited.then(({ code }) => reject(new Error(`guardpost exited early with ${code}: ${stderr}`)));
    setTimeout(() => reject(new Error(`guardpost did not say it was running within 30 s: ${stderr}`)), 30_000).unref();
  });
  return { child, exited, mqttUrl: String(line.mqtt).replace('0.0.0.0', '127.0.0.1'), stdout: () => stdout };
}

interface Row {
  readonly seq: number;
  readonly id: string;
  readonly type: string;
  readonly device: string | null;
}

function journalled(stateDir: string): Row[] {
  const db = new Database(path.join(stateDir, 'guardpost.db'), { readonly: true });
  try {
    return db.prepare<[], Row>('SELECT seq, id, type, device FROM events ORDER BY seq').all();
  } finally {
    db.close();
  }
}

describe('graceful shutdown [OPS-SHUTDOWN]', () => {
  it('stops on SIGTERM during a burst of badge reads within the limit, with exit code 0, every acknowledged read decided and journalled, and offline announced', async () => {
    const stateDir = tempDir('gp-shutdown-');
    const gateway = await startChild(stateDir);
    const observer = await connect(gateway.mqttUrl, { clientId: 'shutdown-observer' });
    await observer.subscribe('guardpost/events');
    await observer.subscribe('guardpost/bridge/state');
    const reader: TestClient = await connect(gateway.mqttUrl, { clientId: 'shutdown-reader', username: 'main-entrance-reader', password: 'demo' });
    cleanups.push(() => Promise.all([observer.end(), reader.end()]).then(() => undefined));
    const beforeStop = observer.mark();

    // Keep 20 reads in flight at all times; each read is a different (unknown) card.
    let sent = 0;
    let acknowledged = 0;
    let refused = false;
    let hundredAcknowledged = (): void => undefined;
    const hundred = new Promise<void>((resolve) => (hundredAcknowledged = resolve));
    const burst = new Promise<void>((resolve) => {
      const sendOne = (): void => {
        if (refused || !reader.client.connected) return resolve();
        const card = String(50_000_000 + sent++);
        reader.client.publish('guardpost/devices/main-entrance-reader/input', JSON.stringify({ type: 'card', card }), { qos: 1 }, (error) => {
          if (error !== undefined && error !== null) {
            refused = true;
            return resolve();
          }
          acknowledged++;
          if (acknowledged === 100) hundredAcknowledged();
          sendOne();
        });
      };
      reader.client.once('close', () => resolve());
      for (let i = 0; i < 20; i++) sendOne();
    });
    await hundred;
    const signalledMs = performance.now();
    gateway.child.kill('SIGTERM');
    const { code, atMs } = await gateway.exited;
    await burst;

    expect(code).toBe(0);
    expect(atMs - signalledMs).toBeLessThan(SHUTDOWN_LIMIT_MS);
    // The retained bridge state goes offline before the broker closes.
    const offline = await observer.next((message) => message.topic === 'guardpost/bridge/state' && message.json.state === 'offline', beforeStop);
    expect(offline.json).toEqual({ state: 'offline' });

    // The journal was flushed: the WAL was folded back into the database, and a closed store leaves none.
    expect(fs.existsSync(path.join(stateDir, 'guardpost.db-wal'))).toBe(false);
    const rows = journalled(stateDir);
    const decisions = rows.filter((row) => row.type.startsWith('access.') && row.device === 'main-entrance-reader');
    // A read the broker acknowledged was decided and journalled; reads refused while stopping were never acknowledged.
    expect(acknowledged).toBeGreaterThanOrEqual(100);
    expect(decisions.length).toBeGreaterThanOrEqual(acknowledged);
    expect(decisions.length).toBeLessThanOrEqual(sent);
    // Reads stop first: system.stopped is the last event of the run, after every decision.
    expect(rows.at(-1)?.type).toBe('system.stopped');
    // Everything the gateway published as an event is in the journal on disk.
    const seen = observer.received.filter((message) => message.topic === 'guardpost/events').map((message) => String(message.json.id));
    const ids = new Set(rows.map((row) => row.id));
    expect(seen.filter((id) => !ids.has(id))).toEqual([]);
    expect(seen).toContain(rows.at(-1)?.id);
    expect(gateway.stdout()).toContain('SIGTERM: stopping');
  });
});
