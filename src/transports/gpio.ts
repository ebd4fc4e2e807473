import fs from 'node:fs';
import path from 'node:path';
import { GuardpostError } from '../errors.js';

/**
 * GPIO behind a small pin interface: the gateway talks to pins by the header's BCM number and
 * physical level; whether "active" means high or low is the binding's business. The real
 * backend is onoff over sysfs; tests use gpioFake.ts; a libgpiod backend could be added later.
 */
export type Level = 0 | 1;

export interface GpioInputPin {
  read(): Level;
  /** Called on every edge with the new physical level. */
  watch(listener: (level: Level) => void): void;
  close(): void;
}

export interface GpioOutputPin {
  write(level: Level): Promise<void>;
  close(): void;
}

export interface GpioBackend {
  input(bcm: number): GpioInputPin;
  output(bcm: number, initial: Level): GpioOutputPin;
}

/** Labels of the chips that carry a Raspberry Pi's 40-pin header, lines numbered as BCM. */
export const HEADER_CHIP_LABELS = ['pinctrl-bcm2711', 'pinctrl-bcm2835', 'pinctrl-rp1', 'pinctrl-bcm2712'] as const;

export interface GpioChip {
  readonly name: string;
  readonly label: string;
  /** sysfs number of line 0: 0 on old kernels, 512 and up on 6.6+. */
  readonly base: number;
  readonly lines: number;
}

export function listGpioChips(sysfsRoot: string): GpioChip[] {
  let entries: string[];
  try {
    entries = fs.readdirSync(sysfsRoot).filter((name) => /^gpiochip\d+$/.test(name));
  } catch (error) {
    throw new GuardpostError('GP_ERR_TRANSPORT', `cannot list GPIO chips in ${sysfsRoot}: ${(error as NodeJS.ErrnoException).code ?? String(error)} (is this a Raspberry Pi with sysfs GPIO enabled?)`);
  }
  const read = (chip: string, file: string): string => fs.readFileSync(path.join(sysfsRoot, chip, file), 'utf8').trim();
  return entries.map((name) => ({ name, label: read(name, 'label'), base: Number(read(name, 'base')), lines: Number(read(name, 'ngpio')) }));
}

/** The sysfs number of header pin `bcm`, or a clear error naming the chip and the pin. */
export function sysfsNumber(chips: readonly GpioChip[], bcm: number, chipLabel?: string): number {
  const wanted: readonly string[] = chipLabel === undefined ? HEADER_CHIP_LABELS : [chipLabel];
  const chip = chips.find((candidate) => wanted.includes(candidate.label));
  const found = chips.map((candidate) => `${candidate.name} "${candidate.label}"`).join(', ') || 'none';
  if (chip === undefined) {
    throw new GuardpostError('GP_ERR_TRANSPORT', `GPIO ${bcm}: no gpiochip labelled ${wanted.map((label) => `"${label}"`).join(' or ')} (found: ${found}); set gpio.chipLabel in the config`);
  }
  if (!Number.isInteger(bcm) || bcm < 0 || bcm >= chip.lines) {
    throw new GuardpostError('GP_ERR_TRANSPORT', `GPIO ${bcm}: ${chip.name} "${chip.label}" has lines 0 to ${chip.lines - 1} only`);
  }
  return chip.base + bcm;
}

/** The real backend: onoff over the sysfs GPIO class, loaded only when a device uses a pin. */
export async function createOnoffBackend(sysfsRoot: string, chipLabel?: string): Promise<GpioBackend> {
  const { Gpio } = await import('onoff');
  const chips = listGpioChips(sysfsRoot);
  const open = (bcm: number, make: (line: number) => InstanceType<typeof Gpio>): InstanceType<typeof Gpio> => {
    const line = sysfsNumber(chips, bcm, chipLabel);
    try {
      return make(line);
    } catch (error) {
      throw new GuardpostError('GP_ERR_TRANSPORT', `GPIO ${bcm} (sysfs ${line}): cannot export: ${(error as Error).message}`);
    }
  };
  return {
    input(bcm) {
      const gpio = open(bcm, (line) => new Gpio(line, 'in', 'both'));
      return {
        read: () => gpio.readSync(),
        watch: (listener) => gpio.watch((error, value) => {
          if (error === null || error === undefined) listener(value);
        }),
        close: () => gpio.unexport(),
      };
    },
    output(bcm, initial) {
      const gpio = open(bcm, (line) => new Gpio(line, initial === 1 ? 'high' : 'low'));
      return { write: (level) => gpio.write(level), close: () => gpio.unexport() };
    },
  };
}
