import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEVICE_DRIVERS } from '../../../src/config/siteSchema.js';
import { busProtocols, codecs, driverExists, pinDrivers, productCodecs, streamCodecs } from '../../../src/drivers/index.js';
import { encodeRdm6300Frame, Rdm6300Decoder } from '../../../src/drivers/rdm6300.js';
import { WiegandFramer } from '../../../src/drivers/wiegand.js';
import { WiegandLineDecoder } from '../../../src/drivers/wiegandLine.js';
import { AlarmLineDecoder, CardLineDecoder } from '../../../src/drivers/serialLines.js';

describe('the driver registry', () => {
  it('registers a driver for every name site data may use, and site data allows every registered driver', () => {
    for (const name of DEVICE_DRIVERS) expect(driverExists(name), name).toBe(true);
    for (const name of [...codecs.keys(), ...streamCodecs.keys(), ...pinDrivers.keys(), ...busProtocols.keys(), ...productCodecs.keys()]) expect(DEVICE_DRIVERS, name).toContain(name);
  });
});

describe('RDM6300 framing', () => {
  it('decodes a frame to the tag id in decimal', () => {
    expect(new Rdm6300Decoder().push(encodeRdm6300Frame(0x0a, 4718931))).toEqual([{ ok: true, signal: { type: 'card', card: '4718931' } }]);
  });

  it('decodes the datasheet example frame 62 E3 08 6C ED with checksum 08', () => {
    const frame = Buffer.concat([Buffer.from([0x02]), Buffer.from('62E3086CED08', 'latin1'), Buffer.from([0x03])]);
    expect(new Rdm6300Decoder().push(frame)).toEqual([{ ok: true, signal: { type: 'card', card: String(0xe3086ced) } }]);
  });

  it('reassembles a frame that arrives one byte at a time', () => {
    const decoder = new Rdm6300Decoder();
    const results = [...encodeRdm6300Frame(1, 1001)].flatMap((byte) => decoder.push(Uint8Array.of(byte)));
    expect(results).toEqual([{ ok: true, signal: { type: 'card', card: '1001' } }]);
  });

  it('refuses a frame whose checksum does not match, naming the checksum', () => {
    const frame = encodeRdm6300Frame(1, 1001);
    frame[12] = frame[12] === 0x30 ? 0x31 : 0x30;
    expect(new Rdm6300Decoder().push(frame)).toEqual([{ ok: false, error: { code: 'bad_checksum', message: 'RDM6300 frame: checksum does not match' } }]);
  });

  it('reports a frame cut short by a new STX and still decodes the frame that follows', () => {
    const good = encodeRdm6300Frame(1, 1001);
    const results = new Rdm6300Decoder().push(Buffer.concat([good.subarray(0, 6), good]));
    expect(results).toEqual([
      { ok: false, error: { code: 'bad_frame', message: 'RDM6300 frame cut short after 6 bytes' } },
      { ok: true, signal: { type: 'card', card: '1001' } },
    ]);
  });

  it('refuses non-hex digits between STX and ETX', () => {
    const frame = Buffer.concat([Buffer.from([2]), Buffer.from('ZZ00000000ZZ', 'latin1'), Buffer.from([3])]);
    expect(new Rdm6300Decoder().push(frame)[0]).toMatchObject({ ok: false, error: { code: 'bad_frame' } });
  });

  it('never throws on arbitrary bytes and decodes a good frame sent after them (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 64 }), { maxLength: 8 }), fc.integer({ min: 0, max: 0xffffffff }), (chunks, tag) => {
        const decoder = new Rdm6300Decoder();
        for (const chunk of chunks) decoder.push(chunk);
        const results = decoder.push(encodeRdm6300Frame(7, tag));
        expect(results.at(-1)).toEqual({ ok: true, signal: { type: 'card', card: String(tag) } });
      }),
    );
  });
});

describe('Wiegand lines from a serial bridge', () => {
  it('decodes "<count>:<bits>" lines with CR, LF or CRLF endings into raw Wiegand frames', () => {
    const bits26 = '10000000100000000111110011';
    const results = new WiegandLineDecoder().push(Buffer.from(`26:${bits26}\r\n4:1011\n`));
    expect(results).toEqual([
      { ok: true, signal: { type: 'wiegand', bits: bits26 } },
      { ok: true, signal: { type: 'wiegand', bits: '1011' } },
    ]);
  });

  it('refuses a line whose bit count does not match its bits', () => {
    expect(new WiegandLineDecoder().push(Buffer.from('26:101\n'))).toEqual([{ ok: false, error: { code: 'bad_frame', message: 'Wiegand line: announces 26 bits, carries 3' } }]);
  });

  it('refuses an over-long line once and resumes at the next line', () => {
    const decoder = new WiegandLineDecoder();
    const results = decoder.push(Buffer.from(`${'1'.repeat(500)}\n4:0110\n`));
    expect(results).toEqual([
      { ok: false, error: { code: 'too_large', message: 'Wiegand line longer than 136 characters' } },
      { ok: true, signal: { type: 'wiegand', bits: '0110' } },
    ]);
  });

  it('never throws on arbitrary bytes (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }), (chunks) => {
        const decoder = new WiegandLineDecoder();
        for (const chunk of chunks) decoder.push(chunk);
        expect(decoder.push(Buffer.from('\n5:10101\n')).at(-1)).toEqual({ ok: true, signal: { type: 'wiegand', bits: '10101' } });
      }),
    );
  });
});

describe('Wiegand bit framing from DATA0/DATA1 pulses', () => {
  it('collects pulses into one frame of bits, DATA1 as 1 and DATA0 as 0', () => {
    const framer = new WiegandFramer();
    for (const bit of [1, 0, 0, 1, 1, 0] as const) framer.pulse(bit);
    expect(framer.end()).toEqual({ ok: true, signal: { type: 'wiegand', bits: '100110' } });
    expect(framer.end()).toBeUndefined();
  });

  it('treats fewer than four pulses as line noise', () => {
    const framer = new WiegandFramer();
    framer.pulse(1);
    expect(framer.end()).toMatchObject({ ok: false, error: { code: 'bad_frame' } });
  });

  it('refuses a frame longer than 128 bits', () => {
    const framer = new WiegandFramer();
    for (let i = 0; i < 200; i++) framer.pulse(1);
    expect(framer.end()).toMatchObject({ ok: false, error: { code: 'too_large' } });
  });

  it('has a stream codec registered for each serial driver', () => {
    expect([...streamCodecs.keys()]).toEqual(expect.arrayContaining(['rdm6300', 'wiegand-line']));
  });
});

describe('the generic line reader and the serial alarm input', () => {
  it('reads one card per line with the default pattern, and with a pattern whose group is the card', () => {
    expect(new CardLineDecoder().push(Buffer.from('1001\n 2002 \r\n'))).toEqual([
      { ok: true, signal: { type: 'card', card: '1001' } },
      { ok: true, signal: { type: 'card', card: '2002' } },
    ]);
    expect(new CardLineDecoder('^CARD:([0-9]+);').push(Buffer.from('CARD:1001;\nPIN:1234\n'))).toEqual([
      { ok: true, signal: { type: 'card', card: '1001' } },
      { ok: false, error: { code: 'bad_frame', message: 'line does not match the reader\'s pattern' } },
    ]);
  });

  it('maps alarm keywords to a panic press, release and tamper', () => {
    expect(new AlarmLineDecoder().push(Buffer.from('ALARM\nNORMAL\nTAMPER RESTORE\n')).map((result) => result.ok && result.signal)).toEqual([
      { type: 'button', state: 'pressed' },
      { type: 'button', state: 'released' },
      { type: 'tamper', state: 'normal' },
    ]);
  });

  it('never throws on arbitrary bytes (fuzz)', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 6 }), (chunks) => {
        const cards = new CardLineDecoder();
        const alarms = new AlarmLineDecoder();
        for (const chunk of chunks) {
          cards.push(chunk);
          alarms.push(chunk);
        }
        expect(cards.push(Buffer.from('\n42\n')).at(-1)).toEqual({ ok: true, signal: { type: 'card', card: '42' } });
        expect(alarms.push(Buffer.from('\nPANIC\n')).at(-1)).toEqual({ ok: true, signal: { type: 'button', state: 'pressed' } });
      }),
    );
  });
});
