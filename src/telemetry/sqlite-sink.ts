import type { Worker } from 'node:worker_threads';
import type { Statement } from 'better-sqlite3';
import { startWorker } from '../core/worker.ts';
import { ColumnBuilder, TELEMETRY_CHUNK_SPAN_MS } from './columns.ts';
import { openDatabase, type Db } from '../store/database.ts';
import { telemetryMigrations } from '../store/migrations.ts';
import { Buckets, type Series, type SeriesQuery, type StoredReading, type TelemetryPoint, type TelemetryQuery, type TelemetrySink } from './point.ts';
import type { ChunkJson, WorkerReply, WorkerRequest } from './sqlite-worker.ts';
import type { ColumnBatch } from './columns.ts';

export const TELEMETRY_DB_FILE = 'telemetry.db';

/**
 * A batch touches about one leaf page per device (rows are clustered by
 * device), so with SQLite's default checkpoint every 1,000 pages nearly every
 * batch paid for a checkpoint. Every 10,000 pages (about 40 MB of WAL), a page
 * written by several batches is copied into the database once.
 */
export const DEFAULT_CHECKPOINT_PAGES = 10_000;

interface StoredPoint extends StoredReading {
  /** The chunk's write order and the entry's index in it: for one kind and time, the largest pair wins. */
  n: number;
  entry: number;
}

const byTimeKind = (a: StoredPoint, b: StoredPoint): number => a.ts - b.ts || (a.kind < b.kind ? -1 : a.kind > b.kind ? 1 : 0);

/**
 * Hands a group of overlapping chunks' points to `each` in time order (then kind order when
 * `byKind`), one point per kind and time (the largest chunk order and entry index wins); false if
 * `each` asked to stop.
 */
function emitInOrder(points: StoredPoint[], byKind: boolean, each: (p: StoredPoint) => boolean): boolean {
  // Usually one chunk of messages in time order, each time's points one run (a message's readings).
  let inOrder = true;
  for (let i = 1, runStart = 0; i < points.length && inOrder; i++) {
    const ts = points[i]!.ts;
    if (ts !== points[i - 1]!.ts) {
      if (ts < points[i - 1]!.ts) inOrder = false;
      runStart = i;
    } else for (let k = runStart; k < i; k++) if (points[k]!.kind === points[i]!.kind) inOrder = false;
  }
  if (inOrder && !byKind) {
    for (const p of points) if (!each(p)) return false;
    return true;
  }
  if (inOrder) {
    for (let start = 0; start < points.length; ) {
      let end = start + 1;
      while (end < points.length && points[end]!.ts === points[start]!.ts) end++;
      if (end - start === 1) {
        if (!each(points[start]!)) return false;
      } else for (const p of points.slice(start, end).sort(byTimeKind)) if (!each(p)) return false;
      start = end;
    }
    return true;
  }
  points.sort((a, b) => byTimeKind(a, b) || a.n - b.n || a.entry - b.entry);
  for (let i = 0; i < points.length; i++) if ((i + 1 === points.length || byTimeKind(points[i]!, points[i + 1]!) !== 0) && !each(points[i]!)) return false;
  return true;
}

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

  async query(q: TelemetryQuery): Promise<StoredReading[]> {
    const limit = q.limit ?? 10_000;
    const out: StoredReading[] = [];
    this.#eachPoint(q.deviceId, q.from, q.to, q.kind ? new Set([q.kind]) : undefined, true, (p) => out.push({ kind: p.kind, ts: p.ts, value: p.value }) < limit);
    return out;
  }

  async series(q: SeriesQuery): Promise<Series[]> {
    const from = Math.floor(q.from);
    const buckets = new Buckets(from, Math.max(1, Math.floor(q.bucketMs)));
    this.#eachPoint(q.deviceId, from, Math.ceil(q.to), q.kinds && q.kinds.length > 0 ? new Set(q.kinds) : undefined, false, (p) => {
      buckets.add(p.kind, p.ts, p.value);
      return true;
    });
    return buckets.series();
  }

  /**
   * Hands `each` one device's stored points in [from, to), ordered by time (then kind when
   * `byKind`: a series does not need it), until it returns false: where a kind has two readings for one time, only the later chunk's (within a
   * chunk, the later entry's). Chunks come in order of their start and span at most
   * TELEMETRY_CHUNK_SPAN_MS (so those starting earlier than that before `from` are not read);
   * chunks whose times overlap are merged as a group, so memory holds one group, not the range.
   */
  #eachPoint(deviceId: string, from: number, to: number, kinds: ReadonlySet<string> | undefined, byKind: boolean, each: (p: StoredPoint) => boolean): void {
    let group: StoredPoint[] = [];
    let groupLast = -Infinity;
    const wanted: Array<[string, Array<number | null>]> = [];
    for (const [start, n, last, v] of this.#chunks.iterate(deviceId, from - TELEMETRY_CHUNK_SPAN_MS, to, from) as IterableIterator<[number, number, number, string]>) {
      if (start > groupLast && group.length > 0) {
        if (!emitInOrder(group, byKind, each)) return;
        group = [];
      }
      groupLast = Math.max(groupLast, last);
      const [times, columns] = JSON.parse(v) as ChunkJson;
      wanted.length = 0;
      for (const kind in columns) if (kinds === undefined || kinds.has(kind)) wanted.push([kind, columns[kind]!]);
      for (let e = 0; e < times.length; e++) {
        const ts = start + times[e]!;
        if (ts < from || ts >= to) continue;
        for (const [kind, values] of wanted) if (values[e] != null) group.push({ ts, kind, value: values[e]!, n, entry: e });
      }
    }
    if (group.length > 0) emitInOrder(group, byKind, each);
  }

  /** Deletes readings older than `cutoff`, device by device, in the writer thread. */
  async pruneBefore(cutoff: number): Promise<number> {
    return (await this.#call({ type: 'prune', cutoff })) ?? 0;
  }

  /** Readings stored: points (device, kind, time), however many chunks hold them. */
  count(deviceId?: string): number {
    const points = `SELECT DISTINCT t.device_id, t.ts + e.value, c.key FROM telemetry t, json_each(t.v, '$[0]') e, json_each(t.v, '$[1]') c
      WHERE (c.value ->> e.key) IS NOT NULL${deviceId === undefined ? '' : ' AND t.device_id = ?'}`;
    const count = this.#db.prepare(`SELECT count(*) FROM (${points})`).pluck();
    return (deviceId === undefined ? count.get() : count.get(deviceId)) as number;
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
