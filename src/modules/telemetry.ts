import { join } from 'node:path';
import type { Config } from '../config/config.ts';
import { SqliteTelemetrySink } from '../telemetry/sqlite-sink.ts';
import { SpoolingRemoteSink } from '../telemetry/remote-sink.ts';
import { InfluxV1Writer } from '../telemetry/influx-v1.ts';
import { InfluxV2Writer } from '../telemetry/influx-v2.ts';
import { PostgresTelemetryWriter } from '../telemetry/postgres-sink.ts';
import { PostgresClient } from '../store/sql-client.ts';
import type { TelemetrySink } from '../telemetry/point.ts';
import { TelemetryWriter } from '../telemetry/writer.ts';
import { OperationsRecorder } from '../telemetry/operations.ts';
import type { DevicesModule } from './devices.ts';
import type { Basics, Closes } from './module.ts';
import type { StorageModule } from './storage.ts';

export interface TelemetryOptions {
  retryMinMs?: number;
  retryMaxMs?: number;
}

export interface TelemetryModule extends Closes {
  sink: TelemetrySink;
  writer: TelemetryWriter;
  /** Alarm lifecycle, fleet state and dead-letter series for Grafana; only when telemetry goes to InfluxDB. */
  operations: OperationsRecorder | undefined;
}

/** Where readings go: InfluxDB when configured; else the shared PostgreSQL database when there is one (several nodes must all see every reading); else the embedded file. */
function createSink(config: Config, needs: Basics, opts: TelemetryOptions | undefined): TelemetrySink {
  const spool = (name: string) => ({
    spoolDir: join(config.dataDir, 'spool', name),
    log: needs.log,
    onBacklogChange: (n: number) => needs.metrics.telemetrySpool.set(n),
    onRejected: (n: number) => needs.metrics.telemetryRejected.inc(n),
    ...(opts?.retryMinMs !== undefined ? { retryMinMs: opts.retryMinMs } : {}),
    ...(opts?.retryMaxMs !== undefined ? { retryMaxMs: opts.retryMaxMs } : {}),
  });
  if (config.influxUrl) return new SpoolingRemoteSink(new InfluxV1Writer(config.influxUrl), spool('influx'));
  if (config.influxV2Url) {
    const v2 = { url: config.influxV2Url, token: config.influxV2Token!, org: config.influxV2Org!, bucket: config.influxV2Bucket! };
    return new SpoolingRemoteSink(new InfluxV2Writer(v2), spool('influx-v2'));
  }
  if (config.databaseUrl) {
    const sql = new PostgresClient(config.databaseUrl, { max: 2, applicationName: `carebell ${config.nodeId} telemetry`.slice(0, 63) });
    return new SpoolingRemoteSink(new PostgresTelemetryWriter(sql), spool('postgres'));
  }
  return new SqliteTelemetrySink(config.dataDir);
}

/** Readings from ingest to embedded SQLite, InfluxDB or the shared PostgreSQL database, in batches; telemetry gives way first when the disk is low. */
export function telemetryModule(needs: Basics & { config: Config; storage: StorageModule; devices: DevicesModule; options?: TelemetryOptions | undefined }): TelemetryModule {
  const { config, storage, devices, bus, clock, metrics, log } = needs;
  const sink = createSink(config, needs, needs.options);
  const writer = new TelemetryWriter(sink, {
    log,
    flushMs: config.telemetryFlushMs,
    onStored: (n) => metrics.telemetryStored.inc(n),
    // With the disk low or unwritable, events and alarms keep what room is left.
    shed: () => storage.health.shedTelemetry,
    onShed: (n) => metrics.telemetryShed.inc(n),
  });
  const operations =
    sink instanceof SpoolingRemoteSink && sink.name.startsWith('influx')
      ? new OperationsRecorder({ bus, sink, directory: devices.directory, stationName: (id) => storage.repos.stations.get(id)?.name, clock, log, flushMs: 5_000, snapshotMs: 60_000 })
      : undefined;
  return {
    sink,
    writer,
    operations,
    async close() {
      await operations?.close();
      await writer.close(); // flush buffered readings
    },
  };
}
