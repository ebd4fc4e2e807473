import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { OsdpAcu, OSDP_OFFLINE_AFTER_MS, OSDP_REPLY_TIMEOUT_MS, type OsdpSecureOptions } from '../../../src/drivers/osdp/acu.js';
import { checksum8, crc16, encodePacket, OsdpFrameDecoder } from '../../../src/drivers/osdp/frame.js';
import { Command, encodeFeedback } from '../../../src/drivers/osdp/messages.js';
import type { DeviceSignal } from '../../../src/drivers/types.js';
import { SCBK_D } from '../../../src/drivers/osdp/secure.js';
import { SimulatedPd } from '../../support/osdpPd.js';

const hex = (bytes: Uint8Array): string => Buffer.from(bytes).toString('hex').toUpperCase().match(/../g)!.join('-');

describe('OSDP framing', () => {
  it('computes CRC-16/AUG-CCITT (check value of "123456789" is 0xE5CC)', () => {
    expect(crc16(Buffer.from('123456789'))).toBe(0xe5cc);
  });

  it('builds osdp_POLL to address 0 with a CRC as the spec example: 53-00-08-00-04-60-EB-AA', () => {
    expect(hex(encodePacket({ address: 0, reply: false, sequence: 0, useCrc: true, code: 0x60, data: new Uint8Array(0) }))).toBe('53-00-08-00-04-60-EB-AA');
  });

  it('builds osdp_POLL with the 8-bit checksum as the spec example: 53-00-07-00-00-60-46', () => {
    expect(hex(encodePacket({ address: 0, reply: false, sequence: 0, useCrc: false, code: 0x60, data: new Uint8Array(0) }))).toBe('53-00-07-00-00-60-46');
    expect(checksum8(Uint8Array.of(0x53, 0, 7, 0, 0, 0x60))).toBe(0x46);
  });

  it('decodes an osdp_RAW reply from address 0 with 75 bits of card data', () => {
    const body = Uint8Array.of(0, 0, 0x4b, 0, 0x09, 0xa4, 0x49, 0x4a, 0xa3, 0x27, 0x4c, 0xd5, 0x2b, 0xc0);
    const bytes = encodePacket({ address: 0, reply: true, sequence: 3, useCrc: true, code: 0x50, data: body });
    expect(hex(bytes.subarray(0, 6))).toBe('53-80-16-00-07-50');
    const [result] = new OsdpFrameDecoder().push(bytes);
    expect(result).toMatchObject({ ok: true, packet: { address: 0, reply: true, sequence: 3, useCrc: true, code: 0x50, securityBlock: null } });
  });

  it('refuses a packet with a bad CRC and finds the good packet right after it', () => {
    const good = encodePacket({ address: 1, reply: true, sequence: 1, useCrc: true, code: 0x40, data: new Uint8Array(0) });
    const broken = Buffer.from(good);
    broken[broken.length - 1]! ^= 0x01;
    const results = new OsdpFrameDecoder().push(Buffer.concat([broken, good]));
    // The rest of the broken packet is reported once as stray bytes; then the good one decodes.
    expect(results.map((result) => (result.ok ? 'packet' : result.code))).toEqual(['bad_checksum', 'bad_frame', 'packet']);
  });

  it('reports garbage bytes between packets and keeps decoding (fuzz: arbitrary bytes never throw)', () => {
    const good = encodePacket({ address: 5, reply: true, sequence: 2, useCrc: true, code: 0x40, data: new Uint8Array(0) });
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 80 }), { maxLength: 6 }), (chunks) => {
        const decoder = new OsdpFrameDecoder();
        for (const chunk of chunks) decoder.push(chunk);
        // A partial packet may still be waiting for its length: a long enough gap of non-SOM bytes flushes it.
        decoder.push(new Uint8Array(1500));
        const results = decoder.push(good);
        expect(results.at(-1)).toMatchObject({ ok: true, packet: { address: 5, code: 0x40 } });
      }),
      { numRuns: 200 },
    );
  });

  it('encodes a green LED for 5 s and a deny beep pattern as osdp_LED and osdp_BUZ', () => {
    expect(encodeFeedback({ type: 'led', color: 'green', durationMs: 5000 })).toEqual({ code: Command.LED, data: Uint8Array.of(0, 0, 2, 1, 0, 2, 2, 50, 0, 0, 0, 0, 0, 0) });
    expect(encodeFeedback({ type: 'buzzer', pattern: 'deny' })).toEqual({ code: Command.BUZ, data: Uint8Array.of(0, 2, 1, 1, 3) });
    expect(encodeFeedback({ type: 'strike', action: 'pulse', durationMs: 100 })).toBeNull();
  });
});

describe('the OSDP control panel (ACU) polling simulated readers', () => {
  let pds: SimulatedPd[];
  let acu: OsdpAcu;
  let events: string[];
  let signals: { address: number; signal: DeviceSignal }[];
  let wire: Buffer[];

  function setup(addresses: number[], secure?: ReadonlyMap<number, OsdpSecureOptions>): void {
    events = [];
    signals = [];
    wire = [];
    pds = addresses.map((address) => new SimulatedPd(address, (bytes) => queueMicrotask(() => acu.receive(bytes))));
    acu = new OsdpAcu({
      addresses,
      secure,
      clock: Date.now, // faked by vi.useFakeTimers
      pollCycleMs: 50,
      write: (bytes, done) => {
        wire.push(Buffer.from(bytes));
        for (const pd of pds) pd.hear(bytes);
        done();
      },
      events: {
        signal: (address, signal) => signals.push({ address, signal }),
        badInput: (address, code, message) => events.push(`bad ${address} ${code}: ${message}`),
        online: (address, identity) => events.push(`online ${address} ${identity?.vendor} ${identity?.firmware}`),
        offline: (address, reason) => events.push(`offline ${address}: ${reason}`),
        keyInstalled: (address, alreadyHeld) => events.push(`key installed ${address}${alreadyHeld ? ' (already held)' : ''}`),
      },
    });
  }

  beforeEach(() => vi.useFakeTimers());
  afterEach(() => {
    acu.stop('test over');
    vi.useRealTimers();
  });

  it('asks each reader for ID and CAP, reports it online with its identity, then polls with sequence 1, 2, 3, 1', async () => {
    setup([0, 1]);
    acu.start();
    await vi.advanceTimersByTimeAsync(400);
    expect(events).toEqual(['online 0 0a0b0c 1.2.3', 'online 1 0a0b0c 1.2.3']);
    const sent = pds[0]!.received.map((packet) => [packet.code, packet.sequence]);
    expect(sent.slice(0, 6)).toEqual([[Command.ID, 0], [Command.CAP, 1], [Command.POLL, 2], [Command.POLL, 3], [Command.POLL, 1], [Command.POLL, 2]]);
  });

  it('turns formatted card data, raw bits, keypad PINs and tamper status into signals', async () => {
    setup([3]);
    acu.start();
    await vi.advanceTimersByTimeAsync(200);
    pds[0]!.presentCardFormatted('1001');
    pds[0]!.presentCardRaw('10000000100000000111110011');
    pds[0]!.pressKeys('12');
    pds[0]!.pressKeys('34#');
    pds[0]!.tamper(true);
    await vi.advanceTimersByTimeAsync(500);
    expect(signals.map((entry) => entry.signal)).toEqual([
      { type: 'card', card: '1001' },
      { type: 'wiegand', bits: '10000000100000000111110011' },
      { type: 'pin', pin: '1234' },
      { type: 'tamper', state: 'tampered' },
    ]);
  });

  it('sends LED and buzzer feedback in the reader\'s turn and reports it on the wire', async () => {
    setup([0]);
    acu.start();
    await vi.advanceTimersByTimeAsync(200);
    const sent: (Error | undefined)[] = [];
    acu.command(0, { type: 'led', color: 'red', durationMs: 2000 }, (error) => sent.push(error));
    acu.command(0, { type: 'buzzer', pattern: 'deny' }, (error) => sent.push(error));
    const led = pds[0]!.nextCommand((packet) => packet.code === Command.LED);
    const buz = pds[0]!.nextCommand((packet) => packet.code === Command.BUZ);
    await vi.advanceTimersByTimeAsync(200);
    expect((await led).data[5]).toBe(1); // red
    expect((await buz).data).toEqual(Uint8Array.of(0, 2, 1, 1, 3));
    expect(sent).toEqual([undefined, undefined]);
  });

  it('reports a reader offline after 8 s of silence, retrying with the same sequence number, and online again when it answers', async () => {
    setup([0]);
    acu.start();
    await vi.advanceTimersByTimeAsync(200);
    pds[0]!.answering = false;
    const before = wire.length;
    await vi.advanceTimersByTimeAsync(OSDP_OFFLINE_AFTER_MS - OSDP_REPLY_TIMEOUT_MS);
    expect(events).not.toContain('offline 0: no reply for 8000 ms');
    await vi.advanceTimersByTimeAsync(2 * OSDP_REPLY_TIMEOUT_MS);
    expect(events.at(-1)).toBe('offline 0: no reply for 8000 ms');
    const retries = wire.slice(before, before + 3).map((bytes) => bytes[4]! & 3);
    expect(new Set(retries).size).toBe(1);
    pds[0]!.answering = true;
    await vi.advanceTimersByTimeAsync(2 * OSDP_REPLY_TIMEOUT_MS);
    expect(events.at(-1)).toBe('online 0 0a0b0c 1.2.3');
    // A new conversation after going offline starts again from sequence 0 with ID.
    expect(pds[0]!.received.find((packet, index) => index > 0 && packet.code === Command.ID)).toMatchObject({ sequence: 0 });
  });

  it('counts a reply with a bad CRC as bad input and keeps polling', async () => {
    setup([0]);
    acu.start();
    await vi.advanceTimersByTimeAsync(200);
    pds[0]!.corruptNextReply = true;
    pds[0]!.presentCardFormatted('1002');
    await vi.advanceTimersByTimeAsync(1000);
    expect(events).toContain('bad 0 bad_checksum: OSDP packet fails its CRC');
    // The card reply that was lost is not re-sent by this PD; the bus carries on and the next card arrives.
    pds[0]!.presentCardFormatted('1003');
    await vi.advanceTimersByTimeAsync(200);
    expect(signals.map((entry) => entry.signal)).toContainEqual({ type: 'card', card: '1003' });
  });

  const KEY = Buffer.from('00112233445566778899aabbccddeeff', 'hex');
  const secureAt0 = (mode: OsdpSecureOptions['mode'], scbk?: Buffer) => new Map([[0, { mode, ...(scbk === undefined ? {} : { scbk }) }]]);

  it('sets up Secure Channel with the install-mode key, then MACs every poll and encrypts feedback', async () => {
    setup([0], secureAt0('enforce'));
    pds[0]!.scbk = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex');
    acu.start();
    await vi.advanceTimersByTimeAsync(400);
    expect(events).toEqual(['online 0 0a0b0c 1.2.3']);
    const led = pds[0]!.nextCommand((packet) => packet.code === Command.LED);
    acu.command(0, { type: 'led', color: 'green', durationMs: 1000 });
    pds[0]!.presentCardFormatted('1001');
    await vi.advanceTimersByTimeAsync(200);
    // The PD only records commands whose MAC verified; the LED data arrived encrypted and decrypted whole.
    expect((await led).securityBlock).toEqual(Uint8Array.of(0x17));
    expect((await led).data).toEqual(encodeFeedback({ type: 'led', color: 'green', durationMs: 1000 })!.data);
    const polls = pds[0]!.received.filter((packet) => packet.code === Command.POLL);
    expect(polls.length).toBeGreaterThan(0);
    expect(polls.every((packet) => packet.securityBlock?.[0] === 0x15)).toBe(true);
    expect(signals.map((entry) => entry.signal)).toEqual([{ type: 'card', card: '1001' }]);
    // No packet on the wire after the handshake carries the card number in clear.
    expect(Buffer.concat(wire).includes(Buffer.from('1001'))).toBe(false);
  });

  it('uses a reader\'s own key, and refuses a reader holding another key as tamper under enforceSecure', async () => {
    setup([0], secureAt0('enforce', KEY));
    pds[0]!.scbk = KEY;
    acu.start();
    await vi.advanceTimersByTimeAsync(400);
    expect(events).toEqual(['online 0 0a0b0c 1.2.3']);
    acu.stop('next reader');

    setup([0], secureAt0('enforce', KEY));
    pds[0]!.scbk = Buffer.alloc(16, 7);
    acu.start();
    await vi.advanceTimersByTimeAsync(400);
    expect(events).not.toContain('online 0 0a0b0c 1.2.3');
    expect(events).toContain('bad 0 bad_mac: OSDP reader\'s cryptogram does not match its key (wrong SCBK?)');
    expect(signals.map((entry) => entry.signal)).toEqual([{ type: 'tamper', state: 'tampered' }]);
  });

  it('keeps a reader without Secure Channel offline under enforceSecure, and takes it in plain text when Secure Channel is only preferred', async () => {
    setup([0], secureAt0('enforce'));
    acu.start();
    await vi.advanceTimersByTimeAsync(400);
    expect(events.filter((event) => event.startsWith('online'))).toEqual([]);
    expect(events).toContain('bad 0 bad_frame: OSDP reader refused Secure Channel; enforceSecure keeps it offline');
    expect(signals.map((entry) => entry.signal)).toEqual([{ type: 'tamper', state: 'tampered' }]);
    pds[0]!.presentCardFormatted('1001');
    await vi.advanceTimersByTimeAsync(400);
    expect(signals.filter((entry) => entry.signal.type === 'card')).toEqual([]);
    acu.stop('next mode');

    setup([0], secureAt0('on'));
    acu.start();
    await vi.advanceTimersByTimeAsync(400);
    expect(events).toEqual(['online 0 0a0b0c 1.2.3']);
  });

  it('refuses a downgrade to plain text on a secure channel, raises tamper, and restores the channel', async () => {
    setup([0], secureAt0('on', KEY));
    pds[0]!.scbk = KEY;
    acu.start();
    await vi.advanceTimersByTimeAsync(400);
    pds[0]!.downgrade = true;
    pds[0]!.presentCardFormatted('1001');
    await vi.advanceTimersByTimeAsync(100);
    expect(events).toContain('bad 0 bad_frame: plain-text reply on a Secure Channel (downgrade refused)');
    expect(signals.map((entry) => entry.signal)).toEqual([{ type: 'tamper', state: 'tampered' }]);
    pds[0]!.downgrade = false;
    pds[0]!.presentCardFormatted('2002');
    await vi.advanceTimersByTimeAsync(400);
    expect(signals.map((entry) => entry.signal)).toContainEqual({ type: 'card', card: '2002' });
    expect(signals).not.toContainEqual({ address: 0, signal: { type: 'card', card: '1001' } });
  });

  it('gives a factory-fresh reader its own key in install mode, then talks to it with that key only', async () => {
    setup([0], new Map([[0, { mode: 'enforce' as const, scbk: KEY, install: true }]]));
    pds[0]!.scbk = Buffer.from('303132333435363738393a3b3c3d3e3f', 'hex'); // SCBK-D, as shipped
    acu.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(pds[0]!.scbk).toEqual(KEY);
    expect(events).toEqual(['key installed 0', 'online 0 0a0b0c 1.2.3']);
    // The handshake that brought it online used its own key (key flag 1 in the challenge).
    const challenges = pds[0]!.received.filter((packet) => packet.code === Command.CHLNG);
    expect(challenges.at(-1)!.securityBlock).toEqual(Uint8Array.of(0x11, 1));
    pds[0]!.presentCardFormatted('1001');
    await vi.advanceTimersByTimeAsync(200);
    expect(signals.map((entry) => entry.signal)).toEqual([{ type: 'card', card: '1001' }]);
  });

  it('ends install mode once the reader is back on its own key, and refuses it with tamper if it later falls back to SCBK-D [OSDP-SC]', async () => {
    setup([0], new Map([[0, { mode: 'on' as const, scbk: KEY, install: true }]]));
    pds[0]!.scbk = Buffer.from(SCBK_D);
    acu.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(events).toEqual(['key installed 0', 'online 0 0a0b0c 1.2.3']);
    // The reader is reset to factory defaults (or swapped for a fresh one): it answers to SCBK-D again.
    pds[0]!.scbk = Buffer.from(SCBK_D);
    pds[0]!.corruptNextMac = true; // forces a new handshake
    await vi.advanceTimersByTimeAsync(1000);
    expect(events).toContain('bad 0 bad_mac: OSDP reader answers only to the factory install key SCBK-D (reset or replaced?); refused');
    expect(events.filter((event) => event === 'key installed 0')).toHaveLength(1);
    expect(signals.map((entry) => entry.signal)).toEqual([{ type: 'tamper', state: 'tampered' }]);
    expect(pds[0]!.received.filter((packet) => packet.code === Command.KEYSET)).toHaveLength(1);
    pds[0]!.presentCardFormatted('1001');
    await vi.advanceTimersByTimeAsync(400);
    expect(signals.map((entry) => entry.signal)).not.toContainEqual({ type: 'card', card: '1001' });
  });

  it('ends install mode at once for a reader that already holds its own key, sending no KEYSET', async () => {
    setup([0], new Map([[0, { mode: 'enforce' as const, scbk: KEY, install: true }]]));
    pds[0]!.scbk = KEY;
    acu.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(events).toEqual(['key installed 0 (already held)', 'online 0 0a0b0c 1.2.3']);
    expect(pds[0]!.received.filter((packet) => packet.code === Command.KEYSET)).toEqual([]);
  });

  it('raises tamper for a keyed reader that offers SCBK-D even without enforce, and never takes it in plain text', async () => {
    setup([0], secureAt0('on', KEY));
    pds[0]!.scbk = Buffer.from(SCBK_D);
    acu.start();
    await vi.advanceTimersByTimeAsync(1000);
    expect(signals.map((entry) => entry.signal)).toEqual([{ type: 'tamper', state: 'tampered' }]);
    expect(events.filter((event) => event.startsWith('online'))).toEqual([]);
  });

  it('survives arbitrary bytes on the bus between replies and still delivers the next card (fuzz)', async () => {
    const samples = fc.sample(fc.uint8Array({ minLength: 1, maxLength: 300 }), { numRuns: 40, seed: 7 });
    setup([0], secureAt0('on', KEY));
    pds[0]!.scbk = KEY;
    acu.start();
    await vi.advanceTimersByTimeAsync(400);
    for (const garbage of samples) {
      acu.receive(garbage);
      await vi.advanceTimersByTimeAsync(OSDP_REPLY_TIMEOUT_MS + 50);
    }
    pds[0]!.presentCardFormatted('3003');
    await vi.advanceTimersByTimeAsync(1000);
    expect(signals.map((entry) => entry.signal)).toContainEqual({ type: 'card', card: '3003' });
    expect(events.filter((event) => event.startsWith('offline'))).toEqual([]);
  });

  it('refuses a reply with a bad MAC and carries on after a new handshake', async () => {
    setup([0], secureAt0('enforce', KEY));
    pds[0]!.scbk = KEY;
    acu.start();
    await vi.advanceTimersByTimeAsync(400);
    pds[0]!.corruptNextMac = true;
    pds[0]!.presentCardFormatted('1001');
    await vi.advanceTimersByTimeAsync(100);
    expect(events).toContain('bad 0 bad_mac: OSDP reply MAC does not verify; Secure Channel restarted');
    expect(signals).toEqual([]);
    pds[0]!.presentCardFormatted('2002');
    await vi.advanceTimersByTimeAsync(400);
    expect(signals.map((entry) => entry.signal)).toEqual([{ type: 'card', card: '2002' }]);
  });

  it('does not trust a reply that carries a security block while Secure Channel is off', async () => {
    setup([0]);
    acu.start();
    await vi.advanceTimersByTimeAsync(200);
    pds[0]!.answering = false;
    const polled = pds[0]!.nextCommand((packet) => packet.code === Command.POLL);
    await vi.advanceTimersByTimeAsync(60);
    const poll = await polled;
    acu.receive(encodePacket({ address: 0, reply: true, sequence: poll.sequence, useCrc: true, securityBlock: Uint8Array.of(0x16), code: 0x51, data: Uint8Array.of(0, 0, 4, 0x31, 0x30, 0x30, 0x31) }));
    expect(events.at(-1)).toBe('bad 0 bad_frame: OSDP reply with a security block outside a Secure Channel handshake');
    expect(signals).toEqual([]);
  });
});

describe('OSDP resynchronisation', () => {
  it('drops a stray SOM waiting for a long packet when told the reply timed out, then decodes the next packet', () => {
    const decoder = new OsdpFrameDecoder();
    expect(decoder.push(Uint8Array.of(0x53, 0x80, 0x00, 0x04, 0x04))).toEqual([]); // claims 1024 bytes
    expect(decoder.flush()).toMatchObject({ ok: false, code: 'bad_frame', bytes: 5 });
    const ack = encodePacket({ address: 0, reply: true, sequence: 1, useCrc: true, code: 0x40, data: new Uint8Array(0) });
    expect(decoder.push(ack)).toMatchObject([{ ok: true, packet: { code: 0x40 } }]);
  });
});
