import { sha256 } from '../core/secrets.ts';
import type { SqlClient } from './sql-client.ts';

export interface ApiToken {
  id: number;
  label: string;
  role: string;
  /** Set for a login: the user it acts for. Unset for an automation token (admin). */
  userId: string | null;
  expiresAt: number | null;
}

/**
 * Bearer tokens: automation tokens (no expiry) and logins (bound to a user,
 * expiring), on the store interface (SqlClient). Tokens are 256-bit random,
 * so a SHA-256 digest is stored.
 */
export class ApiTokenRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }
  async insert(token: string, label: string, role: string, now: number, login?: { userId: string; expiresAt: number }): Promise<void> {
    await this.#sql.run('INSERT INTO api_tokens (label, role, token_hash, created_at, user_id, expires_at) VALUES (?, ?, ?, ?, ?, ?)', [
      label,
      role,
      sha256(token),
      now,
      login?.userId ?? null,
      login?.expiresAt ?? null,
    ]);
  }
  /** A token that is neither revoked nor expired at `now`. */
  async find(token: string, now: number): Promise<ApiToken | undefined> {
    const row = await this.#sql.get<{ id: number; label: string; role: string; user_id: string | null; expires_at: number | null }>(
      'SELECT id, label, role, user_id, expires_at FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)',
      [sha256(token), now],
    );
    return row && { id: Number(row.id), label: row.label, role: row.role, userId: row.user_id, expiresAt: row.expires_at === null ? null : Number(row.expires_at) };
  }
  /** Automation tokens in force. */
  async count(): Promise<number> {
    const row = await this.#sql.get<{ n: number }>('SELECT count(*) AS n FROM api_tokens WHERE revoked_at IS NULL AND user_id IS NULL');
    return Number(row?.n ?? 0);
  }
  async revoke(token: string, now: number): Promise<boolean> {
    return (await this.#sql.run('UPDATE api_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL', [now, sha256(token)])).changes > 0;
  }
  async revokeAll(label: string, now: number): Promise<void> {
    await this.#sql.run('UPDATE api_tokens SET revoked_at = ? WHERE label = ? AND revoked_at IS NULL AND user_id IS NULL', [now, label]);
  }
  async revokeUser(userId: string, now: number): Promise<number> {
    return (await this.#sql.run('UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL', [now, userId])).changes;
  }
}
