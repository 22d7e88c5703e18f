import { InfluxDB, type IPoint } from 'influx';
import type { Series, SeriesQuery, StoredReading, TelemetryPoint, TelemetryQuery } from './point.ts';
import { RejectedPointsError, type RemoteWriter } from './remote-sink.ts';

/**
 * InfluxDB 1.x through the `influx` client. `CAREBELL_INFLUX_URL` is
 * `http://[user:pass@]host:8086/dbname`. One measurement per reading kind
 * (heart_rate, spo2, …), field `value`, tags device, resident, station, profile.
 */
export function parseInfluxV1Url(url: string): { protocol: 'http' | 'https'; host: string; port: number; database: string; username?: string; password?: string } {
  const u = new URL(url);
  const database = decodeURIComponent(u.pathname.replace(/^\/+|\/+$/g, ''));
  if (!database) throw new Error(`CAREBELL_INFLUX_URL must name the database, e.g. http://localhost:8086/carebell (got ${url})`);
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new Error(`CAREBELL_INFLUX_URL must be http or https (got ${u.protocol})`);
  return {
    protocol: u.protocol === 'https:' ? 'https' : 'http',
    host: u.hostname,
    port: u.port ? Number(u.port) : 8086,
    database,
    ...(u.username ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : {}),
  };
}

export const toTags = (p: TelemetryPoint): Record<string, string> => {
  const tags: Record<string, string> = { device: p.deviceId, profile: p.profileId };
  if (p.residentId) tags.resident = p.residentId;
  if (p.stationId) tags.station = p.stationId;
  return p.tags ? Object.assign(tags, p.tags) : tags;
};

/** Reading kinds are plain snake_case names; operational series live under `carebell.` and never match. */
const READING_MEASUREMENTS = '/^[a-z0-9_]+$/';

const escapeIdent = (s: string): string => `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
const escapeString = (s: string): string => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

export class InfluxV1Writer implements RemoteWriter {
  readonly name = 'influx';
  readonly client: InfluxDB;
  readonly database: string;
  #databaseReady = false;

  constructor(url: string, requestTimeoutMs = 10_000) {
    const cfg = parseInfluxV1Url(url);
    this.database = cfg.database;
    this.client = new InfluxDB({ ...cfg, pool: { maxRetries: 0, requestTimeout: requestTimeoutMs } });
  }

  async write(points: TelemetryPoint[]): Promise<void> {
    if (!this.#databaseReady) {
      await this.client.createDatabase(this.database); // idempotent on the server
      this.#databaseReady = true;
    }
    // Whole milliseconds: InfluxDB refuses a fractional timestamp ('bad timestamp'); a simulated clock has them.
    const ipoints: IPoint[] = points.map((p) => ({ measurement: p.kind, tags: toTags(p), fields: p.fields ? { value: p.value, ...p.fields } : { value: p.value }, timestamp: Math.round(p.ts) }));
    try {
      await this.client.writePoints(ipoints, { precision: 'ms', database: this.database });
    } catch (err) {
      const status = (err as { res?: { statusCode?: number } }).res?.statusCode;
      if (status === 404) this.#databaseReady = false; // dropped meanwhile: created again on the next try
      // 400: the server refuses these points themselves (a parse error, a field type conflict); sending them again cannot help.
      if (status === 400) throw new RejectedPointsError((err as Error).message);
      throw err;
    }
  }

  async query(q: TelemetryQuery): Promise<StoredReading[]> {
    const measurements = q.kind ? [q.kind] : undefined;
    const from = escapeIdent;
    const where = `device = ${escapeString(q.deviceId)} AND time >= ${q.from}ms AND time < ${q.to}ms`;
    // Without a kind: every reading measurement, not the operational `carebell.*` series.
    const target = measurements ? measurements.map(from).join(', ') : READING_MEASUREMENTS;
    const rows = await this.client.query<{ time: Date; value: number }>(
      `SELECT value FROM ${target} WHERE ${where} ORDER BY time LIMIT ${q.limit ?? 10_000}`,
      { precision: 'ms', database: this.database },
    );
    // A multi-measurement query returns one group per measurement.
    const groups = rows.groups();
    const out: StoredReading[] = [];
    for (const g of groups) for (const r of g.rows) out.push({ kind: g.name, ts: new Date(r.time).getTime(), value: r.value });
    return out.sort((a, b) => a.ts - b.ts || a.kind.localeCompare(b.kind));
  }

  /** Aggregated by InfluxDB: GROUP BY time() with an offset so buckets start at `from`. */
  async series(q: SeriesQuery): Promise<Series[]> {
    const bucket = Math.max(1, Math.floor(q.bucketMs));
    const target = q.kinds && q.kinds.length > 0 ? q.kinds.map(escapeIdent).join(', ') : READING_MEASUREMENTS;
    const rows = await this.client.query<{ time: Date; mean: number; min: number; max: number; n: number }>(
      `SELECT mean(value) AS mean, min(value) AS min, max(value) AS max, count(value) AS n FROM ${target}
       WHERE device = ${escapeString(q.deviceId)} AND time >= ${Math.floor(q.from)}ms AND time < ${Math.ceil(q.to)}ms
       GROUP BY time(${bucket}ms, ${((Math.floor(q.from) % bucket) + bucket) % bucket}ms) fill(none)`,
      { precision: 'ms', database: this.database },
    );
    return rows
      .groups()
      .map((g) => ({ kind: g.name, points: g.rows.map((r) => ({ t: new Date(r.time).getTime(), mean: r.mean, min: r.min, max: r.max, n: r.n })) }))
      .sort((a, b) => a.kind.localeCompare(b.kind));
  }

  async close(): Promise<void> {}
}
