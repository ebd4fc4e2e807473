import type { DeviceBinding, DeviceKind } from '../config/siteSchema.js';
import type { Db } from './db.js';

export type { DeviceKind } from '../config/siteSchema.js';

export interface DeviceRecord {
  readonly id: string;
  readonly name: string | null;
  readonly kind: DeviceKind;
  readonly driver: string;
  readonly location: string | null;
  /** argon2 hash of the device's MQTT password; null = no password of its own. */
  readonly passwordHash: string | null;
  /** Serial bus/address or GPIO pins; absent for a device on guardpost's own MQTT topics. */
  readonly binding?: DeviceBinding;
  /** [ACC-CARD-FORMAT] how this reader sends card numbers; absent = the site's default. */
  readonly cardFormat?: 'decimal' | 'hex';
}

interface DeviceRow {
  id: string;
  name: string | null;
  kind: DeviceKind;
  driver: string;
  location: string | null;
  password_hash: string | null;
  binding: string | null;
  card_format: 'decimal' | 'hex' | null;
}

const fromRow = (row: DeviceRow): DeviceRecord => ({
  id: row.id,
  name: row.name,
  kind: row.kind,
  driver: row.driver,
  location: row.location,
  passwordHash: row.password_hash,
  ...(row.binding === null ? {} : { binding: JSON.parse(row.binding) as DeviceBinding }),
  ...(row.card_format === null ? {} : { cardFormat: row.card_format }),
});

export class DevicesRepository {
  constructor(private readonly db: Db) {}

  list(): DeviceRecord[] {
    return this.db.prepare<[], DeviceRow>('SELECT * FROM devices ORDER BY id').all().map(fromRow);
  }

  get(id: string): DeviceRecord | undefined {
    const row = this.db.prepare<[string], DeviceRow>('SELECT * FROM devices WHERE id = ?').get(id);
    return row === undefined ? undefined : fromRow(row);
  }

  upsert(device: DeviceRecord): void {
    this.db
      .prepare(
        `INSERT INTO devices (id, name, kind, driver, location, password_hash, binding, card_format) VALUES (@id, @name, @kind, @driver, @location, @passwordHash, @binding, @cardFormat)
         ON CONFLICT (id) DO UPDATE SET name = excluded.name, kind = excluded.kind, driver = excluded.driver,
           location = excluded.location, password_hash = excluded.password_hash, binding = excluded.binding, card_format = excluded.card_format`,
      )
      .run({ ...device, binding: device.binding === undefined ? null : JSON.stringify(device.binding), cardFormat: device.cardFormat ?? null });
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM devices WHERE id = ?').run(id);
  }
}
