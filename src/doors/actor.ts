/** Who asked for a command: every command through the API or MQTT journals this [SAFE-AUDIT]. */
export interface Actor {
  readonly via: 'api' | 'mqtt' | 'button' | 'threat-level' | 'system';
  /** The user, device or system that asked; null when nobody could be identified (demo mode). */
  readonly by: string | null;
  /** Where an unauthenticated request came from (remote address), for the record. */
  readonly address?: string;
}

export const SYSTEM: Actor = { via: 'system', by: 'guardpost' };
