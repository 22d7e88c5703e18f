import type { DeviceContext, Reading } from '../core/model.ts';

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

/** Where telemetry goes: SQLite inside the gateway, or InfluxDB. */
export interface TelemetrySink {
  readonly name: string;
  /** Stores a batch. Resolves when the points are durable (or safely spooled). */
  write(points: TelemetryPoint[]): Promise<void>;
  /** Stores readings as they came off the bus; sinks may skip building point objects. */
  writeBatches?(batches: ReadingBatch[]): Promise<void>;
  query(q: TelemetryQuery): Promise<StoredReading[]>;
  /** Points waiting on disk for an unreachable server. */
  backlog(): number;
  close(): Promise<void>;
}
