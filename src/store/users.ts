import type { SqlClient } from './sql-client.ts';
import { Replica } from './replica.ts';

export const roles = ['admin', 'operator', 'provider', 'family', 'visitor'] as const;
export type Role = (typeof roles)[number];

/** An account. Its scope: operator → stationId (and below), provider → providerId, family → residentId. */
export interface User {
  id: string;
  username: string;
  passwordHash: string;
  role: Role;
  displayName: string | null;
  stationId: string | null;
  providerId: string | null;
  residentId: string | null;
  /** A family account: who the person is to the resident (son, daughter …). */
  relation: string | null;
  createdAt: number;
  disabledAt: number | null;
}

interface Row {
  id: string;
  username: string;
  password_hash: string;
  role: Role;
  display_name: string | null;
  station_id: string | null;
  provider_id: string | null;
  resident_id: string | null;
  relation: string | null;
  created_at: number;
  disabled_at: number | null;
}

const toUser = (r: Row): User => ({
  id: r.id,
  username: r.username,
  passwordHash: r.password_hash,
  role: r.role,
  displayName: r.display_name,
  stationId: r.station_id,
  providerId: r.provider_id,
  residentId: r.resident_id,
  relation: r.relation,
  createdAt: Number(r.created_at),
  disabledAt: r.disabled_at === null ? null : Number(r.disabled_at),
});

/** Accounts, on the store interface (SqlClient: embedded SQLite or PostgreSQL). User names are matched without regard to case. */
export class UserRepository {
  readonly #sql: SqlClient;
  readonly #byName: string;
  constructor(sql: SqlClient) {
    this.#sql = sql;
    // SQLite's column is COLLATE NOCASE (its unique index serves the lookup); PostgreSQL's unique index is on lower(username).
    this.#byName = sql.dialect === 'postgres' ? 'SELECT * FROM users WHERE lower(username) = lower(?)' : 'SELECT * FROM users WHERE username = ?';
  }

  async insert(u: User): Promise<void> {
    await this.#sql.run(
      'INSERT INTO users (id, username, password_hash, role, display_name, station_id, provider_id, resident_id, relation, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      [u.id, u.username, u.passwordHash, u.role, u.displayName, u.stationId, u.providerId, u.residentId, u.relation, u.createdAt],
    );
  }

  async get(id: string): Promise<User | undefined> {
    const row = await this.#sql.get<Row>('SELECT * FROM users WHERE id = ?', [id]);
    return row && toUser(row);
  }

  async byUsername(username: string): Promise<User | undefined> {
    const row = await this.#sql.get<Row>(this.#byName, [username]);
    return row && toUser(row);
  }

  async list(): Promise<User[]> {
    return (await this.#sql.all<Row>('SELECT * FROM users ORDER BY created_at, username')).map(toUser);
  }

  async count(): Promise<number> {
    const row = await this.#sql.get<{ n: number }>('SELECT count(*) AS n FROM users');
    return Number(row?.n ?? 0);
  }

  async setPassword(id: string, passwordHash: string): Promise<void> {
    await this.#sql.run('UPDATE users SET password_hash = ? WHERE id = ?', [passwordHash, id]);
  }

  async enable(id: string): Promise<void> {
    await this.#sql.run('UPDATE users SET disabled_at = NULL WHERE id = ?', [id]);
  }

  async setDisplayName(id: string, displayName: string): Promise<void> {
    await this.#sql.run('UPDATE users SET display_name = ? WHERE id = ?', [displayName, id]);
  }

  async disable(id: string, now: number): Promise<void> {
    await this.#sql.run('UPDATE users SET disabled_at = ? WHERE id = ? AND disabled_at IS NULL', [now, id]);
  }
}

export interface Provider {
  id: string;
  name: string;
  /** Where its notifications go (a fault not fixed in 2 h, buttons overdue for their test); null: none. */
  webhookUrl: string | null;
  createdAt: number;
}

/**
 * Home-bed provider companies: they onboard devices and serve residents. A
 * district has tens of them, named on every alarm's targets and service
 * request, so they are kept in memory like the station tree: read from
 * there, written to the store (SqlClient) before memory changes, `load()`ed
 * at start.
 */
export class ProviderRepository {
  readonly #sql: SqlClient;
  #byId = new Map<string, Provider>();
  readonly #replica: Replica;
  constructor(sql: SqlClient) {
    this.#sql = sql;
    this.#replica = new Replica(sql, 'carebell_providers', () => this.#read());
  }
  /** Reads them all, and from then on again whenever another node changes them. */
  load(): Promise<void> {
    return this.#replica.load();
  }
  /** Resolves once a change another node made has been read. */
  nextReload(): Promise<void> {
    return this.#replica.nextReload();
  }
  /** Resolves once no reload another node's change brought is under way. */
  settled(): Promise<void> {
    return this.#replica.settled();
  }
  /** How many times they were read again for another node's change. */
  get reloads(): number {
    return this.#replica.reloads;
  }
  async #read(): Promise<void> {
    const rows = await this.#sql.all<{ id: string; name: string; webhook_url: string | null; created_at: number }>('SELECT id, name, webhook_url, created_at FROM providers');
    this.#byId = new Map(rows.map((r) => [r.id, { id: r.id, name: r.name, webhookUrl: r.webhook_url, createdAt: Number(r.created_at) }]));
  }
  async insert(p: Provider): Promise<void> {
    await this.#sql.run('INSERT INTO providers (id, name, webhook_url, created_at) VALUES (?, ?, ?, ?)', [p.id, p.name, p.webhookUrl, p.createdAt]);
    this.#byId.set(p.id, { ...p });
    await this.#replica.changed(p.id);
  }
  async setWebhookUrl(id: string, url: string | null): Promise<void> {
    await this.#sql.run('UPDATE providers SET webhook_url = ? WHERE id = ?', [url, id]);
    const p = this.#byId.get(id);
    if (p) this.#byId.set(id, { ...p, webhookUrl: url });
    await this.#replica.changed(id);
  }
  get(id: string): Provider | undefined {
    return this.#byId.get(id);
  }
  byName(name: string): Provider | undefined {
    for (const p of this.#byId.values()) if (p.name === name) return p;
    return undefined;
  }
  /** By name. */
  list(): Provider[] {
    return [...this.#byId.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }
}
