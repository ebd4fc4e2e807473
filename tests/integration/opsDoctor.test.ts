import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { formatCheck, runDoctor } from '../../src/ops/doctor.js';
import { cli } from '../support/cli.js';
import { demoSiteFile, startTestGateway, tempDir } from '../support/gateway.js';
import { SocatPair } from '../support/socat.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

const SITE = `
site: { id: doctor-site, name: Doctor floor, timezone: Europe/London }
devices:
  - { id: lobby-reader, kind: reader, driver: rdm6300, bus: lobby-bus, name: Lobby RDM6300 }
  - { id: lobby-strike, kind: strike, driver: gpio-relay, pin: 17 }
  - { id: desk-panic, kind: panic-button, driver: gpio-input, pin: 40 }
doors:
  - { id: lobby, name: Lobby, reader: lobby-reader, strike: lobby-strike, unlockMs: 4000 }
`;

/** A sysfs GPIO class directory with the chips given, as the kernel lays it out. */
function fakeSysfs(dir: string, chips: { name: string; label: string; base: number; lines: number }[]): string {
  const root = path.join(dir, 'sys-class-gpio');
  for (const chip of chips) {
    fs.mkdirSync(path.join(root, chip.name), { recursive: true });
    fs.writeFileSync(path.join(root, chip.name, 'label'), `${chip.label}\n`);
    fs.writeFileSync(path.join(root, chip.name, 'base'), `${chip.base}\n`);
    fs.writeFileSync(path.join(root, chip.name, 'ngpio'), `${chip.lines}\n`);
  }
  return root;
}

function writeConfig(dir: string, lines: string[]): string {
  const site = path.join(dir, 'site.yaml');
  fs.writeFileSync(site, SITE);
  const file = path.join(dir, 'guardpost.yaml');
  fs.writeFileSync(file, ['version: 1', 'siteFile: site.yaml', 'stateDir: state', 'http: { port: 0 }', 'mqtt: { port: 0 }', ...lines, ''].join('\n'));
  return file;
}

const synced = async (): Promise<string> => 'NTPSynchronized=yes\nNTP=yes\nTimezone=Europe/London\n';

describe('guardpost doctor', () => {
  it('reports a missing serial port and a wrong GPIO chip in words, and fails', async () => {
    const dir = tempDir('gp-doctor-');
    const missing = path.join(dir, 'ttyUSB-missing');
    const sysfs = fakeSysfs(dir, [{ name: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, lines: 58 }]);
    const file = writeConfig(dir, ['serial:', '  buses:', `    - { id: lobby-bus, path: ${JSON.stringify(missing)} }`, `gpio: { chipLabel: pinctrl-rp1, sysfsRoot: ${JSON.stringify(sysfs)} }`]);

    const result = await cli('doctor', '--config', file);
    expect(result.code).toBe(1);
    expect(result.out).toContain(`fail serial lobby-bus: ${missing} does not exist (for lobby-reader): is the adapter plugged in? ls -l /dev/serial/by-id/ shows the stable names`);
    expect(result.out).toContain(`fail gpio: no gpiochip labelled "pinctrl-rp1" in ${sysfs} (found: gpiochip512 "pinctrl-bcm2711" (58 lines)); set gpio.chipLabel in the config to one of those`);
    expect(result.out[0]).toMatch(/^ok {3}node: Node\.js \d+\.\d+\.\d+ \(needs 20 or newer\)$/);
    expect(result.out).toContain(`ok   config: ${file} is valid, and so is its site file ${path.join(dir, 'site.yaml')}`);
    expect(result.out.at(-1)).toMatch(/^\d+ ok, \d+ warnings?, 2 failures$/);
  });

  it('passes a present serial port and the right chip, and names a line the chip does not have', async () => {
    const dir = tempDir('gp-doctor-ok-');
    const pair = new SocatPair(dir, 'lobby');
    await pair.start();
    cleanups.push(() => pair.stop());
    const sysfs = fakeSysfs(dir, [
      { name: 'gpiochip0', label: 'raspberrypi-exp-gpio', base: 0, lines: 8 },
      { name: 'gpiochip512', label: 'pinctrl-bcm2835', base: 512, lines: 28 },
    ]);
    const file = writeConfig(dir, ['serial:', '  buses:', `    - { id: lobby-bus, path: ${JSON.stringify(pair.gatewayPath)} }`, `gpio: { sysfsRoot: ${JSON.stringify(sysfs)} }`]);

    const checks = (await runDoctor(file, {}, { timedatectl: synced })).map(formatCheck);
    expect(checks).toContain(`ok   serial lobby-bus: ${pair.gatewayPath} is present and can be opened (for lobby-reader)`);
    expect(checks).toContain(`ok   gpio: gpiochip512 "pinctrl-bcm2835" in ${sysfs}, lines 0 to 27, sysfs base 512`);
    expect(checks).toContain('ok   gpio line 17: lobby-strike on line 17 of gpiochip512');
    expect(checks).toContain('fail gpio line 40: desk-panic wants line 40 but gpiochip512 "pinctrl-bcm2835" has lines 0 to 27 only');
    expect(checks.find((line) => line.includes(' clock: '))).toMatch(/^ok {3}clock: synchronised \(NTP\), /);
  });

  it('fails a clock that is not synchronised or behind the journal, and a port another program holds', async () => {
    const dir = tempDir('gp-doctor-clock-');
    const blocker = net.createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', () => resolve()));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = (blocker.address() as net.AddressInfo).port;
    const file = path.join(dir, 'guardpost.yaml');
    fs.writeFileSync(file, `version: 1\ndemo: true\nsiteFile: ${JSON.stringify(demoSiteFile)}\nstateDir: state\nhttp: { host: 127.0.0.1, port: ${port} }\nmqtt: { port: 0 }\n`);
    const unsynced = async (): Promise<string> => 'NTPSynchronized=no\nNTP=yes\n';
    const checks = (await runDoctor(file, {}, { timedatectl: unsynced })).map(formatCheck);
    expect(checks).toContain('fail clock: not synchronised; NTP is on but has not synchronised yet: check the network and time servers (schedules and the journal depend on the time)');
    expect(checks).toContain(`fail http port: 127.0.0.1:${port} is in use by another program (sudo ss -ltnp 'sport = :${port}' names it)`);

    // A journal written by a gateway, then a clock set back before its newest event.
    const gateway = await startTestGateway({ stateDir: path.join(dir, 'state') });
    await gateway.stop();
    const behind = (await runDoctor(file, {}, { timedatectl: synced, clock: () => Date.parse('2020-01-01T00:00:00Z') })).map(formatCheck);
    expect(behind.find((line) => line.includes(' clock: '))).toMatch(/^fail clock: the clock \(2020-01-01T00:00:00\.000Z\) is behind the newest journalled event \(.*\): wait for NTP or set it/);
    expect(behind.find((line) => line.includes(' database: '))).toMatch(/^ok {3}database: .*guardpost\.db, schema \d+, intact$/);
  });

  it('stops at the config when it is invalid, naming the problem', async () => {
    const dir = tempDir('gp-doctor-bad-');
    const file = path.join(dir, 'guardpost.yaml');
    fs.writeFileSync(file, 'version: 1\nhttp: { port: 99999 }\n');
    const result = await cli('doctor', '--config', file);
    expect(result.code).toBe(1);
    expect(result.out[1]).toBe(`fail config: ${file} has 1 problem: ${file}: http.port: expected integer ≤ 65535, got 99999 (guardpost check-config ${file} lists them)`);
    expect(result.out.at(-1)).toBe('1 ok, 0 warnings, 1 failure');
  });

  it('fails an expired MQTT server certificate and a world-readable key, and checks the TLS port', async () => {
    const dir = tempDir('gp-doctor-tls-');
    const run = (...args: string[]): void => void execFileSync('/usr/bin/openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    run('req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '365', '-subj', '/CN=doctor-ca');
    run('req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=guardpost.local');
    run('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '-1');
    fs.chmodSync(path.join(dir, 'server.key'), 0o644);
    const file = path.join(dir, 'guardpost.yaml');
    fs.writeFileSync(file, `version: 1\ndemo: true\nsiteFile: ${JSON.stringify(demoSiteFile)}\nstateDir: state\nhttp: { port: 0 }\nmqtt:\n  port: 0\n  tls: { port: 0, certFile: server.crt, keyFile: server.key, caFile: ca.crt }\n`);
    const checks = (await runDoctor(file, {}, { timedatectl: synced })).map(formatCheck);
    expect(checks.find((line) => line.includes('mqtt.tls.certFile'))).toMatch(new RegExp(`^fail mqtt\\.tls\\.certFile: ${path.join(dir, 'server.crt').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(CN=guardpost\\.local\\) expired on .*: devices will refuse it; renew it$`));
    expect(checks).toContain(`warn mqtt.tls.keyFile: ${path.join(dir, 'server.key')} is readable by everyone (mode 644): chmod 640 and chgrp guardpost`);
    expect(checks.find((line) => line.includes(' mqtt.tls.caFile: '))).toMatch(/^ok {3}mqtt\.tls\.caFile: .*\(CN=doctor-ca\), valid until \d{4}-\d\d-\d\d$/);
    expect(checks).toContain('ok   mqtts port: any free port (0)');
  });
});
