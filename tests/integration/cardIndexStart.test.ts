import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import mqtt from 'mqtt';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { loadConfigFile, parseSiteData } from '../../src/config/load.js';
import { startGateway, type Gateway } from '../../src/gateway.js';
import { createLogger } from '../../src/logger.js';
import type { JournalEvent } from '../../src/journal/index.js';
import { CARD_SNAPSHOT_FILE } from '../../src/site/cardSnapshot.js';
import { CardholdersRepository } from '../../src/store/cardholders.js';
import { Store } from '../../src/store/index.js';
import { spawnGuardpost } from '../support/cli.js';
import { connect, connectDevice, startTestGateway, tempDir, TestClient, type TestGateway } from '../support/gateway.js';
import { freePort } from '../support/mosquitto.js';

/**
 * [ACC-INDEX] A panel-scale start: from the card index snapshot plus the people the change log
 * names since it, never a full read of every cardholder; and after a crash, from the snapshot the
 * gateway wrote in the background after the last people change.
 */

const PEOPLE = 12_000;
const SITE_YAML = `
site: { id: panel, name: Panel, timezone: UTC }
devices:
  - { id: lobby-reader, kind: reader }
  - { id: lobby-strike, kind: strike }
doors:
  - { id: lobby, name: Lobby, reader: lobby-reader, strike: lobby-strike }
groups:
  - { id: staff, name: Staff, doors: [lobby] }
cardholders:
  - { id: ann, name: Ann, groups: [staff], credentials: [{ card: "1001" }] }
`;

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  vi.restoreAllMocks();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A state directory holding the site and PEOPLE more people (written in SQL: seconds, not minutes). */
function panelStateDir(): string {
  const dir = tempDir();
  const parsed = parseSiteData(parseYaml(SITE_YAML));
  if (!parsed.ok) throw new Error(parsed.problems.join('\n'));
  const store = Store.open(dir);
  try {
    store.importSiteData(parsed.site);
    store.db.exec(`
      WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < ${PEOPLE})
      INSERT INTO cardholders (id, name, status) SELECT 'holder-' || i, 'Holder ' || i, 'active' FROM n;
      INSERT INTO cardholder_groups (cardholder_id, group_id) SELECT id, 'staff' FROM cardholders WHERE id LIKE 'holder-%';
      INSERT INTO credentials (id, cardholder_id, kind, digest, masked, status) SELECT id || '-card', id, 'card', gp_credential_digest('card', CAST(20000000 + substr(id, 8) AS TEXT)), '******' || substr(id, -2), 'active' FROM cardholders WHERE id LIKE 'holder-%';
    `);
  } finally {
    store.close();
  }
  return dir;
}

/** Writes with a second connection, as the CLI or plain SQL would while the gateway is stopped. */
function changeWhileStopped(dir: string, sql: string): void {
  const store = Store.open(dir);
  try {
    store.db.exec(sql);
  } finally {
    store.close();
  }
}

async function started(stateDir: string): Promise<{ gw: TestGateway; observer: TestClient; reader: TestClient }> {
  const gw = await startTestGateway({ stateDir, configYaml: 'demo: true', siteYaml: SITE_YAML });
  const observer = await connect(gw.mqttUrl);
  await observer.subscribe('guardpost/events');
  const reader = await connectDevice(gw.mqttUrl, 'lobby-reader');
  cleanups.push(async () => {
    await Promise.all([observer.end(), reader.end()]);
    await gw.stop();
  });
  return { gw, observer, reader };
}

async function badge(observer: TestClient, reader: TestClient, card: string): Promise<JournalEvent> {
  const after = observer.mark();
  await reader.publish('guardpost/devices/lobby-reader/input', JSON.stringify({ type: 'card', card }));
  return observer.nextEvent((event) => event.type.startsWith('access.'), after);
}

describe('a panel-scale start', () => {
  it('after people were changed while the gateway was stopped, re-reads exactly those people and decides with the change', async () => {
    const stateDir = panelStateDir();
    // The first start reads the database; stopping leaves the snapshot.
    const first = await startTestGateway({ stateDir, configYaml: 'demo: true', siteYaml: SITE_YAML });
    await first.stop();
    expect(fs.existsSync(path.join(stateDir, CARD_SNAPSHOT_FILE))).toBe(true);

    changeWhileStopped(stateDir, `
      UPDATE cardholders SET status = 'suspended' WHERE id = 'holder-17';
      UPDATE credentials SET digest = gp_credential_digest('card', '4242') WHERE id = 'holder-18-card';
    `);
    const reads = vi.spyOn(CardholdersRepository.prototype, 'readForIndex');
    const scans = vi.spyOn(CardholdersRepository.prototype, 'scanForIndex');
    const { gw, observer, reader } = await started(stateDir);
    expect(scans).not.toHaveBeenCalled();
    expect(reads.mock.calls.map(([id]) => id).sort()).toEqual(['holder-17', 'holder-18']);
    expect(gw.logs.some((line) => line.includes('snapshot brought up to date with 2 cardholders changed since it was written'))).toBe(true);

    expect(await badge(observer, reader, '20000017')).toMatchObject({ type: 'access.denied', reason: 'cardholder_suspended' });
    expect(await badge(observer, reader, '20000018')).toMatchObject({ type: 'access.denied', reason: 'unknown_credential' });
    expect(await badge(observer, reader, '4242')).toMatchObject({ type: 'access.granted', cardholder: 'holder-18' });
    expect(await badge(observer, reader, '20000019')).toMatchObject({ type: 'access.granted', cardholder: 'holder-19' });
  });

  it('falls back to a full read of the people, on worker threads, when the change log does not reach back to the snapshot, and logs why', async () => {
    const stateDir = panelStateDir();
    const first = await startTestGateway({ stateDir, configYaml: 'demo: true', siteYaml: SITE_YAML });
    await first.stop();
    changeWhileStopped(stateDir, `
      UPDATE cardholders SET status = 'suspended' WHERE id = 'holder-17';
      UPDATE cardholders SET status = 'suspended' WHERE id = 'holder-18';
      DELETE FROM people_changes WHERE generation = (SELECT min(generation) FROM people_changes);
    `);
    const scans = vi.spyOn(CardholdersRepository.prototype, 'scanForIndex');
    const { gw, observer, reader } = await started(stateDir);
    // Read on worker threads, not on the event loop's thread, and before any card was decided.
    expect(scans).not.toHaveBeenCalled();
    expect(gw.logs.map((line) => JSON.parse(line) as { msg: string; cardholders?: number }).find((line) => line.msg === 'card index: read from the database on worker threads')).toMatchObject({ cardholders: PEOPLE + 1 });
    const warning = gw.logs.map((line) => JSON.parse(line) as { msg: string }).find((line) => line.msg.startsWith('card index: the people change log'));
    expect(warning?.msg).toMatch(/^card index: the people change log no longer holds every change since generation \d+/);
    expect(await badge(observer, reader, '20000017')).toMatchObject({ type: 'access.denied', reason: 'cardholder_suspended' });
    expect(await badge(observer, reader, '20000018')).toMatchObject({ type: 'access.denied', reason: 'cardholder_suspended' });
  });

  it('lets a reader connect and log in while a start without a snapshot reads the people on worker threads, and decides its cards once they are in', async () => {
    const stateDir = panelStateDir();
    const siteFile = path.join(stateDir, 'panel-site.yaml');
    const configFile = path.join(stateDir, 'panel-config.yaml');
    fs.writeFileSync(siteFile, SITE_YAML);
    fs.writeFileSync(configFile, `siteFile: ${JSON.stringify(siteFile)}\ndemo: true\nmqtt:\n  host: 127.0.0.1\n`);
    const mqttPort = await freePort();
    const logs: string[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _encoding, done) {
        logs.push(chunk.toString('utf8'));
        done();
      },
    });
    let running = false;
    const starting = startGateway({ loaded: loadConfigFile(configFile, { stateDir, httpPort: 0, mqttPort }), logger: createLogger('info', sink) }).then((gateway: Gateway) => {
      running = true;
      return gateway;
    });
    cleanups.push(async () => (await starting).stop());
    // The broker listens before the people are read; the reader retries until it does.
    const client = mqtt.connect(`mqtt://127.0.0.1:${mqttPort}`, { clientId: 'panel-reader', username: 'lobby-reader', password: 'demo', reconnectPeriod: 20, connectTimeout: 5_000 });
    await new Promise<void>((resolve) => client.once('connect', () => resolve()));
    const reader = new TestClient(client);
    cleanups.push(() => reader.end());
    // Connected and logged in while the start still reads: no card decided yet, the event loop free.
    expect(running).toBe(false);
    expect(logs.some((line) => line.includes('card index: read from the database on worker threads'))).toBe(false);
    await reader.subscribe('guardpost/devices/lobby-reader/output');

    const gateway = await starting;
    expect(logs.some((line) => line.includes('card index: read from the database on worker threads'))).toBe(true);
    const observer = await connect(`mqtt://127.0.0.1:${gateway.mqttPort}`);
    cleanups.push(() => observer.end());
    await observer.subscribe('guardpost/events');
    expect(await badge(observer, reader, '20000017')).toMatchObject({ type: 'access.granted', cardholder: 'holder-17' });
    expect(await badge(observer, reader, '1001')).toMatchObject({ type: 'access.granted', cardholder: 'ann' });
  });

  it('after a crash (the gateway process killed), starts from the snapshot written in the background after the last people change', async () => {
    const stateDir = panelStateDir();
    const configFile = path.join(stateDir, 'crash-config.yaml');
    const siteFile = path.join(stateDir, 'crash-site.yaml');
    fs.writeFileSync(siteFile, SITE_YAML);
    fs.writeFileSync(configFile, `siteFile: ${JSON.stringify(siteFile)}\ndemo: true\nlog:\n  level: info\n`);
    const child = spawnGuardpost(['start', '--config', configFile, '--state-dir', stateDir, '--http-port', '0', '--mqtt-port', '0']);
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    const lines = linesOf(child);
    const running = await lines.next((line) => line.msg.startsWith('guardpost is running'));
    // Its first start read the database; the background snapshot follows.
    await lines.next((line) => line.msg === 'card index snapshot written');

    // People change while it runs (another process, as the CLI would): caught up, then written again.
    changeWhileStopped(stateDir, "UPDATE cardholders SET status = 'suspended' WHERE id = 'holder-23';");
    await lines.next((line) => line.msg === 'card index: people changed elsewhere re-read from the change log');
    const written = await lines.next((line) => line.msg === 'card index snapshot written');
    child.kill('SIGKILL');
    await exited;
    expect(running.mqtt).toBeDefined();

    // Had it been killed in the middle of a snapshot write, its temp file would be left: swept at start.
    const halfWritten = path.join(stateDir, `${CARD_SNAPSHOT_FILE}.4242.background.tmp`);
    fs.writeFileSync(halfWritten, 'GPCARDS1 cut short');
    const scans = vi.spyOn(CardholdersRepository.prototype, 'scanForIndex');
    const reads = vi.spyOn(CardholdersRepository.prototype, 'readForIndex');
    const { gw, observer, reader } = await started(stateDir);
    expect(fs.existsSync(halfWritten)).toBe(false);
    expect(gw.logs.filter((line) => line.includes('card index'))).toEqual([]);
    expect(scans).not.toHaveBeenCalled();
    expect(reads).not.toHaveBeenCalled();
    expect(gw.gateway.runtime.site.cards.snapshotGeneration).toBe(written.generation);
    expect(await badge(observer, reader, '20000023')).toMatchObject({ type: 'access.denied', reason: 'cardholder_suspended' });
    expect(await badge(observer, reader, '20000024')).toMatchObject({ type: 'access.granted', cardholder: 'holder-24' });
  }, 90_000);
});

interface LogLine {
  readonly msg: string;
  readonly [key: string]: unknown;
}

/** The child's JSON log lines, awaited one match at a time. */
function linesOf(child: ChildProcess): { next(match: (line: LogLine) => boolean, timeoutMs?: number): Promise<LogLine> } {
  const seen: LogLine[] = [];
  let waiters: { match: (line: LogLine) => boolean; resolve: (line: LogLine) => void }[] = [];
  let consumed = 0;
  let buffer = '';
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  child.stdout?.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('utf8');
    const parts = buffer.split('\n');
    buffer = parts.pop() ?? '';
    for (const text of parts) {
      if (!text.startsWith('{')) continue;
      const line = JSON.parse(text) as LogLine;
      seen.push(line);
      waiters = waiters.filter((waiter) => {
        if (!waiter.match(line)) return true;
        waiter.resolve(line);
        return false;
      });
    }
  });
  return {
    // Each match looks only at lines after the previous match, so repeated messages are told apart.
    next: (match, timeoutMs = 30_000) => {
      const index = seen.findIndex((line, at) => at >= consumed && match(line));
      if (index !== -1) {
        consumed = index + 1;
        return Promise.resolve(seen[index] as LogLine);
      }
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no matching log line within ${timeoutMs} ms; stderr: ${stderr.slice(0, 2000)}`)), timeoutMs);
        waiters.push({
          match,
          resolve: (line) => {
            clearTimeout(timer);
            consumed = seen.indexOf(line) + 1;
            resolve(line);
          },
        });
      });
    },
  };
}
