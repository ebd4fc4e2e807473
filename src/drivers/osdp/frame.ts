/**
 * OSDP v2.2 packet framing (SIA OSDP, section 5): SOM, ADDR, LEN (LE, whole packet), CTRL,
 * [security block], code, data, then a CRC-16 (LE) or an 8-bit checksum.
 */
export const SOM = 0x53;
/** Replies carry the PD's address with the top bit set. */
export const REPLY_BIT = 0x80;
export const BROADCAST_ADDRESS = 0x7f;
const CTRL_SQN = 0x03;
const CTRL_CRC = 0x04;
const CTRL_SCB = 0x08;
/** Largest packet we accept; the spec allows more, no reader we drive sends near this. */
export const MAX_PACKET_BYTES = 1440;

/** CRC-16/AUG-CCITT as OSDP uses it: polynomial 0x1021, initial value 0x1D0F, no reflection. */
export function crc16(bytes: Uint8Array, length = bytes.length): number {
  let crc = 0x1d0f;
  for (let i = 0; i < length; i++) {
    crc ^= bytes[i]! << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

/** The 8-bit checksum: the two's complement of the sum of every byte before it. */
export function checksum8(bytes: Uint8Array, length = bytes.length): number {
  let sum = 0;
  for (let i = 0; i < length; i++) sum = (sum + bytes[i]!) & 0xff;
  return (0x100 - sum) & 0xff;
}

export interface OsdpPacket {
  /** 0–126, or 127 broadcast; without the reply bit. */
  readonly address: number;
  readonly reply: boolean;
  readonly sequence: 0 | 1 | 2 | 3;
  readonly useCrc: boolean;
  /** The security control block (type and data) when present; Secure Channel is not spoken yet. */
  readonly securityBlock: Uint8Array | null;
  readonly code: number;
  readonly data: Uint8Array;
  /** Secure Channel packets (SCS_15–18): the 4 MAC bytes, and the bytes the MAC covers. */
  readonly mac?: Uint8Array;
  readonly macInput?: Uint8Array;
}

/** Security block types whose packets end in a MAC. */
const MAC_TYPES = new Set([0x15, 0x16, 0x17, 0x18]);

export interface PacketToEncode {
  readonly address: number;
  readonly reply: boolean;
  readonly sequence: 0 | 1 | 2 | 3;
  readonly useCrc: boolean;
  readonly securityBlock?: Uint8Array | null;
  readonly code: number;
  readonly data: Uint8Array;
  /** Computes the MAC over the packet so far (SOM to the end of data); its first 4 bytes are sent. */
  readonly mac?: (covered: Buffer) => Uint8Array;
}

export function encodePacket(packet: PacketToEncode): Buffer {
  const scb = packet.securityBlock ?? null;
  const scbBytes = scb === null ? 0 : scb.length + 1;
  const macBytes = packet.mac === undefined ? 0 : 4;
  const length = 5 + scbBytes + 1 + packet.data.length + macBytes + (packet.useCrc ? 2 : 1);
  const out = Buffer.alloc(length);
  out[0] = SOM;
  out[1] = (packet.address & 0x7f) | (packet.reply ? REPLY_BIT : 0);
  out.writeUInt16LE(length, 2);
  out[4] = (packet.sequence & CTRL_SQN) | (packet.useCrc ? CTRL_CRC : 0) | (scb === null ? 0 : CTRL_SCB);
  let at = 5;
  if (scb !== null) {
    out[at++] = scb.length + 1;
    out.set(scb, at);
    at += scb.length;
  }
  out[at++] = packet.code;
  out.set(packet.data, at);
  at += packet.data.length;
  if (packet.mac !== undefined) {
    out.set(packet.mac(out.subarray(0, at)).subarray(0, 4), at);
    at += 4;
  }
  if (packet.useCrc) out.writeUInt16LE(crc16(out, at), at);
  else out[at] = checksum8(out, at);
  return out;
}

export type FrameResult = { readonly ok: true; readonly packet: OsdpPacket; readonly bytes: number } | { readonly ok: false; readonly code: 'bad_frame' | 'bad_checksum' | 'too_large'; readonly message: string; readonly bytes: number };

/**
 * Finds packets in a byte stream. Bytes before a SOM are skipped (and reported once per run);
 * a packet that fails its check is reported and the search resumes one byte after its SOM,
 * so a stray 0x53 in line noise cannot swallow the next real packet.
 */
export class OsdpFrameDecoder {
  private buffer = Buffer.alloc(0);

  /**
   * Drops a partial packet. The ACU calls this when a reply times out: on a half-duplex bus
   * nothing valid can still be in flight, and a stray SOM in noise must not hold the decoder
   * waiting for a long "packet" that swallows the real replies after it.
   */
  flush(): FrameResult | undefined {
    const bytes = this.buffer.length;
    this.buffer = Buffer.alloc(0);
    return bytes === 0 ? undefined : { ok: false, code: 'bad_frame', message: `incomplete OSDP packet of ${bytes} bytes dropped after the reply timeout`, bytes };
  }

  push(bytes: Uint8Array): FrameResult[] {
    this.buffer = Buffer.concat([this.buffer, bytes]);
    const results: FrameResult[] = [];
    for (;;) {
      const som = this.buffer.indexOf(SOM);
      if (som === -1) {
        if (this.buffer.length > 0) results.push({ ok: false, code: 'bad_frame', message: `${this.buffer.length} bytes outside an OSDP packet`, bytes: this.buffer.length });
        this.buffer = Buffer.alloc(0);
        return results;
      }
      if (som > 0) {
        results.push({ ok: false, code: 'bad_frame', message: `${som} bytes outside an OSDP packet`, bytes: som });
        this.buffer = this.buffer.subarray(som);
      }
      if (this.buffer.length < 5) return results;
      const length = this.buffer.readUInt16LE(2);
      const ctrl = this.buffer[4]!;
      const useCrc = (ctrl & CTRL_CRC) !== 0;
      const minimum = 5 + 1 + (useCrc ? 2 : 1);
      if (length < minimum || length > MAX_PACKET_BYTES || (ctrl & 0xf0) !== 0) {
        results.push({ ok: false, code: length > MAX_PACKET_BYTES ? 'too_large' : 'bad_frame', message: `OSDP header with length ${length} and control 0x${ctrl.toString(16).padStart(2, '0')} is not a packet`, bytes: 1 });
        this.buffer = this.buffer.subarray(1);
        continue;
      }
      if (this.buffer.length < length) return results;
      const raw = this.buffer.subarray(0, length);
      const good = useCrc ? raw.readUInt16LE(length - 2) === crc16(raw, length - 2) : raw[length - 1] === checksum8(raw, length - 1);
      if (!good) {
        results.push({ ok: false, code: 'bad_checksum', message: `OSDP packet fails its ${useCrc ? 'CRC' : 'checksum'}`, bytes: length });
        this.buffer = this.buffer.subarray(1);
        continue;
      }
      this.buffer = this.buffer.subarray(length);
      const parsed = parseChecked(raw, useCrc);
      results.push(parsed);
    }
  }
}

function parseChecked(raw: Buffer, useCrc: boolean): FrameResult {
  const ctrl = raw[4]!;
  let at = 5;
  let securityBlock: Uint8Array | null = null;
  const end = raw.length - (useCrc ? 2 : 1);
  if ((ctrl & CTRL_SCB) !== 0) {
    const scbLength = raw[5]!;
    if (scbLength < 2 || 5 + scbLength >= end) return { ok: false, code: 'bad_frame', message: `OSDP security block of length ${scbLength} does not fit the packet`, bytes: raw.length };
    securityBlock = Uint8Array.from(raw.subarray(6, 5 + scbLength));
    at = 5 + scbLength;
  }
  const withMac = securityBlock !== null && MAC_TYPES.has(securityBlock[0]!);
  const dataEnd = withMac ? end - 4 : end;
  if (dataEnd < at + 1) return { ok: false, code: 'bad_frame', message: 'OSDP packet too short for its MAC', bytes: raw.length };
  const packet: OsdpPacket = {
    address: raw[1]! & 0x7f,
    reply: (raw[1]! & REPLY_BIT) !== 0,
    sequence: (ctrl & CTRL_SQN) as 0 | 1 | 2 | 3,
    useCrc,
    securityBlock,
    code: raw[at]!,
    data: Uint8Array.from(raw.subarray(at + 1, dataEnd)),
    ...(withMac ? { mac: Uint8Array.from(raw.subarray(dataEnd, end)), macInput: Uint8Array.from(raw.subarray(0, dataEnd)) } : {}),
  };
  return { ok: true, packet, bytes: raw.length };
}
