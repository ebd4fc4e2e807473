import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { GuardpostError } from '../../../src/errors.js';
import { listGpioChips, sysfsNumber } from '../../../src/transports/gpio.js';

/** A sysfs GPIO class directory as the kernel lays it out, in a temp dir. */
function sysfs(chips: { name: string; label: string; base: number; lines: number }[]): string {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-sysfs-'));
  for (const chip of chips) {
    fs.mkdirSync(path.join(root, chip.name));
    fs.writeFileSync(path.join(root, chip.name, 'label'), `${chip.label}\n`);
    fs.writeFileSync(path.join(root, chip.name, 'base'), `${chip.base}\n`);
    fs.writeFileSync(path.join(root, chip.name, 'ngpio'), `${chip.lines}\n`);
  }
  fs.writeFileSync(path.join(root, 'export'), '');
  return root;
}

function thrown(fn: () => unknown): GuardpostError {
  try {
    fn();
  } catch (error) {
    if (error instanceof GuardpostError) return error;
    throw error;
  }
  throw new Error('expected a GuardpostError');
}

describe('finding the header GPIO chip', () => {
  it('maps BCM 17 to sysfs 529 on a Pi 4 with kernel 6.6 (lines numbered from 512)', () => {
    const chips = listGpioChips(sysfs([{ name: 'gpiochip512', label: 'pinctrl-bcm2711', base: 512, lines: 58 }, { name: 'gpiochip570', label: 'raspberrypi-exp-gpio', base: 570, lines: 8 }]));
    expect(sysfsNumber(chips, 17)).toBe(529);
  });

  it('maps BCM 17 to sysfs 17 on an older kernel', () => {
    expect(sysfsNumber(listGpioChips(sysfs([{ name: 'gpiochip0', label: 'pinctrl-bcm2835', base: 0, lines: 54 }])), 17)).toBe(17);
  });

  it('finds the Pi 5 header on the RP1 chip, not the SoC chip listed first', () => {
    const chips = listGpioChips(sysfs([{ name: 'gpiochip512', label: 'gpio-brcmstb@107d508500', base: 512, lines: 32 }, { name: 'gpiochip571', label: 'pinctrl-rp1', base: 571, lines: 54 }]));
    expect(sysfsNumber(chips, 4)).toBe(575);
  });

  it('uses the configured chip label when given one', () => {
    const chips = listGpioChips(sysfs([{ name: 'gpiochip0', label: 'pinctrl-bcm2835', base: 0, lines: 54 }, { name: 'gpiochip100', label: 'mcp23017', base: 100, lines: 16 }]));
    expect(sysfsNumber(chips, 3, 'mcp23017')).toBe(103);
  });

  it('names the chips it found and the setting to change when no header chip is there', () => {
    const chips = listGpioChips(sysfs([{ name: 'gpiochip0', label: 'some-board', base: 0, lines: 32 }]));
    expect(thrown(() => sysfsNumber(chips, 17)).message).toBe(
      'GPIO 17: no gpiochip labelled "pinctrl-bcm2711" or "pinctrl-bcm2835" or "pinctrl-rp1" or "pinctrl-bcm2712" (found: gpiochip0 "some-board"); set gpio.chipLabel in the config',
    );
  });

  it('names the chip and its line range for a pin it does not have', () => {
    const chips = listGpioChips(sysfs([{ name: 'gpiochip0', label: 'pinctrl-bcm2835', base: 0, lines: 54 }]));
    expect(thrown(() => sysfsNumber(chips, 60)).message).toBe('GPIO 60: gpiochip0 "pinctrl-bcm2835" has lines 0 to 53 only');
  });

  it('says what is missing when there is no sysfs GPIO class at all', () => {
    expect(thrown(() => listGpioChips('/nonexistent/gpio')).message).toBe('cannot list GPIO chips in /nonexistent/gpio: ENOENT (is this a Raspberry Pi with sysfs GPIO enabled?)');
  });
});
