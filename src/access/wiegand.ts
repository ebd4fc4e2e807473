/**
 * Wiegand credential formats: which bits hold the facility code and the card number, and which
 * parity bits guard them [ACC-WIEGAND]. Bit positions count from 0 at the first bit received.
 */

export interface ParityBit {
  /** Position of the parity bit itself. */
  readonly bit: number;
  /** `even`: the parity bit plus the covered bits hold an even number of ones. */
  readonly kind: 'even' | 'odd';
  /** Positions the parity covers (not including `bit`). */
  readonly over: readonly number[];
}

export interface WiegandFormat {
  readonly id: string;
  readonly bits: number;
  /** Facility (site/company) code field; null when the format has none. */
  readonly facility: { readonly start: number; readonly length: number } | null;
  readonly card: { readonly start: number; readonly length: number };
  readonly parity: readonly ParityBit[];
}

const range = (from: number, to: number): number[] => Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** HID Corporate 1000 35-bit: its parity bits cover two of every three bits. */
const c1000Even = range(2, 33).filter((position) => position % 3 !== 1);
const c1000Odd = range(1, 32).filter((position) => position % 3 !== 0);

export const BUILT_IN_WIEGAND_FORMATS: readonly WiegandFormat[] = [
  // H10301: E | 8-bit facility | 16-bit number | O
  { id: 'h10301', bits: 26, facility: { start: 1, length: 8 }, card: { start: 9, length: 16 }, parity: [{ bit: 0, kind: 'even', over: range(1, 12) }, { bit: 25, kind: 'odd', over: range(13, 24) }] },
  // H10304: E | 16-bit facility | 19-bit number | O
  { id: 'h10304', bits: 37, facility: { start: 1, length: 16 }, card: { start: 17, length: 19 }, parity: [{ bit: 0, kind: 'even', over: range(1, 18) }, { bit: 36, kind: 'odd', over: range(18, 35) }] },
  // Corporate 1000 35-bit: O (all) | E | 12-bit company | 20-bit number | O
  {
    id: 'c1000-35',
    bits: 35,
    facility: { start: 2, length: 12 },
    card: { start: 14, length: 20 },
    parity: [{ bit: 1, kind: 'even', over: c1000Even }, { bit: 34, kind: 'odd', over: c1000Odd }, { bit: 0, kind: 'odd', over: range(1, 34) }],
  },
];

export type WiegandDecode =
  | { readonly ok: true; readonly format: string; readonly facility: number; readonly number: number }
  | { readonly ok: false; readonly code: 'bad_bits' | 'unknown_format' | 'bad_parity'; readonly message: string };

/** The index key of a Wiegand credential, as site data stores it. */
export function wiegandKey(format: string, facility: number, number: number): string {
  return `${format}:${facility}:${number}`;
}

function field(bits: string, start: number, length: number): number {
  let value = 0;
  for (let i = start; i < start + length; i++) value = value * 2 + (bits.charCodeAt(i) - 48);
  return value;
}

/**
 * Decodes a frame with the first format of its length (site formats before built-in ones) and
 * checks every parity bit: a misread must never become somebody else's card.
 */
export function decodeWiegand(bits: string, formats: readonly WiegandFormat[]): WiegandDecode {
  if (!/^[01]{1,128}$/.test(bits)) return { ok: false, code: 'bad_bits', message: 'a Wiegand frame is 1 to 128 characters of 0 and 1' };
  const format = formats.find((candidate) => candidate.bits === bits.length);
  if (format === undefined) return { ok: false, code: 'unknown_format', message: `no Wiegand format of ${bits.length} bits is configured at this site` };
  for (const parity of format.parity) {
    let ones = bits.charCodeAt(parity.bit) - 48;
    for (const position of parity.over) ones += bits.charCodeAt(position) - 48;
    if ((ones % 2 === 0) !== (parity.kind === 'even')) return { ok: false, code: 'bad_parity', message: `${format.id}: ${parity.kind} parity bit ${parity.bit} does not match` };
  }
  return { ok: true, format: format.id, facility: format.facility === null ? 0 : field(bits, format.facility.start, format.facility.length), number: field(bits, format.card.start, format.card.length) };
}

/** Builds a frame in a format (for tests, the simulator and readers that need encoding). */
export function encodeWiegand(format: WiegandFormat, facility: number, number: number): string {
  const bits = new Array<number>(format.bits).fill(0);
  const put = (value: number, start: number, length: number): void => {
    for (let i = length - 1; i >= 0; i--) {
      bits[start + i] = value % 2;
      value = Math.floor(value / 2);
    }
  };
  if (format.facility !== null) put(facility, format.facility.start, format.facility.length);
  put(number, format.card.start, format.card.length);
  // In order: a later parity bit (e.g. Corporate 1000's overall bit 0) may cover an earlier one.
  for (const parity of format.parity) {
    const ones = parity.over.reduce((sum, position) => sum + (bits[position] ?? 0), 0);
    bits[parity.bit] = parity.kind === 'even' ? ones % 2 : 1 - (ones % 2);
  }
  return bits.join('');
}
