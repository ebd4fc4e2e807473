import type { DeviceCommand, DeviceSignal } from '../types.js';
import { encodePacket, OsdpFrameDecoder, type OsdpPacket } from './frame.js';
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
  offline(address: number, reason: string): void;
}

export interface OsdpAcuOptions {
  readonly addresses: readonly number[];
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
  /** ID and CAP are asked again after every (re)connection. */
  stage: 'id' | 'cap' | 'ready';
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
 * Plain-text mode only: Secure Channel is not implemented yet, and a PD that sends a security
 * block is reported as bad input rather than trusted.
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
    this.pds = options.addresses.map((address) => ({ address, sequence: 0, online: null, stage: 'id', identity: null, lastReplyMs: options.clock(), queue: [], keys: '', lastKeyMs: 0 }));
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
    const packet = encodePacket({ address: pd.address, reply: false, sequence: pd.sequence, useCrc: true, code, data });
    const timer = setTimeout(() => this.timedOut(), this.options.replyTimeoutMs ?? OSDP_REPLY_TIMEOUT_MS);
    this.outstanding = { pd, code, queued, timer };
    this.options.write(packet, (error) => {
      if (queued !== null) queued.onSent?.(error);
    });
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
    if (packet.securityBlock !== null) {
      // [OSDP-SC] plain-text ACU: a secure reply cannot be verified here, so it is not trusted.
      events.badInput(pd.address, 'bad_frame', 'OSDP reply with a security block; Secure Channel is not enabled on this bus', bytes);
      return;
    }
    clearTimeout(outstanding.timer);
    this.outstanding = undefined;
    pd.lastReplyMs = this.options.clock();
    // Sequence 0 only opens a conversation; afterwards it cycles 1, 2, 3.
    pd.sequence = pd.sequence === 3 ? 1 : ((pd.sequence + 1) as 1 | 2 | 3);
    this.handleReply(pd, outstanding.code, packet, bytes);
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
        if (pd.stage === 'cap') this.comeOnline(pd);
        return;
      case Reply.ACK:
        if (sentCode === Command.CAP && pd.stage === 'cap') this.comeOnline(pd);
        return;
      case Reply.NAK: {
        const reason = NAK_REASONS[packet.data[0] ?? 0xff] ?? `NAK code ${packet.data[0]}`;
        if (sentCode === Command.CAP && pd.stage === 'cap') this.comeOnline(pd); // CAP is optional to answer
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
    if (pd.online !== true) this.comeOnline(pd);
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
    pd.sequence = 0;
    pd.keys = '';
    for (const queued of pd.queue.splice(0)) queued.onSent?.(new Error(`OSDP reader at address ${pd.address} went offline`));
    if (pd.online === false) return;
    pd.online = false;
    this.options.events.offline(pd.address, reason);
  }
}
