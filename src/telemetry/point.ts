/** One reading ready for storage, tagged with where the device sits. */
export interface TelemetryPoint {
  deviceId: string;
  kind: string;
  value: number;
  ts: number;
  residentId: string | null;
  stationId: string | null;
  profileId: string;
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
  query(q: TelemetryQuery): Promise<StoredReading[]>;
  /** Points waiting on disk for an unreachable server. */
  backlog(): number;
  close(): Promise<void>;
}
