import type { Worker } from 'node:worker_threads';
import { startWorker } from '../core/worker.ts';
import { ColumnBuilder } from './columns.ts';
import { openDatabase, type Db } from '../store/database.ts';
import { telemetryMigrations } from '../store/migrations.ts';
import type { Series, SeriesPoint, SeriesQuery, StoredReading, TelemetryPoint, TelemetryQuery, TelemetrySink } from './point.ts';
import type { ColumnBatch, WorkerReply, WorkerRequest } from './sqlite-worker.ts';

export const TELEMETRY_DB_FILE = 'telemetry.db';

/**
 * A batch touches about one leaf page per device (rows are clustered by
 * device), so with SQLite's default checkpoint every 1,000 pages nearly every
 * batch paid for a checkpoint. Every 10,000 pages (about 40 MB of WAL), a page
 * written by several batches is copied into the database once.
 */
export const DEFAULT_CHECKPOINT_PAGES = 10_000;

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * The embedded default: telemetry in `telemetry.db` beside the gateway's
 * database, one row per device message. Writes go to a worker thread (SQLite work never runs on the
 * broker's thread); reads use a connection of their own (WAL readers never
 * wait for the writer).
 */
export class SqliteTelemetrySink implements TelemetrySink {
  readonly name = 'sqlite';
  readonly #db: Db;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: number | undefined) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #closed: Promise<void> | undefined;

  /** `checkpointPages`: the writer's WAL checkpoint interval (default 10,000 pages; bench:store compares). */
  constructor(dataDir: string, opts: { checkpointPages?: number } = {}) {
    this.#db = openDatabase(dataDir, telemetryMigrations, TELEMETRY_DB_FILE);
    this.#worker = startWorker(new URL(`./sqlite-worker${import.meta.url.endsWith('.ts') ? '.ts' : '.js'}`, import.meta.url), {
      file: this.#db.name,
      checkpointPages: opts.checkpointPages ?? DEFAULT_CHECKPOINT_PAGES,
    });
    this.#worker.on('message', (reply: WorkerReply) => {
      const waiter = this.#pending.get(reply.id);
      if (!waiter) return;
      this.#pending.delete(reply.id);
      if (reply.ok) waiter.resolve(reply.result);
      else waiter.reject(new Error(`telemetry writer: ${reply.error}`));
    });
    this.#worker.on('error', (err) => this.#failAll(err));
    this.#worker.on('exit', (code) => this.#failAll(new Error(`telemetry writer stopped (exit ${code})`)));
  }

  #failAll(err: Error): void {
    for (const w of this.#pending.values()) w.reject(err);
    this.#pending.clear();
  }

  #call(req: WithoutId<WorkerRequest>, transfer: ArrayBuffer[] = []): Promise<number | undefined> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, { resolve, reject });
      this.#worker.postMessage({ ...req, id }, transfer);
    });
  }

  async write(points: TelemetryPoint[]): Promise<void> {
    if (points.length === 0) return;
    await this.#send(toColumns(points));
  }

  async writeColumns(batch: ColumnBatch): Promise<void> {
    if (batch.ts.length === 0) return;
    await this.#send(batch);
  }

  async #send(batch: ColumnBatch): Promise<void> {
    await this.#call({ type: 'write', batch }, [batch.device.buffer as ArrayBuffer, batch.kind.buffer as ArrayBuffer, batch.ts.buffer as ArrayBuffer, batch.value.buffer as ArrayBuffer]);
  }

  async query(q: TelemetryQuery): Promise<StoredReading[]> {
    const limit = q.limit ?? 10_000;
    if (q.kind) {
      const path = `$.${JSON.stringify(q.kind)}`;
      const rows = this.#db
        .prepare('SELECT ts, json_extract(v, ?) AS value FROM telemetry WHERE device_id = ? AND ts >= ? AND ts < ? AND json_type(v, ?) IS NOT NULL ORDER BY ts LIMIT ?')
        .all(path, q.deviceId, q.from, q.to, path, limit) as Array<{ ts: number; value: number }>;
      return rows.map((r) => ({ kind: q.kind!, ts: r.ts, value: r.value }));
    }
    return this.#db
      .prepare('SELECT t.ts AS ts, j.key AS kind, j.value AS value FROM telemetry t, json_each(t.v) j WHERE t.device_id = ? AND t.ts >= ? AND t.ts < ? ORDER BY t.ts, j.key LIMIT ?')
      .all(q.deviceId, q.from, q.to, limit) as StoredReading[];
  }

  async series(q: SeriesQuery): Promise<Series[]> {
    const kinds = q.kinds && q.kinds.length > 0 ? q.kinds : undefined;
    const rows = this.#db
      .prepare(
        `SELECT j.key AS kind, CAST(t.ts - @from AS INTEGER) / CAST(@bucket AS INTEGER) AS b, avg(j.value) AS mean, min(j.value) AS min, max(j.value) AS max, count(*) AS n
         FROM telemetry t, json_each(t.v) j
         WHERE t.device_id = @device AND t.ts >= @from AND t.ts < @to ${kinds ? `AND j.key IN (${kinds.map((_, i) => `@k${i}`).join(', ')})` : ''}
         GROUP BY kind, b ORDER BY kind, b`,
      )
      .all({ device: q.deviceId, from: Math.floor(q.from), to: Math.ceil(q.to), bucket: Math.max(1, Math.floor(q.bucketMs)), ...Object.fromEntries((kinds ?? []).map((k, i) => [`k${i}`, k])) }) as Array<{
      kind: string;
      b: number;
      mean: number;
      min: number;
      max: number;
      n: number;
    }>;
    const out = new Map<string, SeriesPoint[]>();
    for (const r of rows) {
      let points = out.get(r.kind);
      if (!points) out.set(r.kind, (points = []));
      points.push({ t: Math.floor(q.from) + r.b * Math.max(1, Math.floor(q.bucketMs)), mean: r.mean, min: r.min, max: r.max, n: r.n });
    }
    return [...out].map(([kind, points]) => ({ kind, points }));
  }

  /** Deletes readings older than `cutoff`, device by device, in the writer thread. */
  async pruneBefore(cutoff: number): Promise<number> {
    return (await this.#call({ type: 'prune', cutoff })) ?? 0;
  }

  /** Readings stored (not rows: a row holds one message's readings). */
  count(deviceId?: string): number {
    const sum = 'SELECT coalesce(sum((SELECT count(*) FROM json_each(v))), 0) FROM telemetry';
    return (deviceId === undefined ? this.#db.prepare(sum).pluck().get() : this.#db.prepare(`${sum} WHERE device_id = ?`).pluck().get(deviceId)) as number;
  }

  backlog(): number {
    return 0;
  }

  close(): Promise<void> {
    return (this.#closed ??= (async () => {
      await this.#call({ type: 'close' }).catch(() => {});
      await this.#worker.terminate();
      this.#db.close();
    })());
  }
}

/** Points → columns with dictionary-encoded device ids and kinds: cheap to hand to the worker. */
function toColumns(points: TelemetryPoint[]): ColumnBatch {
  const builder = new ColumnBuilder(Math.max(1, points.length));
  for (const p of points) builder.push(p.deviceId, p.kind, p.ts, p.value);
  return builder.take();
}
