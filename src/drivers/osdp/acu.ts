import type { DeviceCommand, DeviceSignal } from '../types.js';
import crypto from 'node:crypto';
import { encodePacket, OsdpFrameDecoder, type OsdpPacket } from './frame.js';
import { clientCryptogram, decryptData, encryptData, initialRmac, packetMac, SCBK_D, SCS, sameBytes, serverCryptogram, sessionKeys, type SessionKeys } from './secure.js';
import { Command, encodeFeedback, keypadKeys, NAK_REASONS, pdIdentity, Reply, replySignal, type PdIdentity } from './messages.js';

/** OSDP timings (v2.2 section 5.7): a PD answers within 200 ms; silent for 8 s means offline. */
export const OSDP_REPLY_TIMEOUT_MS = 200;
export const OSDP_OFFLINE_AFTER_MS = 8_000;
/** Keys typed and not submitted with '#' are forgotten after this long. */
export const KEYPAD_TIMEOUT_MS = 10_000;
export const MAX_PIN_DIGITS = 12;
/** Feedback commands waiting for a PD's turn; older ones are dropped first (stale feedback is useless). */
const MAX_QUEUED_COMMANDS = 8;

export interface OsdpAcuEvents {
  signal(address: number, signal: DeviceSignal): void;
  badInput(address: number | null, code: string, message: string, bytes: number): void;
  online(address: number, identity: PdIdentity | null): void;
  /** A reader's trouble condition (e.g. 'power_failure'), or null once it has cleared. */
  trouble?(address: number, condition: string | null): void;
  /**
   * Install mode finished: the reader took its own key (osdp_KEYSET) and has reconnected on it.
   * Install mode is already off in the poll loop; the owner persists that.
   */
  keyInstalled?(address: number, alreadyHeld: boolean): void;
  offline(address: number, reason: string): void;
}

/** Secure Channel per reader: `on` uses it when the reader can (plain text otherwise), `enforce` never accepts plain text. */
export interface OsdpSecureOptions {
  readonly mode: 'off' | 'on' | 'enforce';
  /** The reader's SCBK; absent = SCBK-D, the install-mode key. */
  readonly scbk?: Uint8Array;
  /**
   * Install mode: a reader that still answers to SCBK-D is given `scbk` (osdp_KEYSET over the
   * secure channel opened with SCBK-D), then reconnected with it.
   */
  readonly install?: boolean;
}

export interface OsdpAcuOptions {
  readonly addresses: readonly number[];
  readonly secure?: ReadonlyMap<number, OsdpSecureOptions>;
  /** Writes a packet to the bus; `done` once it is on the wire. */
  readonly write: (bytes: Uint8Array, done: (error?: Error) => void) => void;
  readonly events: OsdpAcuEvents;
  readonly clock: () => number;
  readonly replyTimeoutMs?: number;
  readonly offlineAfterMs?: number;
  /** Least time one round over every PD takes; keeps an idle bus from spinning. */
  readonly pollCycleMs?: number;
}

interface Queued {
  readonly code: number;
  readonly data: Uint8Array;
  readonly onSent?: (error?: Error) => void;
}

interface Pd {
  readonly address: number;
  sequence: 0 | 1 | 2 | 3;
  /** null until the PD first answers or first stays silent past the offline limit. */
  online: boolean | null;
  /** ID and CAP are asked again after every (re)connection, then the Secure Channel handshake. */
  stage: 'id' | 'cap' | 'chlng' | 'scrypt' | 'ready';
  readonly secure: OsdpSecureOptions;
  /** The Secure Channel being set up (rndA, keys) or in use (active, with the MAC chain). */
  session: { rndA: Buffer; keys: SessionKeys | null; serverCrypto: Buffer | null; cmac: Buffer; rmac: Buffer; active: boolean } | null;
  /** A refusal of Secure Channel is raised as tamper once per connection attempt, not every poll. */
  tamperRaised: boolean;
  /** The key of the current handshake: the reader's own, or SCBK-D while installing. */
  currentKey: Uint8Array;
  /** Secure with SCBK-D in install mode: osdp_KEYSET goes next, then a new handshake. */
  installing: boolean;
  /** Install mode is on for this reader (ends once it is online on its own key). */
  install: boolean;
  /** The reader acknowledged KEYSET; install mode ends when it reconnects on the new key. */
  keySet: boolean;
  identity: PdIdentity | null;
  lastReplyMs: number;
  queue: Queued[];
  keys: string;
  lastKeyMs: number;
}

interface Outstanding {
  readonly pd: Pd;
  readonly code: number;
  readonly queued: Queued | null;
  readonly timer: NodeJS.Timeout;
}

/**
 * The control-panel (ACU) side of OSDP on one RS-485 bus: polls each peripheral in turn, one
 * request on the wire at a time (half duplex), asks ID and CAP when a PD comes online, sends
 * LED/buzzer feedback in the PD's turn, and turns card, keypad and tamper replies into signals.
 * Secure Channel (per reader: off, on, enforce) runs after CAP: CHLNG/CCRYPT, SCRYPT/RMAC_I, then
 * every packet MACed (data encrypted); a downgrade to plain text or a bad MAC is refused.
 */
export class OsdpAcu {
  private readonly pds: Pd[];
  private readonly decoder = new OsdpFrameDecoder();
  private outstanding: Outstanding | undefined;
  private turn = 0;
  private running = false;
  private cycleStartedMs = 0;
  private idleTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: OsdpAcuOptions) {
    this.pds = options.addresses.map((address) => ({
      address, sequence: 0, online: null, stage: 'id', identity: null, lastReplyMs: options.clock(), queue: [], keys: '', lastKeyMs: 0,
      secure: options.secure?.get(address) ?? { mode: 'off' }, session: null, tamperRaised: false,
      currentKey: options.secure?.get(address)?.scbk ?? SCBK_D, installing: false,
      install: options.secure?.get(address)?.install === true, keySet: false,
    }));
  }

  /** Starts (or resumes, after the bus came back) the poll loop. */
  start(): void {
    if (this.running) return;
    this.running = true;
    const now = this.options.clock();
    for (const pd of this.pds) pd.lastReplyMs = now;
    this.cycleStartedMs = now;
    this.next();
  }

  /** Stops polling; PDs that were online are reported offline (the bus is gone). */
  stop(reason: string): void {
    this.running = false;
    clearTimeout(this.idleTimer);
    if (this.outstanding !== undefined) {
      clearTimeout(this.outstanding.timer);
      this.outstanding.queued?.onSent?.(new Error(`OSDP bus stopped: ${reason}`));
      this.outstanding = undefined;
    }
    for (const pd of this.pds) this.goOffline(pd, reason);
  }

  isOnline(address: number): boolean {
    return this.pds.find((pd) => pd.address === address)?.online === true;
  }

  /** Queues reader feedback; false when OSDP has no such output. `onSent` runs once it is on the wire. */
  command(address: number, command: DeviceCommand, onSent?: (error?: Error) => void): boolean {
    const pd = this.pds.find((candidate) => candidate.address === address);
    const message = encodeFeedback(command);
    if (pd === undefined || message === null) return false;
    if (pd.online !== true) {
      onSent?.(new Error(`OSDP reader at address ${address} is offline`));
      return true;
    }
    pd.queue.push({ ...message, onSent });
    while (pd.queue.length > MAX_QUEUED_COMMANDS) pd.queue.shift()?.onSent?.(new Error('dropped: newer feedback queued'));
    return true;
  }

  /** Bytes from the bus. */
  receive(bytes: Uint8Array): void {
    for (const result of this.decoder.push(bytes)) {
      if (!result.ok) {
        this.options.events.badInput(this.outstanding?.pd.address ?? null, result.code, result.message, result.bytes);
        continue;
      }
      this.onPacket(result.packet, result.bytes);
    }
  }

  private next(): void {
    if (!this.running || this.outstanding !== undefined || this.pds.length === 0) return;
    if (this.turn >= this.pds.length) {
      this.turn = 0;
      const elapsed = this.options.clock() - this.cycleStartedMs;
      const wait = (this.options.pollCycleMs ?? 0) - elapsed;
      if (wait > 0) {
        this.idleTimer = setTimeout(() => {
          this.cycleStartedMs = this.options.clock();
          this.next();
        }, wait);
        return;
      }
      this.cycleStartedMs = this.options.clock();
    }
    const pd = this.pds[this.turn]!;
    this.expireKeys(pd);
    let code: number = Command.POLL;
    let data: Uint8Array = new Uint8Array(0);
    let queued: Queued | null = null;
    if (pd.stage === 'id') {
      code = Command.ID;
      data = Uint8Array.of(0); // standard identification block
    } else if (pd.stage === 'cap') {
      code = Command.CAP;
      data = Uint8Array.of(0);
    } else if (pd.queue.length > 0) {
      queued = pd.queue.shift()!;
      ({ code, data } = queued);
    }
    const { bytes: packet, code: sentCode } = this.encodeFor(pd, code, data);
    code = sentCode;
    const timer = setTimeout(() => this.timedOut(), this.options.replyTimeoutMs ?? OSDP_REPLY_TIMEOUT_MS);
    this.outstanding = { pd, code, queued, timer };
    this.options.write(packet, (error) => {
      if (queued !== null) queued.onSent?.(error);
    });
  }

  /** The packet for this PD's turn: handshake steps, MACed (and encrypted) on a secure channel, or plain. */
  private encodeFor(pd: Pd, code: number, data: Uint8Array): { bytes: Buffer; code: number } {
    const base = { address: pd.address, reply: false as const, sequence: pd.sequence, useCrc: true };
    const keyFlag = sameBytes(pd.currentKey, SCBK_D) ? 0 : 1;
    if (pd.installing && pd.session?.active === true && pd.secure.scbk !== undefined) {
      code = Command.KEYSET;
      data = Uint8Array.of(0x01, 16, ...pd.secure.scbk);
    }
    let bytes: Buffer;
    if (pd.stage === 'chlng') {
      const rndA = crypto.randomBytes(8);
      pd.session = { rndA, keys: null, serverCrypto: null, cmac: Buffer.alloc(16), rmac: Buffer.alloc(16), active: false };
      code = Command.CHLNG;
      bytes = encodePacket({ ...base, securityBlock: Uint8Array.of(SCS.CHLNG, keyFlag), code, data: rndA });
    } else if (pd.stage === 'scrypt' && pd.session?.serverCrypto != null) {
      code = Command.SCRYPT;
      bytes = encodePacket({ ...base, securityBlock: Uint8Array.of(SCS.SCRYPT, keyFlag), code, data: pd.session.serverCrypto });
    } else if (pd.session?.active === true && pd.session.keys !== null) {
      const session = pd.session;
      const keys = session.keys!;
      const payload = data.length === 0 ? data : encryptData(keys, session.rmac, data);
      bytes = encodePacket({
        ...base,
        securityBlock: Uint8Array.of(data.length === 0 ? SCS.CMD_MAC : SCS.CMD_ENC),
        code,
        data: payload,
        mac: (covered) => (session.cmac = packetMac(keys, session.rmac, covered)),
      });
    } else {
      bytes = encodePacket({ ...base, code, data });
    }
    return { bytes, code };
  }

  /**
   * Checks a reply's security: on a secure channel the MAC must verify (and data decrypts);
   * a plain reply there is a downgrade. Returns the reply with plain data, or null when refused.
   */
  private unwrap(pd: Pd, packet: OsdpPacket, bytes: number): OsdpPacket | null {
    const { events } = this.options;
    const session = pd.session;
    if (session?.active === true && session.keys !== null) {
      const type = packet.securityBlock?.[0];
      if (packet.securityBlock === null || packet.mac === undefined || packet.macInput === undefined || (type !== SCS.REPLY_MAC && type !== SCS.REPLY_ENC)) {
        // [OSDP-SC] a reader that answers in plain text on a secure channel is refused and raised.
        this.refuseSecure(pd, 'bad_frame', 'plain-text reply on a Secure Channel (downgrade refused)', bytes, true);
        return null;
      }
      const expected = packetMac(session.keys, session.cmac, packet.macInput);
      if (!sameBytes(expected.subarray(0, 4), packet.mac)) {
        this.refuseSecure(pd, 'bad_mac', 'OSDP reply MAC does not verify; Secure Channel restarted', bytes, false);
        return null;
      }
      const lastCmac = session.cmac;
      session.rmac = expected;
      if (type === SCS.REPLY_ENC) {
        const plain = decryptData(session.keys, lastCmac, packet.data);
        if (plain === null) {
          this.refuseSecure(pd, 'bad_mac', 'OSDP reply data does not decrypt; Secure Channel restarted', bytes, false);
          return null;
        }
        return { ...packet, data: plain };
      }
      return packet;
    }
    if (packet.securityBlock === null) return packet;
    const type = packet.securityBlock[0];
    if (pd.stage === 'chlng' && type === SCS.CCRYPT && packet.code === Reply.CCRYPT && session !== null) return packet;
    if (pd.stage === 'scrypt' && type === SCS.RMAC_I && packet.code === Reply.RMAC_I && session !== null) return packet;
    // [OSDP-SC] a secure reply we have no session for cannot be verified, so it is not trusted.
    events.badInput(pd.address, 'bad_frame', 'OSDP reply with a security block outside a Secure Channel handshake', bytes);
    return null;
  }

  /** Tears the secure channel down (a new handshake follows at the PD's next turn); a downgrade or refusal under enforce is raised as tamper. */
  private refuseSecure(pd: Pd, code: string, message: string, bytes: number, raise: boolean): void {
    this.options.events.badInput(pd.address, code, message, bytes);
    pd.session = null;
    pd.stage = 'chlng';
    if (raise && !pd.tamperRaised) {
      pd.tamperRaised = true;
      this.options.events.signal(pd.address, { type: 'tamper', state: 'tampered' });
    }
  }

  /** After CAP: a Secure Channel handshake, or online in plain text. */
  private afterCap(pd: Pd): void {
    if (pd.secure.mode === 'off') this.comeOnline(pd);
    else pd.stage = 'chlng';
  }

  private onHandshake(pd: Pd, packet: OsdpPacket, bytes: number): void {
    const { events } = this.options;
    const session = pd.session;
    const scbk = pd.currentKey;
    if (pd.stage === 'chlng') {
      if (packet.code === Reply.CCRYPT && session !== null) {
        if (packet.data.length !== 32) return events.badInput(pd.address, 'bad_field', `osdp_CCRYPT of ${packet.data.length} bytes, expected 32`, bytes);
        const rndB = Buffer.from(packet.data.subarray(8, 16));
        const keys = sessionKeys(scbk, session.rndA);
        if (!sameBytes(clientCryptogram(keys, session.rndA, rndB), packet.data.subarray(16, 32))) {
          if (pd.install && !sameBytes(scbk, SCBK_D)) {
            // Install mode: a factory-fresh reader answers to SCBK-D; try that next, then give it its own key.
            pd.currentKey = SCBK_D;
            pd.session = null;
            return;
          }
          if (!sameBytes(scbk, SCBK_D) && answersToDefaultKey(session.rndA, rndB, packet.data.subarray(16, 32))) {
            // [OSDP-SC] a reader back on the factory key was reset or swapped: refused and raised whatever the mode.
            return this.refuseSecure(pd, 'bad_mac', 'OSDP reader answers only to the factory install key SCBK-D (reset or replaced?); refused', bytes, true);
          }
          // The reader holds another key: never fall back to plain text with a reader that speaks Secure Channel.
          return this.refuseSecure(pd, 'bad_mac', 'OSDP reader\'s cryptogram does not match its key (wrong SCBK?)', bytes, pd.secure.mode === 'enforce');
        }
        session.keys = keys;
        session.serverCrypto = serverCryptogram(keys, session.rndA, rndB);
        pd.stage = 'scrypt';
        return;
      }
      // The reader answered the challenge without Secure Channel (NAK, or plain text).
      if (pd.secure.mode === 'enforce') return this.refuseSecure(pd, 'bad_frame', 'OSDP reader refused Secure Channel; enforceSecure keeps it offline', bytes, true);
      pd.session = null;
      this.comeOnline(pd);
      return;
    }
    if (pd.stage === 'scrypt') {
      if (packet.code !== Reply.RMAC_I || session?.keys == null || session.serverCrypto === null || packet.data.length !== 16) {
        return this.refuseSecure(pd, 'bad_frame', 'OSDP reader did not complete the Secure Channel handshake', bytes, pd.secure.mode === 'enforce');
      }
      const rmac = initialRmac(session.keys, session.serverCrypto);
      if (!sameBytes(rmac, packet.data)) return this.refuseSecure(pd, 'bad_mac', 'OSDP reader\'s initial R-MAC does not verify', bytes, pd.secure.mode === 'enforce');
      session.rmac = rmac;
      session.active = true;
      if (pd.install && pd.secure.scbk !== undefined && sameBytes(pd.currentKey, SCBK_D) && !sameBytes(pd.secure.scbk, SCBK_D)) {
        pd.installing = true; // online only once it holds its own key
        pd.stage = 'ready';
        return;
      }
      if (pd.install && pd.secure.scbk !== undefined && sameBytes(pd.currentKey, pd.secure.scbk)) {
        // Secure on its own key (given just now, or held already): install mode is over for this
        // reader, so a reader answering to SCBK-D later is refused rather than re-keyed.
        const alreadyHeld = !pd.keySet;
        pd.keySet = false;
        pd.install = false;
        this.options.events.keyInstalled?.(pd.address, alreadyHeld);
      }
      this.comeOnline(pd);
    }
  }

  private timedOut(): void {
    const outstanding = this.outstanding;
    if (outstanding === undefined) return;
    this.outstanding = undefined;
    const { pd } = outstanding;
    const partial = this.decoder.flush();
    if (partial !== undefined && !partial.ok) this.options.events.badInput(pd.address, partial.code, partial.message, partial.bytes);
    // The same request goes again at the PD's next turn with the same sequence number; feedback is not retried.
    if (pd.online !== false && this.options.clock() - pd.lastReplyMs >= (this.options.offlineAfterMs ?? OSDP_OFFLINE_AFTER_MS)) {
      this.goOffline(pd, `no reply for ${this.options.offlineAfterMs ?? OSDP_OFFLINE_AFTER_MS} ms`);
    }
    this.turn++;
    this.next();
  }

  private onPacket(packet: OsdpPacket, bytes: number): void {
    const outstanding = this.outstanding;
    const { events } = this.options;
    if (!packet.reply) return; // our own command echoed by a half-duplex transceiver
    if (outstanding === undefined || packet.address !== outstanding.pd.address) {
      events.badInput(packet.address, 'bad_frame', `unsolicited OSDP reply from address ${packet.address}`, bytes);
      return;
    }
    const { pd } = outstanding;
    if (packet.sequence !== pd.sequence) {
      events.badInput(pd.address, 'bad_frame', `OSDP reply with sequence ${packet.sequence}, expected ${pd.sequence}`, bytes);
      return;
    }
    const reply = this.unwrap(pd, packet, bytes);
    clearTimeout(outstanding.timer);
    this.outstanding = undefined;
    pd.lastReplyMs = this.options.clock();
    // Sequence 0 only opens a conversation; afterwards it cycles 1, 2, 3.
    pd.sequence = pd.sequence === 3 ? 1 : ((pd.sequence + 1) as 1 | 2 | 3);
    if (reply !== null) {
      if (pd.stage === 'chlng' || pd.stage === 'scrypt') this.onHandshake(pd, reply, bytes);
      else this.handleReply(pd, outstanding.code, reply, bytes);
    }
    this.turn++;
    this.next();
  }

  private handleReply(pd: Pd, sentCode: number, packet: OsdpPacket, bytes: number): void {
    const { events } = this.options;
    const bad = (message: string): void => events.badInput(pd.address, 'bad_field', message, bytes);
    switch (packet.code) {
      case Reply.PDID: {
        const identity = pdIdentity(packet.data);
        if ('error' in identity) return bad(identity.error);
        pd.identity = identity;
        if (pd.stage === 'id') pd.stage = 'cap';
        return;
      }
      case Reply.PDCAP:
        if (pd.stage === 'cap') this.afterCap(pd);
        return;
      case Reply.ACK:
        if (sentCode === Command.CAP && pd.stage === 'cap') this.afterCap(pd);
        if (sentCode === Command.KEYSET && pd.installing && pd.secure.scbk !== undefined) {
          pd.installing = false;
          pd.currentKey = pd.secure.scbk;
          pd.session = null;
          pd.stage = 'chlng';
          pd.keySet = true;
        }
        return;
      case Reply.NAK: {
        const reason = NAK_REASONS[packet.data[0] ?? 0xff] ?? `NAK code ${packet.data[0]}`;
        if (sentCode === Command.CAP && pd.stage === 'cap') this.afterCap(pd); // CAP is optional to answer
        if (packet.data[0] === 0x04) pd.sequence = 0; // the PD lost our conversation: start a new one
        else events.badInput(pd.address, 'bad_field', `OSDP reader refused command 0x${sentCode.toString(16)}: ${reason}`, bytes);
        return;
      }
      case Reply.BUSY:
        return;
      case Reply.RAW:
      case Reply.FMT:
      case Reply.LSTATR: {
        const signal = replySignal(packet.code, packet.data);
        if (signal === undefined) return;
        if ('error' in signal) return bad(signal.error);
        // LSTATR's second byte is the reader's power monitor: anything but 0 is a power fault.
        if (packet.code === Reply.LSTATR && !pd.installing) this.options.events.trouble?.(pd.address, packet.data[1] === 0 ? null : 'power_failure');
        return this.emit(pd, signal);
      }
      case Reply.KEYPAD: {
        const keys = keypadKeys(packet.data);
        if (typeof keys !== 'string') return bad(keys.error);
        return this.onKeys(pd, keys);
      }
      default:
        return bad(`unexpected OSDP reply code 0x${packet.code.toString(16)}`);
    }
  }

  /** Keys build a PIN until '#'; '*' clears what was typed. The PIN itself is never logged. */
  private onKeys(pd: Pd, keys: string): void {
    this.expireKeys(pd);
    pd.lastKeyMs = this.options.clock();
    for (const key of keys) {
      if (key === '*') pd.keys = '';
      else if (key === '#') {
        const pin = pd.keys;
        pd.keys = '';
        if (pin.length >= 4) this.emit(pd, { type: 'pin', pin });
        else this.options.events.badInput(pd.address, 'bad_field', `PIN of ${pin.length} digits submitted, expected 4 to ${MAX_PIN_DIGITS}`, 0);
      } else if (pd.keys.length < MAX_PIN_DIGITS) pd.keys += key;
    }
  }

  private expireKeys(pd: Pd): void {
    if (pd.keys !== '' && this.options.clock() - pd.lastKeyMs > KEYPAD_TIMEOUT_MS) pd.keys = '';
  }

  private emit(pd: Pd, signal: DeviceSignal): void {
    // [OSDP-SC] nothing a reader says over the well-known install key is trusted.
    if (pd.installing) return;
    this.options.events.signal(pd.address, signal);
  }

  private comeOnline(pd: Pd): void {
    pd.stage = 'ready';
    if (pd.online === true) return;
    pd.online = true;
    this.options.events.online(pd.address, pd.identity);
  }

  private goOffline(pd: Pd, reason: string): void {
    pd.stage = 'id';
    pd.session = null;
    pd.tamperRaised = false;
    pd.installing = false;
    pd.keySet = false;
    pd.currentKey = pd.secure.scbk ?? SCBK_D;
    pd.sequence = 0;
    pd.keys = '';
    for (const queued of pd.queue.splice(0)) queued.onSent?.(new Error(`OSDP reader at address ${pd.address} went offline`));
    if (pd.online === false) return;
    pd.online = false;
    this.options.events.offline(pd.address, reason);
  }
}

/** True when the reader's cryptogram was made with SCBK-D, the well-known install key. */
function answersToDefaultKey(rndA: Uint8Array, rndB: Uint8Array, cryptogram: Uint8Array): boolean {
  return sameBytes(clientCryptogram(sessionKeys(SCBK_D, rndA), rndA, rndB), cryptogram);
}
