import type { Worker } from 'node:worker_threads';
import type { Statement } from 'better-sqlite3';
import { startWorker } from '../core/worker.ts';
import { TELEMETRY_CHUNK_SPAN_MS } from './columns.ts';
import { openDatabase, type Db } from '../store/database.ts';
import { telemetryMigrations } from '../store/migrations.ts';
import { type Series, type SeriesQuery, type StoredReading, type TelemetryPoint, type TelemetryQuery, type TelemetrySink } from './point.ts';
import type { WorkerReply, WorkerRequest } from './sqlite-worker.ts';
import { queryChunks, seriesOfChunks, toColumns, type ChunkRow, type ChunkSource } from './chunks.ts';
import type { ColumnBatch } from './columns.ts';

export const TELEMETRY_DB_FILE = 'telemetry.db';

/**
 * A batch touches about one leaf page per device (rows are clustered by
 * device), so with SQLite's default checkpoint every 1,000 pages nearly every
 * batch paid for a checkpoint. Every 10,000 pages (about 40 MB of WAL), a page
 * written by several batches is copied into the database once.
 */
export const DEFAULT_CHECKPOINT_PAGES = 10_000;

/**
 * Readings a write carries under load: about 10 messages from each of 1,000 devices
 * sending 3 readings, a sixth of a second at 200,000 readings/s. A batch writes about
 * a page per device whatever it holds, so the more messages a device has in it, the
 * less each costs (bench:store prints the figures); twice this saves little more and
 * doubles how much is still unwritten when the load stops.
 */
export const SQLITE_BATCH_READINGS = 32_768;

type WithoutId<T> = T extends unknown ? Omit<T, 'id'> : never;

/**
 * The embedded default: telemetry in `telemetry.db` beside the gateway's
 * database, one row per device and write batch. Writes go to a worker thread (SQLite work never runs on the
 * broker's thread); reads use a connection of their own (WAL readers never
 * wait for the writer).
 */
export class SqliteTelemetrySink implements TelemetrySink {
  readonly name = 'sqlite';
  readonly batchSize = SQLITE_BATCH_READINGS;
  readonly #db: Db;
  /** A device's chunks that may hold readings in [from, to): (device, from - span, to, from). */
  readonly #chunks: Statement;
  readonly #worker: Worker;
  readonly #pending = new Map<number, { resolve: (v: number | undefined) => void; reject: (e: Error) => void }>();
  #nextId = 1;
  #closed: Promise<void> | undefined;

  /** `checkpointPages`: the writer's WAL checkpoint interval (default 10,000 pages; bench:store compares). */
  constructor(dataDir: string, opts: { checkpointPages?: number } = {}) {
    this.#db = openDatabase(dataDir, telemetryMigrations, TELEMETRY_DB_FILE);
    this.#chunks = this.#db.prepare('SELECT ts, n, last, v FROM telemetry WHERE device_id = ? AND ts >= ? AND ts < ? AND last >= ? ORDER BY ts, n').raw();
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

  query(q: TelemetryQuery): Promise<StoredReading[]> {
    return queryChunks(this.#rows, q);
  }

  series(q: SeriesQuery): Promise<Series[]> {
    return seriesOfChunks(this.#rows, q);
  }

  /** One device's chunks a read of [from, to) needs, read lazily off this file. */
  readonly #rows: ChunkSource = (deviceId, from, to) => this.#chunks.iterate(deviceId, from - TELEMETRY_CHUNK_SPAN_MS, to, from) as IterableIterator<ChunkRow>;

  /** Deletes readings older than `cutoff`, device by device, in the writer thread. */
  async pruneBefore(cutoff: number): Promise<number> {
    return (await this.#call({ type: 'prune', cutoff })) ?? 0;
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
