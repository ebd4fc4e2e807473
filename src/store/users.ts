import type { Db } from './db.js';

export const Roles = ['admin', 'security', 'viewer'] as const;
export type Role = (typeof Roles)[number];

export interface UserRecord {
  readonly id: string;
  readonly role: Role;
  readonly passwordHash: string;
  readonly disabled: boolean;
  readonly createdMs: number;
}

export interface ApiTokenRecord {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly secretHash: string;
  readonly createdBy: string;
  readonly createdMs: number;
  readonly revokedMs: number | null;
}

interface UserRow {
  id: string;
  role: Role;
  password_hash: string;
  disabled: number;
  created_ms: number;
}

interface TokenRow {
  id: string;
  name: string;
  role: Role;
  secret_hash: string;
  created_by: string;
  created_ms: number;
  revoked_ms: number | null;
}

const userFromRow = (row: UserRow): UserRecord => ({ id: row.id, role: row.role, passwordHash: row.password_hash, disabled: row.disabled !== 0, createdMs: row.created_ms });
const tokenFromRow = (row: TokenRow): ApiTokenRecord => ({
  id: row.id,
  name: row.name,
  role: row.role,
  secretHash: row.secret_hash,
  createdBy: row.created_by,
  createdMs: row.created_ms,
  revokedMs: row.revoked_ms,
});

/** People who use the API and console, and the long-lived tokens of integrations. */
export class UsersRepository {
  constructor(private readonly db: Db) {}

  list(): UserRecord[] {
    return this.db.prepare<[], UserRow>('SELECT * FROM users ORDER BY id').all().map(userFromRow);
  }

  get(id: string): UserRecord | undefined {
    const row = this.db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?').get(id);
    return row === undefined ? undefined : userFromRow(row);
  }

  countActiveAdmins(): number {
    return this.db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0").get()?.n ?? 0;
  }

  insert(user: UserRecord): void {
    this.db
      .prepare('INSERT INTO users (id, role, password_hash, disabled, created_ms) VALUES (?, ?, ?, ?, ?)')
      .run(user.id, user.role, user.passwordHash, user.disabled ? 1 : 0, user.createdMs);
  }

  update(user: UserRecord): void {
    this.db.prepare('UPDATE users SET role = ?, password_hash = ?, disabled = ? WHERE id = ?').run(user.role, user.passwordHash, user.disabled ? 1 : 0, user.id);
  }

  delete(id: string): void {
    this.db.prepare('DELETE FROM users WHERE id = ?').run(id);
  }

  listTokens(): ApiTokenRecord[] {
    return this.db.prepare<[], TokenRow>('SELECT * FROM api_tokens ORDER BY created_ms, id').all().map(tokenFromRow);
  }

  getToken(id: string): ApiTokenRecord | undefined {
    const row = this.db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE id = ?').get(id);
    return row === undefined ? undefined : tokenFromRow(row);
  }

  insertToken(token: ApiTokenRecord): void {
    this.db
      .prepare('INSERT INTO api_tokens (id, name, role, secret_hash, created_by, created_ms, revoked_ms) VALUES (?, ?, ?, ?, ?, ?, ?)')
      .run(token.id, token.name, token.role, token.secretHash, token.createdBy, token.createdMs, token.revokedMs);
  }

  revokeToken(id: string, revokedMs: number): void {
    this.db.prepare('UPDATE api_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL').run(revokedMs, id);
  }
}
