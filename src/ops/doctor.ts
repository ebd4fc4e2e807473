import { execFile } from 'node:child_process';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import Database from 'better-sqlite3';
import { checkConfigFile, loadConfigFile, loadSiteFile, type LoadedConfig } from '../config/load.js';
import { isGuardpostError } from '../errors.js';
import { DATABASE_FILE } from '../store/db.js';
import { DevicesRepository, type DeviceRecord } from '../store/devices.js';
import { HEADER_CHIP_LABELS, listGpioChips } from '../transports/gpio.js';
import { NEWEST_SCHEMA, runningGateway } from './backup.js';

/**
 * `guardpost doctor`: checks the box the way an installer would, one line per check with
 * ok / warn / fail in words and what to do about it. It reads; it never changes anything
 * (the database is opened read-only and never migrated; the write-lock probe writes nothing).
 */
export type DoctorStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  readonly status: DoctorStatus;
  readonly name: string;
  readonly detail: string;
}

export const MIN_NODE_MAJOR = 20;
/** Below these the journal, backups and the WAL are at risk. */
export const DISK_FAIL_BYTES = 100 * 1024 * 1024;
export const DISK_WARN_BYTES = 1024 * 1024 * 1024;

export interface DoctorEnv {
  readonly nodeVersion?: string;
  /** Runs `timedatectl show …`; tests replace it. Resolves with stdout or null when it cannot run. */
  readonly timedatectl?: () => Promise<string | null>;
  readonly clock?: () => number;
}

export async function runDoctor(configFile: string, overrides: { stateDir?: string } = {}, env: DoctorEnv = {}): Promise<DoctorCheck[]> {
  const checks: DoctorCheck[] = [checkNode(env.nodeVersion ?? process.versions.node)];
  const problems = checkConfigFile(configFile);
  let loaded: LoadedConfig | undefined;
  if (problems.length > 0) {
    checks.push({ status: 'fail', name: 'config', detail: `${configFile} has ${problems.length === 1 ? '1 problem' : `${problems.length} problems`}: ${problems.join('; ')} (guardpost check-config ${configFile} lists them)` });
  }
  try {
    loaded = loadConfigFile(configFile, overrides);
    if (problems.length === 0) {
      const notes = loaded.notices.length > 0 ? `; ${loaded.notices.join('; ')}` : '';
      checks.push({ status: loaded.notices.length > 0 ? 'warn' : 'ok', name: 'config', detail: `${configFile} is valid${loaded.siteFile === undefined ? '' : `, and so is its site file ${loaded.siteFile}`}${notes}` });
    }
  } catch (error) {
    if (!isGuardpostError(error)) throw error;
    if (problems.length === 0) checks.push({ status: 'fail', name: 'config', detail: error.message });
  }
  if (loaded === undefined) return checks; // nothing below can be checked without a config

  const devices = siteDevices(loaded, checks);
  const lock = checkDatabaseLock(path.join(loaded.stateDir, DATABASE_FILE));
  if (lock !== null) checks.push(lock);
  checks.push(...checkSerial(loaded, devices));
  checks.push(...checkGpio(loaded, devices));
  checks.push(await checkClock(env.timedatectl ?? timedatectl, loaded, env.clock ?? Date.now));
  checks.push(checkDisk(loaded.stateDir));
  checks.push(...checkCertificates(loaded, env.clock ?? Date.now));
  checks.push(...(await checkPorts(loaded)));
  return checks;
}

export function formatCheck(check: DoctorCheck): string {
  return `${check.status.padEnd(4)} ${check.name}: ${check.detail}`;
}

export function checkNode(version: string): DoctorCheck {
  const major = Number(version.split('.')[0]);
  return major >= MIN_NODE_MAJOR
    ? { status: 'ok', name: 'node', detail: `Node.js ${version} (needs ${MIN_NODE_MAJOR} or newer)` }
    : { status: 'fail', name: 'node', detail: `Node.js ${version} is too old: guardpost needs ${MIN_NODE_MAJOR} or newer (see the README's service section for NodeSource)` };
}

/** The devices the gateway would bind: the store's when it has site data at this schema, else the site file's. */
/** How long the lock probe waits: a running gateway holds the write lock for microseconds at a time. */
const LOCK_PROBE_WAIT_MS = 250;

/**
 * [JRN-LOCKED] Whether another process holds the database's write lock (guardpost import in one
 * long transaction, a sqlite3 shell left in BEGIN): a running gateway then keeps its events in
 * memory and every other write of its waits 5 s and fails. The probe takes the lock for an
 * instant (BEGIN IMMEDIATE, then ROLLBACK) and writes nothing. Null when there is no database.
 */
export function checkDatabaseLock(file: string): DoctorCheck | null {
  if (!fs.existsSync(file)) return null;
  let db: Database.Database | undefined;
  try {
    db = new Database(file, { fileMustExist: true, timeout: LOCK_PROBE_WAIT_MS });
    db.exec('BEGIN IMMEDIATE');
    db.exec('ROLLBACK');
    return { status: 'ok', name: 'database lock', detail: 'no other process holds the write lock' };
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    if (typeof code === 'string' && (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))) {
      return { status: 'warn', name: 'database lock', detail: `another process has held ${file}'s write lock for over ${LOCK_PROBE_WAIT_MS} ms (guardpost import, a sqlite3 shell in a transaction?): a running gateway keeps its events in memory until it is released (guardpost_journal_pending_events) and its other writes fail; find it with: fuser -v ${file}` };
    }
    // A state directory this user may only read: the database check says what it can.
    if (typeof code === 'string' && (code.startsWith('SQLITE_READONLY') || code.startsWith('SQLITE_CANTOPEN'))) return null;
    return { status: 'warn', name: 'database lock', detail: `could not check the write lock of ${file}: ${(error as Error).message}` };
  } finally {
    db?.close();
  }
}

function siteDevices(loaded: LoadedConfig, checks: DoctorCheck[]): DeviceRecord[] {
  const file = path.join(loaded.stateDir, DATABASE_FILE);
  if (fs.existsSync(file)) {
    let db: Database.Database | undefined;
    try {
      db = new Database(file, { readonly: true, fileMustExist: true });
      const version = db.pragma('user_version', { simple: true }) as number;
      if (version > NEWEST_SCHEMA) {
        checks.push({ status: 'fail', name: 'database', detail: `${file} is at schema ${version}, newer than this guardpost (${NEWEST_SCHEMA}): upgrade guardpost` });
      } else if (version < NEWEST_SCHEMA) {
        checks.push({ status: 'warn', name: 'database', detail: `${file} is at schema ${version}; the next start migrates it to ${NEWEST_SCHEMA} after a backup` });
      } else {
        const check = db.pragma('quick_check', { simple: true });
        checks.push(check === 'ok' ? { status: 'ok', name: 'database', detail: `${file}, schema ${version}, intact` } : { status: 'fail', name: 'database', detail: `${file} is damaged (${String(check).split('\n')[0]}): restore a backup (guardpost restore FILE)` });
        return new DevicesRepository(db).list();
      }
    } catch (error) {
      checks.push({ status: 'fail', name: 'database', detail: `cannot read ${file}: ${(error as Error).message}` });
    } finally {
      db?.close();
    }
  } else {
    checks.push({ status: 'ok', name: 'database', detail: `none yet in ${loaded.stateDir}; the first start creates it${loaded.siteFile === undefined ? '' : ` from ${loaded.siteFile}`}` });
  }
  if (loaded.siteFile === undefined) return [];
  try {
    return loadSiteFile(loaded.siteFile).devices.map((device) => device as unknown as DeviceRecord);
  } catch {
    return []; // reported by the config check
  }
}

function bindingOf(device: DeviceRecord): Record<string, unknown> {
  const record = device as unknown as Record<string, unknown>;
  return { ...record, ...((record.binding as Record<string, unknown> | undefined) ?? {}) };
}

export function checkSerial(loaded: LoadedConfig, devices: readonly DeviceRecord[]): DoctorCheck[] {
  const buses = loaded.config.serial?.buses ?? [];
  return buses.map((bus): DoctorCheck => {
    const users = devices.filter((device) => bindingOf(device).bus === bus.id).map((device) => device.id);
    const name = `serial ${bus.id}`;
    const usedBy = users.length === 0 ? 'no device uses it' : `for ${users.join(', ')}`;
    let stat: fs.Stats;
    try {
      stat = fs.statSync(bus.path);
    } catch {
      return { status: users.length === 0 ? 'warn' : 'fail', name, detail: `${bus.path} does not exist (${usedBy}): is the adapter plugged in? ls -l /dev/serial/by-id/ shows the stable names` };
    }
    if (!stat.isCharacterDevice()) return { status: 'fail', name, detail: `${bus.path} is not a serial device (${usedBy})` };
    try {
      fs.accessSync(bus.path, fs.constants.R_OK | fs.constants.W_OK);
    } catch {
      return { status: 'fail', name, detail: `${bus.path} is there but this user may not open it (${usedBy}): add the service user to the dialout group (sudo usermod -aG dialout guardpost)` };
    }
    return { status: 'ok', name, detail: `${bus.path} is present and can be opened (${usedBy})` };
  });
}

export function checkGpio(loaded: LoadedConfig, devices: readonly DeviceRecord[]): DoctorCheck[] {
  const lines = devices.flatMap((device) => {
    const binding = bindingOf(device);
    const pins = binding.wiegandPins as { data0: number; data1: number } | undefined;
    const own = typeof binding.pin === 'number' ? [binding.pin] : [];
    return [...own, ...(pins === undefined ? [] : [pins.data0, pins.data1])].map((line) => ({ device: device.id, line }));
  });
  const gpio = loaded.config.gpio;
  if (lines.length === 0 && gpio === undefined) return [];
  const sysfsRoot = gpio?.sysfsRoot ?? '/sys/class/gpio';
  const wanted: readonly string[] = gpio?.chipLabel === undefined ? HEADER_CHIP_LABELS : [gpio.chipLabel];
  const status: DoctorStatus = lines.length === 0 ? 'warn' : 'fail';
  let chips;
  try {
    chips = listGpioChips(sysfsRoot);
  } catch (error) {
    return [{ status, name: 'gpio', detail: `${(error as Error).message}` }];
  }
  const found = chips.map((chip) => `${chip.name} "${chip.label}" (${chip.lines} lines)`).join(', ') || 'none';
  const chip = chips.find((candidate) => wanted.includes(candidate.label));
  if (chip === undefined) {
    return [{ status, name: 'gpio', detail: `no gpiochip labelled ${wanted.map((label) => `"${label}"`).join(' or ')} in ${sysfsRoot} (found: ${found}); set gpio.chipLabel in the config to one of those` }];
  }
  const checks: DoctorCheck[] = [{ status: 'ok', name: 'gpio', detail: `${chip.name} "${chip.label}" in ${sysfsRoot}, lines 0 to ${chip.lines - 1}, sysfs base ${chip.base}` }];
  for (const { device, line } of lines) {
    checks.push(
      line < chip.lines
        ? { status: 'ok', name: `gpio line ${line}`, detail: `${device} on line ${line} of ${chip.name}` }
        : { status: 'fail', name: `gpio line ${line}`, detail: `${device} wants line ${line} but ${chip.name} "${chip.label}" has lines 0 to ${chip.lines - 1} only` },
    );
  }
  return checks;
}

function timedatectl(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile('timedatectl', ['show', '--property=NTPSynchronized', '--property=NTP', '--property=Timezone'], { timeout: 3_000 }, (error, stdout) => resolve(error === null ? stdout : null));
  });
}

/** Synchronised per systemd (timedatectl), and not behind the newest journalled event. */
export async function checkClock(run: () => Promise<string | null>, loaded: LoadedConfig, clock: () => number): Promise<DoctorCheck> {
  const nowMs = clock();
  const newest = newestEventMs(loaded.stateDir);
  if (newest !== null && nowMs < newest) {
    return { status: 'fail', name: 'clock', detail: `the clock (${new Date(nowMs).toISOString()}) is behind the newest journalled event (${new Date(newest).toISOString()}): wait for NTP or set it (sudo timedatectl set-time …)` };
  }
  const output = await run();
  if (output === null) return { status: 'warn', name: 'clock', detail: 'cannot tell whether the clock is synchronised (timedatectl did not answer; not systemd?): a Pi has no real-time clock, make sure NTP runs' };
  const values = new Map(output.trim().split('\n').map((line) => [line.split('=')[0], line.slice(line.indexOf('=') + 1)] as const));
  if (values.get('NTPSynchronized') === 'yes') return { status: 'ok', name: 'clock', detail: `synchronised (NTP), ${new Date(nowMs).toISOString()}` };
  const ntp = values.get('NTP') === 'yes' ? 'NTP is on but has not synchronised yet: check the network and time servers' : 'NTP is off: sudo timedatectl set-ntp true';
  return { status: 'fail', name: 'clock', detail: `not synchronised; ${ntp} (schedules and the journal depend on the time)` };
}

function newestEventMs(stateDir: string): number | null {
  const file = path.join(stateDir, DATABASE_FILE);
  if (!fs.existsSync(file)) return null;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      return db.prepare<[], { t: number | null }>('SELECT max(time_ms) AS t FROM events').get()?.t ?? null;
    } finally {
      db.close();
    }
  } catch {
    return null; // the database check reports it
  }
}

export function checkDisk(stateDir: string): DoctorCheck {
  let dir = path.resolve(stateDir);
  while (!fs.existsSync(dir) && path.dirname(dir) !== dir) dir = path.dirname(dir);
  const stats = fs.statfsSync(dir);
  const free = stats.bavail * stats.bsize;
  const total = stats.blocks * stats.bsize;
  const words = `${(free / 1024 ** 3).toFixed(1)} GiB free of ${(total / 1024 ** 3).toFixed(1)} GiB on the state directory's file system (${dir})`;
  if (free < DISK_FAIL_BYTES) return { status: 'fail', name: 'disk', detail: `only ${words}: the journal and backups need room; free space or lower journal.retentionDays / backup.keep` };
  if (free < DISK_WARN_BYTES) return { status: 'warn', name: 'disk', detail: `${words}: getting low` };
  try {
    fs.accessSync(stateDir, fs.constants.W_OK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') return { status: 'fail', name: 'disk', detail: `${words}, but ${stateDir} is not writable by this user` };
  }
  return { status: 'ok', name: 'disk', detail: words };
}

export async function checkPorts(loaded: LoadedConfig): Promise<DoctorCheck[]> {
  const wanted: { name: string; host: string; port: number }[] = [{ name: 'http port', host: loaded.config.http.host, port: loaded.config.http.port }];
  const { mqtt } = loaded.config;
  if (mqtt.mode === 'embedded' && mqtt.plain) wanted.push({ name: 'mqtt port', host: mqtt.host, port: mqtt.port });
  if (mqtt.mode === 'embedded' && mqtt.tls !== undefined) wanted.push({ name: 'mqtts port', host: mqtt.tls.host ?? mqtt.host, port: mqtt.tls.port });
  if (mqtt.mode === 'embedded' && mqtt.websocket !== undefined) wanted.push({ name: mqtt.websocket.tls ? 'wss port' : 'ws port', host: mqtt.websocket.host ?? mqtt.host, port: mqtt.websocket.port });
  const gateway = runningGateway(loaded.stateDir);
  const checks: DoctorCheck[] = [];
  for (const { name, host, port } of wanted) {
    if (port === 0) {
      checks.push({ status: 'ok', name, detail: 'any free port (0)' });
      continue;
    }
    const problem = await tryListen(host, port);
    if (problem === null) checks.push({ status: 'ok', name, detail: `${host}:${port} is free` });
    else if (problem === 'EADDRINUSE' && gateway !== null) checks.push({ status: 'ok', name, detail: `${host}:${port} is in use by the running gateway (pid ${gateway})` });
    else if (problem === 'EADDRINUSE') checks.push({ status: 'fail', name, detail: `${host}:${port} is in use by another program (sudo ss -ltnp 'sport = :${port}' names it)` });
    else if (problem === 'EACCES') checks.push({ status: 'fail', name, detail: `${host}:${port} needs privileges: run as the service (AmbientCapabilities=CAP_NET_BIND_SERVICE) or use a port above 1023` });
    else checks.push({ status: 'fail', name, detail: `cannot listen on ${host}:${port}: ${problem}` });
  }
  return checks;
}

function tryListen(host: string, port: number): Promise<string | null> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
    server.listen(port, host, () => server.close(() => resolve(null)));
  });
}

/** The MQTT TLS certificate files: readable, the key parses, and the certificates are in date (warn 30 days ahead). */
export function checkCertificates(loaded: LoadedConfig, clock: () => number): DoctorCheck[] {
  const tls = loaded.config.mqtt.mode === 'embedded' ? loaded.config.mqtt.tls : undefined;
  if (tls === undefined) return [];
  const checks: DoctorCheck[] = [];
  const nowMs = clock();
  const certificate = (key: string, file: string): void => {
    const resolved = path.resolve(loaded.dir, file);
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(fs.readFileSync(resolved));
    } catch (error) {
      checks.push({ status: 'fail', name: `mqtt.tls.${key}`, detail: `cannot read a PEM certificate from ${resolved}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
      return;
    }
    const untilMs = Date.parse(cert.validTo);
    const days = Math.floor((untilMs - nowMs) / 86_400_000);
    const subject = cert.subject.replace(/\n/g, ', ');
    if (untilMs <= nowMs) checks.push({ status: 'fail', name: `mqtt.tls.${key}`, detail: `${resolved} (${subject}) expired on ${new Date(untilMs).toISOString()}: devices will refuse it; renew it` });
    else if (Date.parse(cert.validFrom) > nowMs) checks.push({ status: 'fail', name: `mqtt.tls.${key}`, detail: `${resolved} (${subject}) is not valid before ${new Date(Date.parse(cert.validFrom)).toISOString()}: is the clock right?` });
    else if (days < 30) checks.push({ status: 'warn', name: `mqtt.tls.${key}`, detail: `${resolved} (${subject}) expires in ${days} days: renew it soon` });
    else checks.push({ status: 'ok', name: `mqtt.tls.${key}`, detail: `${resolved} (${subject}), valid until ${new Date(untilMs).toISOString().slice(0, 10)}` });
  };
  certificate('certFile', tls.certFile);
  const keyFile = path.resolve(loaded.dir, tls.keyFile);
  try {
    createPrivateKey(fs.readFileSync(keyFile));
    const mode = fs.statSync(keyFile).mode & 0o777;
    checks.push((mode & 0o007) !== 0 ? { status: 'warn', name: 'mqtt.tls.keyFile', detail: `${keyFile} is readable by everyone (mode ${mode.toString(8)}): chmod 640 and chgrp guardpost` } : { status: 'ok', name: 'mqtt.tls.keyFile', detail: `${keyFile} is a private key readable by its owner and group only` });
  } catch (error) {
    checks.push({ status: 'fail', name: 'mqtt.tls.keyFile', detail: `cannot read a private key from ${keyFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` });
  }
  if (tls.caFile !== undefined) certificate('caFile', tls.caFile);
  return checks;
}
