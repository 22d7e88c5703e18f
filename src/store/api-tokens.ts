import { sha256 } from '../core/secrets.ts';
import type { Db } from './database.ts';

export interface ApiToken {
  id: number;
  label: string;
  role: string;
}

/** Bearer tokens for automation. Tokens are 256-bit random, so a SHA-256 digest is stored. */
export class ApiTokenRepository {
  readonly #db: Db;
  constructor(db: Db) {
    this.#db = db;
  }
  insert(token: string, label: string, role: string, now: number): void {
    this.#db.prepare('INSERT INTO api_tokens (label, role, token_hash, created_at) VALUES (?, ?, ?, ?)').run(label, role, sha256(token), now);
  }
  find(token: string): ApiToken | undefined {
    return this.#db
      .prepare('SELECT id, label, role FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL')
      .get(sha256(token)) as ApiToken | undefined;
  }
  count(): number {
    return this.#db.prepare('SELECT count(*) FROM api_tokens WHERE revoked_at IS NULL').pluck().get() as number;
  }
  revokeAll(label: string, now: number): void {
    this.#db.prepare('UPDATE api_tokens SET revoked_at = ? WHERE label = ? AND revoked_at IS NULL').run(now, label);
  }
}
