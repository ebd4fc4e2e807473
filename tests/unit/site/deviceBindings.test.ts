import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../../src/logger.js';
import { DeviceBindings, type DeviceReport } from '../../../src/site/deviceBindings.js';
import type { DeviceRecord } from '../../../src/store/index.js';
import { FakeGpio } from '../../../src/transports/gpioFake.js';

const device = (record: Partial<DeviceRecord> & Pick<DeviceRecord, 'id' | 'kind' | 'driver'>): DeviceRecord => ({ name: null, location: null, passwordHash: null, ...record });

describe('GPIO bindings (fake pins, fake timers)', () => {
  let gpio: FakeGpio;
  let reports: { device: string; report: DeviceReport }[];
  let bindings: DeviceBindings;

  async function bind(devices: DeviceRecord[]): Promise<void> {
    bindings = new DeviceBindings({
      devices: () => devices,
      buses: [],
      gpio: async () => gpio,
      report: (dev, report) => reports.push({ device: dev.id, report }),
      logger: createLogger('silent'),
      clock: Date.now,
    });
    await bindings.start();
  }
  const signals = (id: string) => reports.filter((r) => r.device === id && r.report.kind === 'signal').map((r) => (r.report as { signal: unknown }).signal);

  beforeEach(() => {
    vi.useFakeTimers();
    gpio = new FakeGpio();
    reports = [];
  });
  afterEach(async () => {
    await bindings.stop();
    vi.useRealTimers();
  });

  it('reports one press for a bouncing button, only once the level has held for debounceMs', async () => {
    await bind([device({ id: 'panic', kind: 'panic-button', driver: 'gpio-input', binding: { pin: 4, activeLow: true, debounceMs: 20 } })]);
    for (const level of [0, 1, 0, 1, 0] as const) {
      gpio.drive(4, level);
      vi.advanceTimersByTime(3);
    }
    expect(signals('panic')).toEqual([]);
    vi.advanceTimersByTime(20);
    expect(signals('panic')).toEqual([{ type: 'button', state: 'pressed' }]);
    gpio.drive(4, 1);
    vi.advanceTimersByTime(5);
    gpio.drive(4, 0); // a bounce back before the release held: no change at all
    vi.advanceTimersByTime(25);
    expect(signals('panic')).toEqual([{ type: 'button', state: 'pressed' }]);
    gpio.drive(4, 1);
    vi.advanceTimersByTime(25);
    expect(signals('panic')).toEqual([{ type: 'button', state: 'pressed' }, { type: 'button', state: 'released' }]);
  });

  it('reports a door contact state at start and each change, active-high by default', async () => {
    gpio.drive(5, 1);
    await bind([device({ id: 'contact', kind: 'door-contact', driver: 'gpio-input', binding: { pin: 5, debounceMs: 0 } })]);
    gpio.drive(5, 0);
    vi.advanceTimersByTime(1);
    expect(signals('contact')).toEqual([{ type: 'contact', state: 'closed' }, { type: 'contact', state: 'open' }]);
  });

  it('raises a panic held down through a restart as a press at start', async () => {
    gpio.drive(6, 0);
    await bind([device({ id: 'panic', kind: 'panic-button', driver: 'gpio-input', binding: { pin: 6, activeLow: true } })]);
    expect(signals('panic')).toEqual([{ type: 'button', state: 'pressed' }]);
  });

  it('frames Wiegand pulses on DATA0/DATA1 into one raw frame after the inter-frame gap', async () => {
    await bind([device({ id: 'wiegand', kind: 'reader', driver: 'gpio-wiegand', binding: { wiegandPins: { data0: 20, data1: 21 } } })]);
    const bits = '10000000100000000111110011';
    for (const bit of bits) {
      const pin = bit === '1' ? 21 : 20;
      gpio.drive(pin, 0);
      gpio.drive(pin, 1);
      vi.advanceTimersByTime(2);
    }
    expect(signals('wiegand')).toEqual([]);
    vi.advanceTimersByTime(25);
    expect(signals('wiegand')).toEqual([{ type: 'wiegand', bits }]);
  });

  it('reports two noise pulses as bad input, not a credential', async () => {
    await bind([device({ id: 'wiegand', kind: 'reader', driver: 'gpio-wiegand', binding: { wiegandPins: { data0: 20, data1: 21 } } })]);
    gpio.drive(20, 0);
    gpio.drive(20, 1);
    vi.advanceTimersByTime(30);
    expect(reports.filter((r) => r.report.kind === 'bad_input').map((r) => r.report)).toEqual([
      { kind: 'bad_input', code: 'bad_frame', message: 'Wiegand frame of 1 bits is line noise (fewer than 4)', bytes: 0 },
    ]);
  });

  it('extends a strike pulse when a second grant arrives during the first', async () => {
    await bind([device({ id: 'strike', kind: 'strike', driver: 'gpio-relay', binding: { pin: 12 } })]);
    bindings.command(device({ id: 'strike', kind: 'strike', driver: 'gpio-relay' }), { type: 'strike', action: 'pulse', durationMs: 1000 });
    await vi.advanceTimersByTimeAsync(600);
    bindings.command(device({ id: 'strike', kind: 'strike', driver: 'gpio-relay' }), { type: 'strike', action: 'pulse', durationMs: 1000 });
    await vi.advanceTimersByTimeAsync(600);
    expect(gpio.written(12)).toEqual([0, 1, 1]);
    await vi.advanceTimersByTimeAsync(500);
    expect(gpio.written(12)).toEqual([0, 1, 1, 0]);
  });

  it('refuses a strike command to a device with no strike output, and lets an LED command to a relay pass as nothing to send', async () => {
    await bind([device({ id: 'panic', kind: 'panic-button', driver: 'gpio-input', binding: { pin: 7 } }), device({ id: 'strike', kind: 'strike', driver: 'gpio-relay', binding: { pin: 8 } })]);
    const results: (Error | undefined)[] = [];
    bindings.command(device({ id: 'panic', kind: 'panic-button', driver: 'gpio-input' }), { type: 'strike', action: 'pulse', durationMs: 100 }, (error) => results.push(error));
    bindings.command(device({ id: 'strike', kind: 'strike', driver: 'gpio-relay' }), { type: 'led', color: 'green', durationMs: 100 }, (error) => results.push(error));
    expect(results.map((error) => error?.message)).toEqual(['device "panic" (gpio-input) has no strike output', undefined]);
  });

  it('fails to start with the device and pin named when a pin is taken', async () => {
    gpio.input(9);
    await expect(bind([device({ id: 'panic', kind: 'panic-button', driver: 'gpio-input', binding: { pin: 9 } })])).rejects.toThrow('device "panic" (gpio-input): GPIO 9 is already in use');
    bindings = new DeviceBindings({ devices: () => [], buses: [], gpio: async () => gpio, report: () => undefined, logger: createLogger('silent'), clock: Date.now });
  });
});
