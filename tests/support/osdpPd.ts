import crypto from 'node:crypto';
import { encodePacket, OsdpFrameDecoder, type OsdpPacket } from '../../src/drivers/osdp/frame.js';
import { Command, Reply } from '../../src/drivers/osdp/messages.js';
import { clientCryptogram, SCBK_D, decryptData, encryptData, initialRmac, packetMac, SCS, sameBytes, serverCryptogram, sessionKeys, type SessionKeys } from '../../src/drivers/osdp/secure.js';

/**
 * A simulated OSDP peripheral (reader) for tests: answers the ACU's polls as a real PD would,
 * with PDID/PDCAP, card data and keypad replies queued by the test, ACK for everything else,
 * and records the commands it received (LED, buzzer). Speaks through `send`.
 */
export class SimulatedPd {
  readonly received: OsdpPacket[] = [];
  private readonly decoder = new OsdpFrameDecoder();
  private readonly pending: { code: number; data: Uint8Array }[] = [];
  private waiters: { match: (packet: OsdpPacket) => boolean; resolve: (packet: OsdpPacket) => void }[] = [];
  /** While false the PD says nothing (as if unplugged); what it heard is still recorded. */
  answering = true;
  /** The next reply goes out with a broken CRC. */
  corruptNextReply = false;
  /** The reader's Secure Channel base key; undefined = it does not speak Secure Channel (NAKs osdp_CHLNG). */
  scbk: Buffer | undefined;
  /** Once the channel is up, answer in plain text (a reader, or a man in the middle, trying a downgrade). */
  downgrade = false;
  /** The next secure reply carries a wrong MAC. */
  corruptNextMac = false;
  /** A key set by osdp_KEYSET, used from the next handshake on. */
  private nextKey: Buffer | undefined;
  private session: { keys: SessionKeys; rndA: Buffer; rndB: Buffer; cmac: Buffer; rmac: Buffer; active: boolean } | undefined;

  constructor(
    readonly address: number,
    private readonly send: (bytes: Uint8Array) => void,
  ) {}

  /** Bytes the ACU put on the bus (every PD on a bus hears every packet). */
  hear(bytes: Uint8Array): void {
    for (const result of this.decoder.push(bytes)) {
      if (!result.ok || result.packet.reply || result.packet.address !== this.address) continue;
      const packet = this.unwrapCommand(result.packet);
      if (packet === null) continue;
      this.received.push(packet);
      this.waiters = this.waiters.filter((waiter) => (waiter.match(packet) ? (waiter.resolve(packet), false) : true));
      if (this.answering) this.reply(packet, this.answer(packet));
    }
  }

  presentCardFormatted(digits: string): void {
    this.pending.push({ code: Reply.FMT, data: Uint8Array.of(0, 0, digits.length, ...Buffer.from(digits, 'latin1')) });
  }

  presentCardRaw(bits: string): void {
    const bytes = Buffer.alloc(Math.ceil(bits.length / 8));
    for (let i = 0; i < bits.length; i++) if (bits[i] === '1') bytes[i >> 3]! |= 0x80 >> (i & 7);
    this.pending.push({ code: Reply.RAW, data: Uint8Array.of(0, 0, bits.length & 0xff, bits.length >> 8, ...bytes) });
  }

  pressKeys(keys: string): void {
    this.pending.push({ code: Reply.KEYPAD, data: Uint8Array.of(0, keys.length, ...Buffer.from(keys, 'latin1')) });
  }

  tamper(tampered: boolean): void {
    this.pending.push({ code: Reply.LSTATR, data: Uint8Array.of(tampered ? 1 : 0, 0) });
  }

  /** Local status with the power monitor reporting a failure (or back to normal). */
  power(failed: boolean): void {
    this.pending.push({ code: Reply.LSTATR, data: Uint8Array.of(0, failed ? 1 : 0) });
  }

  /** Resolves with the next command (from now) that matches. */
  nextCommand(match: (packet: OsdpPacket) => boolean, timeoutMs = 5_000): Promise<OsdpPacket> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the simulated PD at ${this.address} received no matching command within ${timeoutMs} ms`)), timeoutMs);
      this.waiters.push({ match, resolve: (packet) => (clearTimeout(timer), resolve(packet)) });
    });
  }

  /** Verifies and decrypts a command on a secure channel; a command that fails is ignored (the ACU times out). */
  private unwrapCommand(packet: OsdpPacket): OsdpPacket | null {
    const session = this.session;
    if (session?.active !== true || packet.mac === undefined || packet.macInput === undefined) return packet;
    const mac = packetMac(session.keys, session.rmac, packet.macInput);
    if (!sameBytes(mac.subarray(0, 4), packet.mac)) return null;
    const lastRmac = session.rmac;
    session.cmac = mac;
    if (packet.securityBlock?.[0] === SCS.CMD_ENC) {
      const data = decryptData(session.keys, lastRmac, packet.data);
      return data === null ? null : { ...packet, data };
    }
    return packet;
  }

  private answer(packet: OsdpPacket): { code: number; data: Uint8Array; scb?: Uint8Array } {
    switch (packet.code) {
      case Command.CHLNG: {
        if (this.nextKey !== undefined) {
          this.scbk = this.nextKey;
          this.nextKey = undefined;
        }
        if (this.scbk === undefined) return { code: Reply.NAK, data: Uint8Array.of(0x03) };
        const rndA = Buffer.from(packet.data);
        const rndB = crypto.randomBytes(8);
        const keys = sessionKeys(this.scbk, rndA);
        this.session = { keys, rndA, rndB, cmac: Buffer.alloc(16), rmac: Buffer.alloc(16), active: false };
        // The security block says which key the reader used: 0 = SCBK-D (install mode), 1 = its own.
        return { code: Reply.CCRYPT, scb: Uint8Array.of(SCS.CCRYPT, sameBytes(this.scbk, SCBK_D) ? 0 : 1), data: Buffer.concat([Buffer.from('0102030405060708', 'hex'), rndB, clientCryptogram(keys, rndA, rndB)]) };
      }
      case Command.SCRYPT: {
        const session = this.session;
        if (session === undefined || !sameBytes(serverCryptogram(session.keys, session.rndA, session.rndB), packet.data)) return { code: Reply.NAK, data: Uint8Array.of(0x05) };
        session.rmac = initialRmac(session.keys, Buffer.from(packet.data));
        session.active = true;
        return { code: Reply.RMAC_I, scb: Uint8Array.of(SCS.RMAC_I, 1), data: session.rmac };
      }
      case Command.ID:
        // vendor 0A0B0C, model 1, version 2, serial 0x01020304, firmware 1.2.3
        return { code: Reply.PDID, data: Uint8Array.of(0x0a, 0x0b, 0x0c, 1, 2, 4, 3, 2, 1, 1, 2, 3) };
      case Command.CAP:
        return { code: Reply.PDCAP, data: Uint8Array.of(4, 1, 0, 5, 1, 1, 6, 1, 1) };
      case Command.KEYSET: {
        // Only over a secure channel, as a real reader in install mode insists.
        if (this.session?.active !== true || packet.data[0] !== 1 || packet.data[1] !== 16 || packet.data.length !== 18) return { code: Reply.NAK, data: Uint8Array.of(0x09) };
        this.nextKey = Buffer.from(packet.data.subarray(2));
        return { code: Reply.ACK, data: new Uint8Array(0) };
      }
      case Command.POLL:
        return this.pending.shift() ?? { code: Reply.ACK, data: new Uint8Array(0) };
      default:
        return { code: Reply.ACK, data: new Uint8Array(0) };
    }
  }

  private reply(command: OsdpPacket, answer: { code: number; data: Uint8Array; scb?: Uint8Array }): void {
    const base = { address: this.address, reply: true, sequence: command.sequence, useCrc: command.useCrc, code: answer.code };
    const session = this.session;
    let bytes: Buffer;
    if (session?.active === true && !this.downgrade && answer.scb === undefined) {
      const corrupt = this.corruptNextMac;
      this.corruptNextMac = false;
      const data = answer.data.length === 0 ? answer.data : encryptData(session.keys, session.cmac, answer.data);
      bytes = encodePacket({
        ...base,
        securityBlock: Uint8Array.of(answer.data.length === 0 ? SCS.REPLY_MAC : SCS.REPLY_ENC),
        data,
        mac: (covered) => {
          const mac = packetMac(session.keys, session.cmac, covered);
          session.rmac = mac;
          return corrupt ? mac.map((byte) => byte ^ 0xff) : mac;
        },
      });
    } else {
      bytes = encodePacket({ ...base, securityBlock: answer.scb ?? null, data: answer.data });
    }
    if (this.corruptNextReply) {
      this.corruptNextReply = false;
      bytes[bytes.length - 1]! ^= 0xff;
    }
    this.send(bytes);
  }
}
