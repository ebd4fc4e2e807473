import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { tempDir } from './gateway.js';

/** Where Debian installs the broker; `.ci/run` installs the package when it is missing. */
export const MOSQUITTO_BINARY = ['/usr/sbin/mosquitto', '/usr/bin/mosquitto'].find((file) => fs.existsSync(file));

/** The interop tier needs a real Mosquitto: without one it fails, it is never skipped. */
export function requireMosquitto(): string {
  if (MOSQUITTO_BINARY === undefined) {
    throw new Error('the interop tests need Mosquitto (apt-get install mosquitto; .ci/run installs it)');
  }
  return MOSQUITTO_BINARY;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (typeof address !== 'object' || address === null) throw new Error('no port');
  return address.port;
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  /** Everything the broker logged so far (log_type all). */
  log(): string;
  stop(): Promise<void>;
}

/** Starts a real Mosquitto on loopback and resolves once it says it is running. */
export interface MosquittoOptions {
  /** Keep sessions and queued messages across a restart in this directory (default: none kept). */
  readonly persistenceDir?: string;
}

export async function startMosquitto(port?: number, options: MosquittoOptions = {}): Promise<Mosquitto> {
  const binary = requireMosquitto();
  const listenPort = port ?? (await freePort());
  const dir = tempDir('gp-mosquitto-');
  const configFile = path.join(dir, 'mosquitto.conf');
  fs.writeFileSync(
    configFile,
    [
      `listener ${listenPort} 127.0.0.1`,
      'allow_anonymous true',
      ...(options.persistenceDir === undefined ? ['persistence false'] : ['persistence true', `persistence_location ${options.persistenceDir}/`, 'max_queued_messages 0']),
      // Started as root, Mosquitto switches to the `mosquitto` user and then cannot write its
      // database into our 0700 temp dir: it logs "Error saving in-memory database" and comes back
      // with no sessions, dropping whatever it had acknowledged but not yet passed on.
      ...(process.getuid?.() === 0 ? ['user root'] : []),
      'log_dest stderr',
      'log_type all',
      '',
    ].join('\n'),
  );
  const child: ChildProcess = spawn(binary, ['-c', configFile], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  let running = false;
  await new Promise<void>((resolve, reject) => {
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString('utf8');
      // Printed once every listener is bound (checked only until then: the log grows large).
      if (!running && /mosquitto version \S+ running/.test(log)) {
        running = true;
        resolve();
      }
    });
    child.once('exit', (code) => reject(new Error(`mosquitto exited with ${code}: ${log}`)));
  });
  return {
    port: listenPort,
    url: `mqtt://127.0.0.1:${listenPort}`,
    log: () => log,
    stop: () =>
      new Promise<void>((resolve, reject) => {
        const saved = (): void => {
          // A broker that could not save its sessions would lose messages on restart through no
          // fault of the client under test: say so instead of letting the test blame the client.
          const failure = /Error saving in-memory database[^\n]*\n[^\n]*/.exec(log);
          if (options.persistenceDir !== undefined && failure !== null) reject(new Error(`mosquitto could not persist its sessions: ${failure[0]}`));
          else resolve();
        };
        if (child.exitCode !== null) return saved();
        child.once('exit', saved);
        child.kill('SIGTERM');
      }),
  };
}

export function mosquittoVersion(): string {
  return spawnSync(requireMosquitto(), ['-h'], { encoding: 'utf8' }).stdout.split('\n')[0] ?? '';
}
