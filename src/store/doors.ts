import type { DoorMode } from '../access/types.js';
import type { Db } from './db.js';

export interface DoorRecord {
  readonly id: string;
  readonly name: string;
  readonly readerDeviceId: string | null;
  readonly strikeDeviceId: string | null;
  readonly unlockMs: number;
  readonly mode: DoorMode;
}

interface DoorRow {
  id: string;
  name: string;
  reader_device: string | null;
  strike_device: string | null;
  unlock_ms: number;
  mode: DoorMode;
}

const fromRow = (row: DoorRow): DoorRecord => ({
  id: row.id,
  name: row.name,
  readerDeviceId: row.reader_device,
  strikeDeviceId: row.strike_device,
  unlockMs: row.unlock_ms,
  mode: row.mode,
});

export class DoorsRepository {
  constructor(private readonly db: Db) {}

  list(): DoorRecord[] {
    return this.db.prepare<[], DoorRow>('SELECT * FROM doors ORDER BY id').all().map(fromRow);
  }

  get(id: string): DoorRecord | undefined {
    const row = this.db.prepare<[string], DoorRow>('SELECT * FROM doors WHERE id = ?').get(id);
    return row === undefined ? undefined : fromRow(row);
  }

  upsert(door: DoorRecord): void {
    this.db
      .prepare(
        `INSERT INTO doors (id, name, reader_device, strike_device, unlock_ms, mode)
         VALUES (@id, @name, @readerDeviceId, @strikeDeviceId, @unlockMs, @mode)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, reader_device = excluded.reader_device,
           strike_device = excluded.strike_device, unlock_ms = excluded.unlock_ms, mode = excluded.mode`,
      )
      .run(door);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM doors WHERE id = ?').run(id);
  }
}
