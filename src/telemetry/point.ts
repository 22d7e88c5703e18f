import type { DeviceContext, Reading } from '../core/model.ts';
import type { ColumnBatch } from './columns.ts';

/** One reading ready for storage, tagged with where the device sits. */
export interface TelemetryPoint {
  deviceId: string;
  kind: string;
  value: number;
  ts: number;
  residentId: string | null;
  stationId: string | null;
  profileId: string;
  /**
   * Operational series (alarm lifecycle, fleet state, dead letters; see
   * operations.ts) carry tags and fields beyond the reading's; readings have none.
   */
  tags?: Record<string, string>;
  fields?: Record<string, number>;
}

/** What the hot path hands to the writer: one message's readings with their device's context. */
export interface ReadingBatch {
  device: DeviceContext;
  readings: Reading[];
}

export function toPoints(batches: readonly ReadingBatch[]): TelemetryPoint[] {
  const points: TelemetryPoint[] = [];
  for (const { device, readings } of batches) {
    for (const r of readings) {
      points.push({ deviceId: r.deviceId, kind: r.kind, value: r.value, ts: r.ts, residentId: device.residentId, stationId: device.stationId, profileId: device.profileId });
    }
  }
  return points;
}

export interface TelemetryQuery {
  deviceId: string;
  kind?: string;
  from: number;
  to: number;
  limit?: number;
}

export interface StoredReading {
  kind: string;
  ts: number;
  value: number;
}

/** Readings of one device over a time range, averaged into buckets of `bucketMs` (charts). */
export interface SeriesQuery {
  deviceId: string;
  /** Reading kinds; all when absent. */
  kinds?: string[];
  from: number;
  to: number;
  bucketMs: number;
}

/** One bucket: starts at `t`, holds `n` readings. */
export interface SeriesPoint {
  t: number;
  mean: number;
  min: number;
  max: number;
  n: number;
}

export interface Series {
  kind: string;
  points: SeriesPoint[];
}

/** Buckets readings (any order) aligned to `from`, one at a time: for sinks that cannot aggregate themselves. */
export class Buckets {
  readonly #from: number;
  readonly #bucketMs: number;
  readonly #byKind = new Map<string, Map<number, SeriesPoint>>();

  constructor(from: number, bucketMs: number) {
    this.#from = from;
    this.#bucketMs = bucketMs;
  }

  add(kind: string, ts: number, value: number): void {
    let buckets = this.#byKind.get(kind);
    if (!buckets) this.#byKind.set(kind, (buckets = new Map()));
    const t = this.#from + Math.floor((ts - this.#from) / this.#bucketMs) * this.#bucketMs;
    const p = buckets.get(t);
    if (!p) buckets.set(t, { t, mean: value, min: value, max: value, n: 1 });
    else {
      p.mean += (value - p.mean) / ++p.n;
      p.min = Math.min(p.min, value);
      p.max = Math.max(p.max, value);
    }
  }

  series(): Series[] {
    return [...this.#byKind]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([kind, buckets]) => ({ kind, points: [...buckets.values()].sort((a, b) => a.t - b.t) }));
  }
}

export function bucketize(readings: readonly StoredReading[], from: number, bucketMs: number): Series[] {
  const buckets = new Buckets(from, bucketMs);
  for (const r of readings) buckets.add(r.kind, r.ts, r.value);
  return buckets.series();
}

/** Where telemetry goes: SQLite inside the gateway, or InfluxDB. */
export interface TelemetrySink {
  readonly name: string;
  /** Stores a batch. Resolves when the points are durable (or safely spooled). */
  write(points: TelemetryPoint[]): Promise<void>;
  /** Readings a write carries under load; the writer's default (16,384) when unset. */
  readonly batchSize?: number;
  /** Stores readings already in columns (the writer builds them as readings arrive). */
  writeColumns?(batch: ColumnBatch): Promise<void>;
  query(q: TelemetryQuery): Promise<StoredReading[]>;
  /** Downsampled series for charts, aggregated where the data lives. */
  series(q: SeriesQuery): Promise<Series[]>;
  /** Points waiting on disk for an unreachable server. */
  backlog(): number;
  /**
   * Deletes readings older than `cutoff` and says how many (the retention job); 0 where the server
   * keeps its own retention (InfluxDB's policies).
   */
  pruneBefore?(cutoff: number): Promise<number>;
  close(): Promise<void>;
}
