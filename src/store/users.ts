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
  // Prepared once: sign-ins and the API's user and token screens read these.
  private readonly listStatement;
  private readonly getStatement;
  private readonly countAdminsStatement;
  private readonly insertStatement;
  private readonly updateStatement;
  private readonly deleteStatement;
  private readonly listTokensStatement;
  private readonly getTokenStatement;
  private readonly insertTokenStatement;
  private readonly revokeTokenStatement;

  constructor(db: Db) {
    this.listStatement = db.prepare<[], UserRow>('SELECT * FROM users ORDER BY id');
    this.getStatement = db.prepare<[string], UserRow>('SELECT * FROM users WHERE id = ?');
    this.countAdminsStatement = db.prepare<[], { n: number }>("SELECT COUNT(*) AS n FROM users WHERE role = 'admin' AND disabled = 0");
    this.insertStatement = db.prepare<[string, Role, string, number, number]>('INSERT INTO users (id, role, password_hash, disabled, created_ms) VALUES (?, ?, ?, ?, ?)');
    this.updateStatement = db.prepare<[Role, string, number, string]>('UPDATE users SET role = ?, password_hash = ?, disabled = ? WHERE id = ?');
    this.deleteStatement = db.prepare<[string]>('DELETE FROM users WHERE id = ?');
    this.listTokensStatement = db.prepare<[], TokenRow>('SELECT * FROM api_tokens ORDER BY created_ms, id');
    this.getTokenStatement = db.prepare<[string], TokenRow>('SELECT * FROM api_tokens WHERE id = ?');
    this.insertTokenStatement = db.prepare<[string, string, Role, string, string, number, number | null]>(
      'INSERT INTO api_tokens (id, name, role, secret_hash, created_by, created_ms, revoked_ms) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    this.revokeTokenStatement = db.prepare<[number, string]>('UPDATE api_tokens SET revoked_ms = ? WHERE id = ? AND revoked_ms IS NULL');
  }

  list(): UserRecord[] {
    return this.listStatement.all().map(userFromRow);
  }

  get(id: string): UserRecord | undefined {
    const row = this.getStatement.get(id);
    return row === undefined ? undefined : userFromRow(row);
  }

  countActiveAdmins(): number {
    return this.countAdminsStatement.get()?.n ?? 0;
  }

  insert(user: UserRecord): void {
    this.insertStatement.run(user.id, user.role, user.passwordHash, user.disabled ? 1 : 0, user.createdMs);
  }

  update(user: UserRecord): void {
    this.updateStatement.run(user.role, user.passwordHash, user.disabled ? 1 : 0, user.id);
  }

  delete(id: string): void {
    this.deleteStatement.run(id);
  }

  listTokens(): ApiTokenRecord[] {
    return this.listTokensStatement.all().map(tokenFromRow);
  }

  getToken(id: string): ApiTokenRecord | undefined {
    const row = this.getTokenStatement.get(id);
    return row === undefined ? undefined : tokenFromRow(row);
  }

  insertToken(token: ApiTokenRecord): void {
    this.insertTokenStatement.run(token.id, token.name, token.role, token.secretHash, token.createdBy, token.createdMs, token.revokedMs);
  }

  revokeToken(id: string, revokedMs: number): void {
    this.revokeTokenStatement.run(revokedMs, id);
  }
}
