import { InfluxDB, Point, setLogger, type WriteApi } from '@influxdata/influxdb-client';
import { RejectedPointsError } from './remote-sink.ts';
import { bucketize, type Series, type SeriesQuery, type StoredReading, type TelemetryPoint, type TelemetryQuery } from './point.ts';
import type { RemoteWriter } from './remote-sink.ts';
import { toTags } from './influx-v1.ts';

export interface InfluxV2Config {
  url: string;
  token: string;
  org: string;
  bucket: string;
}

/**
 * InfluxDB 2.x through its native API. The client's own retry buffer is turned
 * off (maxRetries 0): the spooling sink in front owns retries, so a point is
 * never held in two places.
 */
// The client logs each failed write to the console; the spooling sink reports failures itself.
setLogger({ error: () => {}, warn: () => {} });

export class InfluxV2Writer implements RemoteWriter {
  readonly name = 'influx-v2';
  readonly #client: InfluxDB;
  readonly #cfg: InfluxV2Config;

  constructor(cfg: InfluxV2Config, timeoutMs = 10_000) {
    this.#cfg = cfg;
    this.#client = new InfluxDB({ url: cfg.url, token: cfg.token, timeout: timeoutMs });
  }

  #writeApi(): WriteApi {
    return this.#client.getWriteApi(this.#cfg.org, this.#cfg.bucket, 'ms', {
      maxRetries: 0,
      batchSize: 1_000_000,
      flushInterval: 0,
      writeFailed: () => {
        /* reported through flush()'s rejection; the spool retries */
      },
    });
  }

  async write(points: TelemetryPoint[]): Promise<void> {
    const api = this.#writeApi();
    try {
      for (const p of points) {
        const point = new Point(p.kind).floatField('value', p.value).timestamp(Math.round(p.ts));
        for (const [k, v] of Object.entries(toTags(p))) point.tag(k, v);
        if (p.fields) for (const [k, v] of Object.entries(p.fields)) point.floatField(k, v);
        api.writePoint(point);
      }
      await api.flush(true);
    } catch (err) {
      if ((err as { statusCode?: number }).statusCode === 400) throw new RejectedPointsError((err as Error).message);
      throw err;
    } finally {
      await api.close().catch(() => {});
    }
  }

  async query(q: TelemetryQuery): Promise<StoredReading[]> {
    const api = this.#client.getQueryApi(this.#cfg.org);
    const filterKind = q.kind ? ` and r._measurement == ${JSON.stringify(q.kind)}` : '';
    const flux = `from(bucket: ${JSON.stringify(this.#cfg.bucket)})
      |> range(start: ${new Date(q.from).toISOString()}, stop: ${new Date(q.to).toISOString()})
      |> filter(fn: (r) => r.device == ${JSON.stringify(q.deviceId)} and r._field == "value" and r._measurement !~ /^carebell\./${filterKind})
      |> limit(n: ${q.limit ?? 10_000})`;
    const rows = await api.collectRows<{ _measurement: string; _time: string; _value: number }>(flux);
    return rows.map((r) => ({ kind: r._measurement, ts: Date.parse(r._time), value: r._value })).sort((a, b) => a.ts - b.ts);
  }

  /** Raw readings bucketed here: one code path for every 2.x version's Flux. */
  async series(q: SeriesQuery): Promise<Series[]> {
    const kinds = q.kinds && q.kinds.length > 0 ? q.kinds : [undefined];
    const readings = (await Promise.all(kinds.map((kind) => this.query({ deviceId: q.deviceId, from: q.from, to: q.to, limit: 200_000, ...(kind ? { kind } : {}) })))).flat();
    return bucketize(readings, q.from, q.bucketMs);
  }

  async close(): Promise<void> {}
}
