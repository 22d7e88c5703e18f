import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { TELEMETRY_CHUNK_SPAN_MS } from './columns.ts';

/**
 * The embedded telemetry writer, in its own thread with its own connection to
 * telemetry.db. Batches arrive as columns (dictionary-encoded ids, typed
 * arrays) and are written in one transaction each, one row per device (a chunk
 * of its messages in the batch).
 */
export interface ColumnBatch {
  devices: string[];
  kinds: string[];
  device: Uint32Array;
  kind: Uint16Array;
  ts: Float64Array;
  value: Float64Array;
}

/** A device's chunk being built: entry times and, per kind, a column of values (JSON text so far). */
interface Chunk {
  start: number;
  last: number;
  /** Entry times in ms after `start`, comma-separated. */
  times: string;
  entries: number;
  /** Per kind (index into the batch's kinds): values so far, comma-separated, `null` for an entry without one. */
  columns: Map<number, { values: string; count: number }>;
}

/** A stored chunk, `[[ms after ts, …], {kind: [value or null, …]}]`: entry i's readings are each column's i-th value. */
export type ChunkJson = [number[], Record<string, Array<number | null>>];

/** The readings (non-null values) in a chunk. */
export function readingsIn(chunk: ChunkJson): number {
  let n = 0;
  for (const kind in chunk[1]) for (const v of chunk[1][kind]!) if (v !== null) n++;
  return n;
}

export type WorkerRequest =
  | { id: number; type: 'write'; batch: ColumnBatch }
  | { id: number; type: 'prune'; cutoff: number }
  | { id: number; type: 'close' };

export type WorkerReply = { id: number; ok: true; result?: number } | { id: number; ok: false; error: string };

function main(): void {
  const port = parentPort!;
  const { file, checkpointPages } = workerData as { file: string; checkpointPages: number };
  const db = new Database(file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -65536');
  db.pragma('busy_timeout = 5000');
  db.pragma(`wal_autocheckpoint = ${Math.max(1, Math.floor(checkpointPages))}`);
  // After a checkpoint the WAL file is cut back to 64 MiB if a long read let it grow beyond.
  db.pragma('journal_size_limit = 67108864');

  const insert = db.prepare('INSERT INTO telemetry (device_id, ts, n, last, v) VALUES (?, ?, ?, ?, ?)');
  const nextChunk = db.prepare("SELECT value FROM telemetry_meta WHERE key = 'next_chunk'").pluck();
  const setNextChunk = db.prepare("UPDATE telemetry_meta SET value = ? WHERE key = 'next_chunk'");
  const addDevice = db.prepare('INSERT OR IGNORE INTO telemetry_devices (device_id) VALUES (?)');
  const known = new Set(db.prepare('SELECT device_id FROM telemetry_devices').pluck().all() as string[]);

  /**
   * Readings of one message are consecutive in a batch (a run of one device and time). A device's
   * messages in the batch become one chunk row, in arrival order; a message earlier than the
   * chunk's start, or more than TELEMETRY_CHUNK_SPAN_MS after it, starts another chunk. Kinds are
   * quantity names (identifiers) and values finite numbers: the JSON is built directly.
   */
  const write = db.transaction((b: ColumnBatch) => {
    const open: Array<Chunk | undefined> = new Array(b.devices.length);
    let n = nextChunk.get() as number;
    const store = (device: number, chunk: Chunk): void => {
      const deviceId = b.devices[device]!;
      let columns = '';
      for (const [kind, column] of chunk.columns) {
        for (; column.count < chunk.entries; column.count++) column.values += ',null';
        columns += `${columns === '' ? '' : ','}"${b.kinds[kind]}":[${column.values}]`;
      }
      insert.run(deviceId, chunk.start, n++, chunk.last, `[[${chunk.times}],{${columns}}]`);
      if (!known.has(deviceId)) {
        known.add(deviceId);
        addDevice.run(deviceId);
      }
    };
    const count = b.ts.length;
    let i = 0;
    while (i < count) {
      const device = b.device[i]!;
      const ts = b.ts[i]!;
      let chunk = open[device];
      if (chunk !== undefined && (ts < chunk.start || ts - chunk.start > TELEMETRY_CHUNK_SPAN_MS)) {
        store(device, chunk);
        chunk = undefined;
      }
      if (chunk === undefined) open[device] = chunk = { start: ts, last: ts, times: '0', entries: 1, columns: new Map() };
      else {
        chunk.times += `,${ts - chunk.start}`;
        chunk.entries++;
        if (ts > chunk.last) chunk.last = ts;
      }
      // The message's readings: entry `chunk.entries - 1` of each of their columns.
      for (; i < count && b.device[i] === device && b.ts[i] === ts; i++) {
        const kind = b.kind[i]!;
        let column = chunk.columns.get(kind);
        if (column === undefined) chunk.columns.set(kind, (column = { values: '', count: 0 }));
        else if (column.count === chunk.entries) {
          // The same kind twice in one message: the second is a later entry at the same time.
          chunk.times += `,${ts - chunk.start}`;
          chunk.entries++;
        }
        for (; column.count < chunk.entries - 1; column.count++) column.values += column.count === 0 ? 'null' : ',null';
        column.values += column.count === 0 ? `${b.value[i]}` : `,${b.value[i]}`;
        column.count++;
      }
    }
    for (let d = 0; d < open.length; d++) if (open[d] !== undefined) store(d, open[d]!);
    setNextChunk.run(n);
  });

  /** Chunks wholly before the cutoff are deleted; one that straddles it keeps its later entries. */
  const gone = db.prepare('SELECT v FROM telemetry WHERE device_id = ? AND ts < ? AND last < ?').pluck();
  const deleteGone = db.prepare('DELETE FROM telemetry WHERE device_id = ? AND ts < ? AND last < ?');
  const straddling = db.prepare('SELECT ts, n, last, v FROM telemetry WHERE device_id = ? AND ts >= ? AND ts < ? AND last >= ?');
  const deleteChunk = db.prepare('DELETE FROM telemetry WHERE device_id = ? AND ts = ? AND n = ?');
  const pruneDevice = db.transaction((deviceId: string, cutoff: number): number => {
    let removed = 0;
    const old = gone.all(deviceId, cutoff, cutoff) as string[];
    if (old.length > 0) {
      for (const v of old) removed += readingsIn(JSON.parse(v) as ChunkJson);
      deleteGone.run(deviceId, cutoff, cutoff);
    }
    for (const row of straddling.all(deviceId, cutoff - TELEMETRY_CHUNK_SPAN_MS, cutoff, cutoff) as Array<{ ts: number; n: number; last: number; v: string }>) {
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
      removed += readingsIn([times, columns]) - readingsIn(chunk);
      deleteChunk.run(deviceId, row.ts, row.n);
      insert.run(deviceId, start, row.n, row.last, JSON.stringify(chunk));
    }
    return removed;
  });
  // A transaction per device: the range sits at the start of the device's rows in the clustered key.
  const prune = (cutoff: number): number => {
    let total = 0;
    for (const deviceId of db.prepare('SELECT device_id FROM telemetry_devices').pluck().all() as string[]) total += pruneDevice(deviceId, cutoff);
    return total;
  };

  port.on('message', (req: WorkerRequest) => {
    try {
      switch (req.type) {
        case 'write':
          write(req.batch);
          port.postMessage({ id: req.id, ok: true } satisfies WorkerReply);
          return;
        case 'prune':
          port.postMessage({ id: req.id, ok: true, result: prune(req.cutoff) } satisfies WorkerReply);
          return;
        case 'close':
          db.close();
          port.postMessage({ id: req.id, ok: true } satisfies WorkerReply);
          port.close();
          return;
      }
    } catch (err) {
      port.postMessage({ id: req.id, ok: false, error: (err as Error).message } satisfies WorkerReply);
    }
  });
}

if (parentPort && (workerData as { file?: string } | null)?.file) main();
