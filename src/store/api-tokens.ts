import { sha256 } from '../core/secrets.ts';
import type { Db } from './database.ts';

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
 * expiring). Tokens are 256-bit random, so a SHA-256 digest is stored.
 */
export class ApiTokenRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }
  insert(token: string, label: string, role: string, now: number, login?: { userId: string; expiresAt: number }): void {
    this.#db
      .prepare('INSERT INTO api_tokens (label, role, token_hash, created_at, user_id, expires_at) VALUES (?, ?, ?, ?, ?, ?)')
      .run(label, role, sha256(token), now, login?.userId ?? null, login?.expiresAt ?? null);
  }
  /** A token that is neither revoked nor expired at `now`. */
  find(token: string, now: number): ApiToken | undefined {
    return this.#db
      .prepare(
        'SELECT id, label, role, user_id AS userId, expires_at AS expiresAt FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL AND (expires_at IS NULL OR expires_at > ?)',
      )
      .get(sha256(token), now) as ApiToken | undefined;
  }
  count(): number {
    return this.#db.prepare('SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL AND user_id IS NULL').pluck().get() as number;
  }
  revoke(token: string, now: number): boolean {
    return this.#db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE token_hash = ? AND revoked_at IS NULL').run(now, sha256(token)).changes > 0;
  }
  revokeAll(label: string, now: number): void {
    this.#db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE label = ? AND revoked_at IS NULL AND user_id IS NULL').run(now, label);
  }
  revokeUser(userId: string, now: number): number {
    return this.#db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL').run(now, userId).changes;
  }
}
