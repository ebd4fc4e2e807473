import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/logger.js';
import { SYSTEMD_NOTIFY, systemdNotifier } from '../../src/ops/notify.js';
import { spawnGuardpost } from '../support/cli.js';
import { connect, demoConfigFile, tempDir } from '../support/gateway.js';

const PYTHON = '/usr/bin/python3';
const SYSTEMD_ANALYZE = '/usr/bin/systemd-analyze';
const UNIT = path.resolve(import.meta.dirname, '../../systemd/guardpost.service');

/** This tier needs the real tools; without them it fails, loudly, rather than skipping. */
function requireTool(file: string, pkg: string): void {
  if (!fs.existsSync(file)) throw new Error(`the systemd test tier needs ${file}: install it (apt-get install ${pkg}, as .ci/run does)`);
}

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/**
 * Plays systemd's side of NOTIFY_SOCKET: an AF_UNIX datagram socket (which Node cannot open,
 * hence Python) that prints each message as one JSON line and, like systemd, closes the file
 * descriptor of a notification barrier at once, which releases the waiting systemd-notify.
 */
const RECEIVER = String.raw`
import array, json, socket, sys
sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
sock.bind(sys.argv[1])
print(json.dumps("LISTENING"), flush=True)
while True:
    data, ancdata, flags, addr = sock.recvmsg(4096, socket.CMSG_SPACE(16 * 4))
    for level, kind, payload in ancdata:
        if level == socket.SOL_SOCKET and kind == socket.SCM_RIGHTS:
            fds = array.array("i")
            fds.frombytes(payload[: len(payload) - (len(payload) % fds.itemsize)])
            for fd in fds:
                __import__("os").close(fd)
    print(json.dumps(data.decode("utf-8", "replace")), flush=True)
`;

class NotifySocket {
  readonly messages: string[] = [];
  private waiters: { match: (message: string) => boolean; resolve: (message: string) => void }[] = [];
  private constructor(readonly path: string, private readonly child: ChildProcess) {}

  static async open(dir: string): Promise<NotifySocket> {
    requireTool(PYTHON, 'python3');
    const socketPath = path.join(dir, 'notify.sock');
    const child = spawn(PYTHON, ['-c', RECEIVER, socketPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    const socket = new NotifySocket(socketPath, child);
    cleanups.push(() => {
      child.kill('SIGKILL');
    });
    let buffer = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('utf8');
      const lines = buffer.split('\n');
      buffer = lines.pop() ?? '';
      for (const line of lines) socket.received(JSON.parse(line) as string);
    });
    await socket.next((message) => message === 'LISTENING');
    return socket;
  }

  private received(message: string): void {
    this.messages.push(message);
    this.waiters = this.waiters.filter((waiter) => {
      if (!waiter.match(message)) return true;
      waiter.resolve(message);
      return false;
    });
  }

  next(match: (message: string) => boolean, after = 0, timeoutMs = 15_000): Promise<string> {
    const seen = this.messages.slice(after).find(match);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no matching notification within ${timeoutMs} ms; got ${JSON.stringify(this.messages)}`)), timeoutMs);
      this.waiters.push({ match, resolve: (message) => (clearTimeout(timer), resolve(message)) });
    });
  }
}

const fields = (message: string): string[] => message.split('\n');

describe('running under systemd', () => {
  it('reports READY=1 only once the broker takes devices, feeds the watchdog at half its period, and says STOPPING=1 on SIGTERM', async () => {
    requireTool(SYSTEMD_NOTIFY, 'systemd');
    const dir = tempDir('gp-systemd-');
    const notify = await NotifySocket.open(dir);
    const child = spawnGuardpost(['start', '--config', demoConfigFile, '--state-dir', dir, '--http-port', '0', '--mqtt-port', '0'], { NOTIFY_SOCKET: notify.path, WATCHDOG_USEC: '400000' });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanups.push(() => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
    let stdout = '';
    child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));

    const ready = await notify.next((message) => fields(message).includes('READY=1'));
    const status = fields(ready).find((field) => field.startsWith('STATUS='));
    expect(status).toMatch(/^STATUS=running: MQTT broker on port \d+, HTTP on port \d+$/);
    // Ready means ready: a device can log in at once.
    const port = Number(/MQTT broker on port (\d+)/.exec(status!)![1]);
    const reader = await connect(`mqtt://127.0.0.1:${port}`, { username: 'main-entrance-reader', password: 'demo' });
    await reader.end();

    const readyAt = notify.messages.indexOf(ready);
    await notify.next((message) => message === 'WATCHDOG=1', readyAt + 1);
    const second = notify.messages.findIndex((message, index) => index > readyAt && message === 'WATCHDOG=1');
    await notify.next((message) => message === 'WATCHDOG=1', second + 1);
    expect(stdout).toContain('"intervalMs":200');

    const beforeStop = notify.messages.length;
    child.kill('SIGTERM');
    const stopping = await notify.next((message) => fields(message).includes('STOPPING=1'), beforeStop);
    expect(fields(stopping)).toContain('STATUS=stopping on SIGTERM');
    expect(await exited).toBe(0);
  });

  it('says once, in words, when systemd-notify is missing, and the gateway keeps going', async () => {
    const lines: string[] = [];
    const logger = createLogger('info', { write: (line: string) => void lines.push(line) });
    const notifier = systemdNotifier({ logger, env: { NOTIFY_SOCKET: '/run/none/notify', WATCHDOG_USEC: '20000' }, command: '/nonexistent/systemd-notify' });
    expect(notifier?.watchdogIntervalMs).toBe(10);
    notifier!.ready('running');
    cleanups.push(() => notifier!.close());
    await new Promise<void>((resolve) => {
      const check = setInterval(() => {
        if (lines.length > 0) {
          clearInterval(check);
          resolve();
        }
      }, 5);
    });
    expect(JSON.parse(lines[0]!).msg).toBe('cannot notify systemd: spawn /nonexistent/systemd-notify ENOENT; install systemd (systemd-notify) or use Type=simple');
  });

  it('does nothing when not started by systemd', () => {
    expect(systemdNotifier({ logger: createLogger('silent'), env: {} })).toBeNull();
  });

  it('ships a unit file that systemd-analyze verify accepts', async () => {
    requireTool(SYSTEMD_ANALYZE, 'systemd');
    const dir = tempDir('gp-unit-');
    // verify checks ExecStart's binary exists: point it at this machine's node and a real file.
    const unit = fs.readFileSync(UNIT, 'utf8').replace(/^ExecStart=\S+ \S+/m, `ExecStart=${process.execPath} ${path.resolve(import.meta.dirname, '../../src/main.ts')}`);
    const file = path.join(dir, 'guardpost.service');
    fs.writeFileSync(file, unit);
    const result = await new Promise<{ code: number | null; output: string }>((resolve) => {
      const child = spawn(SYSTEMD_ANALYZE, ['verify', '--man=no', file], { stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
      child.once('exit', (code) => resolve({ code, output }));
    });
    expect(result.output.split('\n').filter((line) => line.includes('guardpost.service'))).toEqual([]);
    expect(result.code).toBe(0);
    for (const directive of ['Type=notify', 'NotifyAccess=all', 'Restart=always', 'StateDirectory=guardpost', 'ProtectSystem=strict', 'SupplementaryGroups=dialout gpio']) expect(unit).toContain(directive);
    expect(unit).toMatch(/^WatchdogSec=\d+/m);
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m);
    expect(unit).not.toMatch(/^PrivateDevices=/m);
  });
});
