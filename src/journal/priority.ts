/**
 * Alarm-class events (alarms, forced doors, duress): every forwarder delivers them ahead of a
 * backlog, and the journal forces them to disk before the append returns.
 */
export function isPriorityType(type: string): boolean {
  return type.startsWith('alarm.') || type === 'door.forced' || type === 'access.duress';
}

/** The same test in SQL, written so SQLite answers it from the (type, seq) index, never a scan. */
export const PRIORITY_SQL = "((type >= 'alarm.' AND type < 'alarm/') OR type IN ('door.forced', 'access.duress'))";
