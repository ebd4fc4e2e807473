import type { Migration } from './types.js';

export const usersAndAudit: Migration = {
  version: 6,
  name: 'users, API tokens and the audit log',
  sql: `
    CREATE TABLE users (
      id TEXT PRIMARY KEY,
      role TEXT NOT NULL CHECK (role IN ('admin', 'security', 'viewer')),
      password_hash TEXT NOT NULL,
      disabled INTEGER NOT NULL DEFAULT 0,
      created_ms INTEGER NOT NULL
    );
    CREATE TABLE api_tokens (
      id TEXT PRIMARY KEY,
      name TEXT NOT NULL,
      role TEXT NOT NULL CHECK (role IN ('admin', 'security', 'viewer')),
      secret_hash TEXT NOT NULL,
      created_by TEXT NOT NULL,
      created_ms INTEGER NOT NULL,
      revoked_ms INTEGER
    );
    CREATE TABLE audit (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      time_ms INTEGER NOT NULL,
      actor TEXT NOT NULL,
      source TEXT NOT NULL,
      action TEXT NOT NULL,
      target TEXT,
      before TEXT,
      after TEXT
    );
    CREATE INDEX audit_time ON audit (time_ms);
  `,
};
