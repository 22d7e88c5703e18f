import type { Db } from '../store/database.ts';
import type { StoredReading, TelemetryPoint, TelemetryQuery, TelemetrySink } from './point.ts';

/** The embedded default: telemetry in the gateway's own SQLite database, pruned by age. */
export class SqliteTelemetrySink implements TelemetrySink {
  readonly name = 'sqlite';
  readonly #db: Db;
  readonly #insertMany: (points: TelemetryPoint[]) => void;

  constructor(db: Db) {
    this.#db = db;
    const insert = db.prepare('INSERT INTO telemetry (device_id, kind, ts, value) VALUES (?, ?, ?, ?)');
    this.#insertMany = db.transaction((points: TelemetryPoint[]) => {
      for (const p of points) insert.run(p.deviceId, p.kind, p.ts, p.value);
    });
  }

  async write(points: TelemetryPoint[]): Promise<void> {
    if (points.length > 0) this.#insertMany(points);
  }

  async query(q: TelemetryQuery): Promise<StoredReading[]> {
    const limit = q.limit ?? 10_000;
    const rows = q.kind
      ? this.#db
          .prepare('SELECT kind, ts, value FROM telemetry WHERE device_id = ? AND kind = ? AND ts >= ? AND ts < ? ORDER BY ts LIMIT ?')
          .all(q.deviceId, q.kind, q.from, q.to, limit)
      : this.#db
          .prepare('SELECT kind, ts, value FROM telemetry WHERE device_id = ? AND ts >= ? AND ts < ? ORDER BY ts, kind LIMIT ?')
          .all(q.deviceId, q.from, q.to, limit);
    return rows as StoredReading[];
  }

  /** Deletes readings older than `cutoff`, in chunks so ingest is never blocked for long. */
  pruneBefore(cutoff: number, chunk = 20_000): number {
    const del = this.#db.prepare('DELETE FROM telemetry WHERE rowid IN (SELECT rowid FROM telemetry WHERE ts < ? LIMIT ?)');
    let total = 0;
    for (;;) {
      const n = del.run(cutoff, chunk).changes;
      total += n;
      if (n < chunk) return total;
    }
  }

  count(): number {
    return this.#db.prepare('SELECT count(*) FROM telemetry').pluck().get() as number;
  }

  backlog(): number {
    return 0;
  }

  async close(): Promise<void> {}
}
