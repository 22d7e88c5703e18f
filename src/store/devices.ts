import type { SqlClient } from './sql-client.ts';
import { sqlOf, type Tx } from './unit-of-work.ts';

export interface DeviceRecord {
  id: string;
  profileId: string;
  residentId: string | null;
  stationId: string | null;
  providerId: string | null;
  secretHash: string;
  online: boolean;
  lastSeen: number | null;
  battery: number | null;
  firstMessageAt: number | null;
  createdAt: number;
  decommissionedAt: number | null;
}

interface Row {
  id: string;
  profile_id: string;
  resident_id: string | null;
  station_id: string | null;
  provider_id: string | null;
  secret_hash: string;
  online: number;
  last_seen: number | null;
  battery: number | null;
  first_message_at: number | null;
  created_at: number;
  decommissioned_at: number | null;
}

const toDevice = (r: Row): DeviceRecord => ({
  id: r.id,
  profileId: r.profile_id,
  residentId: r.resident_id,
  stationId: r.station_id,
  providerId: r.provider_id,
  secretHash: r.secret_hash,
  online: Number(r.online) === 1,
  lastSeen: r.last_seen === null ? null : Number(r.last_seen),
  battery: r.battery === null ? null : Number(r.battery),
  firstMessageAt: r.first_message_at === null ? null : Number(r.first_message_at),
  createdAt: Number(r.created_at),
  decommissionedAt: r.decommissioned_at === null ? null : Number(r.decommissioned_at),
});

export interface DeviceLiveState {
  id: string;
  online: boolean;
  lastSeen: number | null;
  battery: number | null;
  firstMessageAt: number | null;
}

/** Live state rows written by one statement. */
const LIVE_ROWS_PER_STATEMENT = 200;

/**
 * The devices' records, on the store interface (SqlClient: embedded SQLite or
 * PostgreSQL). The device directory (devices/directory.ts) keeps them in
 * memory for the pipeline; this is what is saved of them.
 */
export class DeviceRepository {
  readonly #sql: SqlClient;
  constructor(sql: SqlClient) {
    this.#sql = sql;
  }

  /**
   * Hears the devices other nodes add or change (NOTIFY on PostgreSQL): `fn`
   * gets the device's id, or null when changes may have been missed (the
   * listening connection was cut). Nothing on the embedded database.
   */
  async listen(fn: (deviceId: string | null) => void): Promise<void> {
    await this.#sql.listen?.('carebell_devices', fn);
  }

  /** Tells the other nodes a device was added or changed (a notice that cannot be sent does not fail the change). */
  async #changed(id: string): Promise<void> {
    await this.#sql.notify?.('carebell_devices', id).catch(() => {});
  }

  /** Within `tx` when given (a CSV import writes every row in one; the other nodes hear of it once it commits). */
  async insert(d: DeviceRecord, tx?: Tx): Promise<void> {
    await (tx ? sqlOf(tx) : this.#sql).run(
      `INSERT INTO devices (id, profile_id, resident_id, station_id, provider_id, secret_hash, online, last_seen, battery, first_message_at, created_at, decommissioned_at)
       VALUES (?, ?, ?, ?, ?, ?, 0, NULL, NULL, NULL, ?, NULL)`,
      [d.id, d.profileId, d.residentId, d.stationId, d.providerId, d.secretHash, d.createdAt],
    );
    if (tx) tx.afterCommit(() => void this.#changed(d.id));
    else await this.#changed(d.id);
  }

  async get(id: string): Promise<DeviceRecord | undefined> {
    const row = await this.#sql.get<Row>('SELECT * FROM devices WHERE id = ?', [id]);
    return row && toDevice(row);
  }

  async list(): Promise<DeviceRecord[]> {
    return (await this.#sql.all<Row>('SELECT * FROM devices ORDER BY created_at, id')).map(toDevice);
  }

  /**
   * Writes the in-memory live state of many devices in one transaction, a few
   * hundred rows per statement (one UPDATE … FROM a list of values, in both
   * dialects: a thousand devices are a handful of round trips on PostgreSQL).
   */
  async saveLiveState(rows: DeviceLiveState[]): Promise<void> {
    if (rows.length === 0) return;
    await this.#sql.transaction(async (tx) => {
      for (let i = 0; i < rows.length; i += LIVE_ROWS_PER_STATEMENT) {
        const chunk = rows.slice(i, i + LIVE_ROWS_PER_STATEMENT);
        const values = chunk.map(() => '(?, CAST(? AS INTEGER), CAST(? AS BIGINT), CAST(? AS DOUBLE PRECISION), CAST(? AS BIGINT))').join(', ');
        await tx.run(
          `WITH v(id, online, last_seen, battery, first_message_at) AS (VALUES ${values})
           UPDATE devices SET online = v.online, last_seen = v.last_seen, battery = v.battery, first_message_at = coalesce(devices.first_message_at, v.first_message_at)
           FROM v WHERE devices.id = v.id`,
          chunk.flatMap((r) => [r.id, r.online ? 1 : 0, r.lastSeen, r.battery, r.firstMessageAt]),
        );
      }
    });
  }

  async setSecretHash(id: string, secretHash: string): Promise<void> {
    await this.#sql.run('UPDATE devices SET secret_hash = ? WHERE id = ?', [secretHash, id]);
    await this.#changed(id);
  }

  async decommission(id: string, now: number): Promise<void> {
    await this.#sql.run('UPDATE devices SET decommissioned_at = ?, online = 0 WHERE id = ? AND decommissioned_at IS NULL', [now, id]);
    await this.#changed(id);
  }

  /**
   * On start the devices that were connected to this gateway are offline until
   * they connect again: every device on one gateway; with several nodes
   * (`node`), only those this node held (the others are still with theirs).
   */
  async markOffline(node?: string): Promise<void> {
    if (node === undefined) await this.#sql.run('UPDATE devices SET online = 0 WHERE online = 1');
    else await this.#sql.run('UPDATE devices SET online = 0 WHERE online = 1 AND id IN (SELECT device_id FROM device_owners WHERE node_id = ?)', [node]);
  }
}
