import { ColumnBuilder, TELEMETRY_CHUNK_SPAN_MS, type ColumnBatch } from './columns.ts';
import { Buckets, type Series, type SeriesQuery, type StoredReading, type TelemetryPoint, type TelemetryQuery } from './point.ts';

/**
 * Telemetry stored as chunks: one row per device and write batch, holding that
 * device's messages of the batch (spanning at most TELEMETRY_CHUNK_SPAN_MS).
 * The embedded store (sqlite-worker.ts, sqlite-sink.ts) and PostgreSQL
 * (postgres-sink.ts) keep the same rows: (device, ts, n, last, v) where
 *   ts    the chunk's earliest reading; last its latest
 *   n     write order: for one device, kind and time the later chunk wins
 *         (within a chunk, the later entry)
 *   v     ChunkJson
 * This module builds them from a batch, trims them for retention and reads
 * them back, so both stores answer the same.
 */

/** A stored chunk, `[[ms after ts, …], {kind: [value or null, …]}]`: entry i's readings are each column's i-th value. */
export type ChunkJson = [number[], Record<string, Array<number | null>>];

/** A chunk ready to store (its write order is given by the store). */
export interface BuiltChunk {
  deviceId: string;
  start: number;
  last: number;
  v: string;
  /** Readings it holds. */
  readings: number;
}

/** A device's chunk being built: its entries' times and, per kind (index into the batch's kinds), a column. */
interface OpenChunk {
  start: number;
  last: number;
  times: number[];
  columns: Map<number, Array<number | null>>;
  readings: number;
}

/** The readings (non-null values) in a chunk. */
export function readingsIn(chunk: ChunkJson): number {
  let n = 0;
  for (const kind in chunk[1]) for (const v of chunk[1][kind]!) if (v !== null) n++;
  return n;
}

/**
 * A batch's chunks, in the order they are to be written. Readings of one message are consecutive
 * in a batch (a run of one device and time). A device's messages in the batch become one chunk, in
 * arrival order; a message earlier than the chunk's start, or more than TELEMETRY_CHUNK_SPAN_MS
 * after it, closes it and starts another.
 */
export function chunksOf(b: ColumnBatch): BuiltChunk[] {
  const out: BuiltChunk[] = [];
  const open: Array<OpenChunk | undefined> = new Array(b.devices.length);
  const close = (device: number, chunk: OpenChunk): void => {
    const columns: ChunkJson[1] = {};
    for (const [kind, values] of chunk.columns) {
      while (values.length < chunk.times.length) values.push(null);
      columns[b.kinds[kind]!] = values;
    }
    out.push({ deviceId: b.devices[device]!, start: chunk.start, last: chunk.last, v: JSON.stringify([chunk.times, columns]), readings: chunk.readings });
  };
  const count = b.ts.length;
  let i = 0;
  while (i < count) {
    const device = b.device[i]!;
    const ts = b.ts[i]!;
    let chunk = open[device];
    if (chunk !== undefined && (ts < chunk.start || ts - chunk.start > TELEMETRY_CHUNK_SPAN_MS)) {
      close(device, chunk);
      chunk = undefined;
    }
    if (chunk === undefined) open[device] = chunk = { start: ts, last: ts, times: [], columns: new Map(), readings: 0 };
    else if (ts > chunk.last) chunk.last = ts;
    chunk.times.push(ts - chunk.start);
    // The message's readings: the last entry of each of their columns.
    for (; i < count && b.device[i] === device && b.ts[i] === ts; i++) {
      let values = chunk.columns.get(b.kind[i]!);
      if (values === undefined) chunk.columns.set(b.kind[i]!, (values = []));
      // The same kind twice in one message: the second is a later entry at the same time.
      else if (values.length === chunk.times.length) chunk.times.push(ts - chunk.start);
      while (values.length < chunk.times.length - 1) values.push(null);
      values.push(b.value[i]!);
      chunk.readings++;
    }
  }
  for (let d = 0; d < open.length; d++) if (open[d] !== undefined) close(d, open[d]!);
  return out;
}

/**
 * A chunk that straddles the retention cutoff (starts before it, ends at or after it) cut down to
 * its entries at or after the cutoff: its new start, its new v, and the readings it keeps and lost.
 */
export function trimChunk(row: { ts: number; last: number; v: string }, cutoff: number): { start: number; v: string; readings: number; removed: number } {
  const [times, columns] = JSON.parse(row.v) as ChunkJson;
  const kept: number[] = [];
  for (let e = 0; e < times.length; e++) if (row.ts + times[e]! >= cutoff) kept.push(e);
  let start = row.last;
  for (const e of kept) start = Math.min(start, row.ts + times[e]!);
  const chunk: ChunkJson = [kept.map((e) => row.ts + times[e]! - start), {}];
  for (const kind in columns) {
    const values = kept.map((e) => columns[kind]![e] ?? null);
    if (values.some((v) => v !== null)) chunk[1][kind] = values;
  }
  const readings = readingsIn(chunk);
  return { start, v: JSON.stringify(chunk), readings, removed: readingsIn([times, columns]) - readings };
}

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

/** A stored chunk as a read brings it: `[ts, n, last, v]`. */
export type ChunkRow = [number, number, number, string];

/**
 * Hands `each` one device's stored points in [from, to), ordered by time (then kind when `byKind`:
 * a series does not need it), until it returns false: where a kind has two readings for one time,
 * only the later chunk's (within a chunk, the later entry's). Chunks come one by one in (ts, n)
 * order; those whose times overlap are merged as a group, so memory holds one group, not the range.
 */
class PointMerger {
  #group: StoredPoint[] = [];
  #groupLast = -Infinity;
  readonly #wanted: Array<[string, Array<number | null>]> = [];
  #stopped = false;

  constructor(
    readonly from: number,
    readonly to: number,
    readonly kinds: ReadonlySet<string> | undefined,
    readonly byKind: boolean,
    readonly each: (p: StoredReading) => boolean,
  ) {}

  /** Takes the next chunk; false once `each` asked to stop. */
  add([start, n, last, v]: ChunkRow): boolean {
    if (start > this.#groupLast && this.#group.length > 0) {
      if (!emitInOrder(this.#group, this.byKind, this.each)) return !(this.#stopped = true);
      this.#group = [];
    }
    this.#groupLast = Math.max(this.#groupLast, last);
    const [times, columns] = JSON.parse(v) as ChunkJson;
    const wanted = this.#wanted;
    wanted.length = 0;
    for (const kind in columns) if (this.kinds === undefined || this.kinds.has(kind)) wanted.push([kind, columns[kind]!]);
    for (let e = 0; e < times.length; e++) {
      const ts = start + times[e]!;
      if (ts < this.from || ts >= this.to) continue;
      for (const [kind, values] of wanted) if (values[e] != null) this.#group.push({ ts, kind, value: values[e]!, n, entry: e });
    }
    return true;
  }

  end(): void {
    if (!this.#stopped && this.#group.length > 0) emitInOrder(this.#group, this.byKind, this.each);
  }
}

/**
 * Where a read gets its chunks: one device's rows with ts >= from - TELEMETRY_CHUNK_SPAN_MS,
 * ts < to and last >= from, ordered by (ts, n), one by one (an embedded read) or a page at a time
 * (over the network); either way lazily, so a limit stops the read.
 */
export type ChunkSource = (deviceId: string, from: number, to: number) => Iterable<ChunkRow> | AsyncIterable<readonly ChunkRow[]>;

async function merge(rows: Iterable<ChunkRow> | AsyncIterable<readonly ChunkRow[]>, merger: PointMerger): Promise<void> {
  if (Symbol.asyncIterator in rows) {
    for await (const page of rows) for (const row of page) if (!merger.add(row)) return;
  } else for (const row of rows) if (!merger.add(row)) return;
  merger.end();
}

/** A device's readings in [from, to) (of one kind, if given), oldest first, at most `limit` (10,000). */
export async function queryChunks(source: ChunkSource, q: TelemetryQuery): Promise<StoredReading[]> {
  const limit = q.limit ?? 10_000;
  const out: StoredReading[] = [];
  await merge(source(q.deviceId, q.from, q.to), new PointMerger(q.from, q.to, q.kind ? new Set([q.kind]) : undefined, true, (p) => out.push({ kind: p.kind, ts: p.ts, value: p.value }) < limit));
  return out;
}

/** A device's readings averaged into buckets aligned to `from`, per kind. */
export async function seriesOfChunks(source: ChunkSource, q: SeriesQuery): Promise<Series[]> {
  const from = Math.floor(q.from);
  const to = Math.ceil(q.to);
  const buckets = new Buckets(from, Math.max(1, Math.floor(q.bucketMs)));
  const add = (p: StoredReading): boolean => {
    buckets.add(p.kind, p.ts, p.value);
    return true;
  };
  await merge(source(q.deviceId, from, to), new PointMerger(from, to, q.kinds && q.kinds.length > 0 ? new Set(q.kinds) : undefined, false, add));
  return buckets.series();
}

/** Points → columns with dictionary-encoded device ids and kinds, as chunksOf takes them. */
export function toColumns(points: readonly TelemetryPoint[]): ColumnBatch {
  const builder = new ColumnBuilder(Math.max(1, points.length));
  for (const p of points) builder.push(p.deviceId, p.kind, p.ts, p.value);
  return builder.take();
}
