import type { Db } from './database.ts';

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
  online: r.online === 1,
  lastSeen: r.last_seen,
  battery: r.battery,
  firstMessageAt: r.first_message_at,
  createdAt: r.created_at,
  decommissionedAt: r.decommissioned_at,
});

export interface DeviceLiveState {
  id: string;
  online: boolean;
  lastSeen: number | null;
  battery: number | null;
  firstMessageAt: number | null;
}

export class DeviceRepository {
  readonly #db: Db;
  readonly #saveLive: (rows: DeviceLiveState[]) => void;

  constructor(db: Db) {
    this.#db = db;
    const update = db.prepare(
      'UPDATE devices SET online = ?, last_seen = ?, battery = ?, first_message_at = coalesce(first_message_at, ?) WHERE id = ?',
    );
    this.#saveLive = db.transaction((rows: DeviceLiveState[]) => {
      for (const r of rows) update.run(r.online ? 1 : 0, r.lastSeen, r.battery, r.firstMessageAt, r.id);
    });
  }

  insert(d: DeviceRecord): void {
    this.#db
      .prepare(
        `INSERT INTO devices (id, profile_id, resident_id, station_id, provider_id, secret_hash, online, last_seen, battery, first_message_at, created_at, decommissioned_at)
         VALUES (?, ?, ?, ?, ?, ?, 0, NULL, NULL, NULL, ?, NULL)`,
      )
      .run(d.id, d.profileId, d.residentId, d.stationId, d.providerId, d.secretHash, d.createdAt);
  }

  get(id: string): DeviceRecord | undefined {
    const row = this.#db.prepare('SELECT * FROM devices WHERE id = ?').get(id) as Row | undefined;
    return row && toDevice(row);
  }

  list(): DeviceRecord[] {
    return (this.#db.prepare('SELECT * FROM devices ORDER BY created_at, id').all() as Row[]).map(toDevice);
  }

  /** Writes the in-memory live state of many devices in one transaction. */
  saveLiveState(rows: DeviceLiveState[]): void {
    if (rows.length > 0) this.#saveLive(rows);
  }

  setSecretHash(id: string, secretHash: string): void {
    this.#db.prepare('UPDATE devices SET secret_hash = ? WHERE id = ?').run(secretHash, id);
  }

  decommission(id: string, now: number): void {
    this.#db.prepare('UPDATE devices SET decommissioned_at = ?, online = 0 WHERE id = ? AND decommissioned_at IS NULL').run(now, id);
  }

  /** On start every device is offline until it connects again. */
  markAllOffline(): void {
    this.#db.prepare('UPDATE devices SET online = 0 WHERE online = 1').run();
  }
}
