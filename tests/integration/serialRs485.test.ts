import { describe, expect, it } from 'vitest';
import { encodeRdm6300Frame } from '../../src/drivers/rdm6300.js';
import { setKernelRs485 } from '../../src/transports/serial.js';
import { connectDevice, startTestGateway, tempDir } from '../support/gateway.js';
import { nextJournalEvent } from '../support/journal.js';
import { DeviceEnd, SocatPair } from '../support/socat.js';

const SITE = `
site: { id: rs485-site, name: RS-485 floor, timezone: Europe/London }
devices:
  - { id: dock-reader, kind: reader, driver: rdm6300, bus: dock-bus }
  - { id: dock-strike, kind: strike }
doors:
  - { id: dock, name: Loading dock, reader: dock-reader, strike: dock-strike, unlockMs: 3000 }
groups:
  - { id: staff, name: Staff, doors: [dock] }
cardholders:
  - { id: kim-kent, name: Kim Kent, groups: [staff], credentials: [{ card: "4718931" }] }
`;

const busConfig = (path: string, extra: string): string =>
  `demo: true\nserial:\n  buses:\n    - { id: dock-bus, path: ${JSON.stringify(path)}, rs485: true, reopenMinMs: 50, reopenMaxMs: 200${extra} }\n`;

describe('RS-485 half duplex on a serial bus (kernel TIOCSRS485, tried on real pseudo-terminals)', () => {
  it('reports why a port refuses RS-485 mode: a pseudo-terminal has no such ioctl, a missing port cannot be opened', async () => {
    const dir = tempDir('gp-rs485-');
    const pair = new SocatPair(dir);
    await pair.start();
    try {
      expect(await setKernelRs485(pair.gatewayPath)).toBe('TIOCSRS485: Inappropriate ioctl for device');
      expect(await setKernelRs485(`${dir}/no-such-port`)).toBe('cannot open: No such file or directory');
    } finally {
      await pair.stop();
    }
  });

  it('keeps a bus that must be RS-485 out of use when the port refuses, with the reader offline and the reason journalled', async () => {
    const dir = tempDir('gp-rs485-');
    const pair = new SocatPair(dir);
    await pair.start();
    const gw = await startTestGateway({ stateDir: dir, siteYaml: SITE, configYaml: busConfig(pair.gatewayPath, '') });
    try {
      const offline = await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.offline' && e.device === 'dock-reader');
      expect(offline.data.detail).toBe('the port refused RS-485 mode (TIOCSRS485: Inappropriate ioctl for device)');
      expect(gw.logs.join('')).toContain('serial bus not used: RS-485 mode is required (set rs485Required: false for an adapter that switches direction itself)');
      expect(gw.gateway.runtime.deviceAvailability('dock-reader')).toBe('offline');
    } finally {
      await gw.stop();
      await pair.stop();
    }
  });

  it('runs the bus in plain mode when configured to tolerate the refusal, and opens the door', async () => {
    const dir = tempDir('gp-rs485-');
    const pair = new SocatPair(dir);
    await pair.start();
    const gw = await startTestGateway({ stateDir: dir, siteYaml: SITE, configYaml: busConfig(pair.gatewayPath, ', rs485Required: false') });
    const strike = await connectDevice(gw.mqttUrl, 'dock-strike');
    const reader = await DeviceEnd.open(pair.devicePath);
    try {
      await nextJournalEvent(gw.gateway.journal, (e) => e.type === 'device.online' && e.device === 'dock-reader');
      expect(gw.logs.join('')).toContain('serial bus in plain mode: the adapter must switch the RS-485 direction itself');
      expect(gw.logs.join('')).toContain('the port refused RS-485 mode (TIOCSRS485: Inappropriate ioctl for device)');
      const mark = strike.mark();
      await reader.write(encodeRdm6300Frame(0x0a, 4718931));
      const pulse = await strike.next((message) => message.json.type === 'strike', mark);
      expect(pulse.json).toEqual({ type: 'strike', action: 'pulse', durationMs: 3000 });
    } finally {
      await strike.end();
      await reader.close();
      await gw.stop();
      await pair.stop();
    }
  });
});
