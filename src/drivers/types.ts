/** Device signals (device → gateway) and commands (gateway → device), whatever the wire format. */

export type DeviceSignal =
  | { readonly type: 'card'; readonly card: string }
  /** Raw Wiegand frame as bits ('0'/'1', parity included), decoded by the site's credential formats. */
  | { readonly type: 'wiegand'; readonly bits: string }
  | { readonly type: 'pin'; readonly pin: string }
  | { readonly type: 'button'; readonly state: 'pressed' | 'released' }
  | { readonly type: 'contact'; readonly state: 'open' | 'closed' }
  | { readonly type: 'tamper'; readonly state: 'tampered' | 'normal' }
  | { readonly type: 'heartbeat' };

export type LedColor = 'green' | 'red' | 'amber' | 'off';
export type BuzzerPattern = 'grant' | 'deny' | 'alarm' | 'off';

export type DeviceCommand =
  | { readonly type: 'strike'; readonly action: 'pulse'; readonly durationMs: number }
  | { readonly type: 'strike'; readonly action: 'lock' | 'unlock' }
  | { readonly type: 'led'; readonly color: LedColor; readonly durationMs: number }
  | { readonly type: 'buzzer'; readonly pattern: BuzzerPattern }
  | { readonly type: 'camera'; readonly action: 'trigger'; readonly reason: string };

/** Why a payload was refused; `message` names the field and the problem, never the raw secret. */
export type BadInputCode =
  | 'too_large' | 'not_utf8' | 'not_json' | 'not_object' | 'unknown_type' | 'bad_field'
  /** Framed byte streams (serial, GPIO): a frame that breaks its protocol's framing or its check. */
  | 'bad_frame' | 'bad_checksum';
export interface BadInput {
  readonly code: BadInputCode;
  readonly message: string;
}

export type DecodeResult = { readonly ok: true; readonly signal: DeviceSignal } | { readonly ok: false; readonly error: BadInput };
