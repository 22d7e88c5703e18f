import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { TELEMETRY_CHUNK_SPAN_MS, type ColumnBatch } from './columns.ts';

/**
 * The embedded telemetry writer, in its own thread with its own connection to
 * telemetry.db. Batches arrive as columns (dictionary-encoded ids, typed
 * arrays) and are written in one transaction each, one row per device (a chunk
 * of its messages in the batch).
 */

/** A stored chunk, `[[ms after ts, …], {kind: [value or null, …]}]`: entry i's readings are each column's i-th value. */
export type ChunkJson = [number[], Record<string, Array<number | null>>];

/** A device's chunk being built: its entries' times and, per kind (index into the batch's kinds), a column. */
interface Chunk {
  start: number;
  last: number;
  times: number[];
  columns: Map<number, Array<number | null>>;
}

/** The readings (non-null values) in a chunk. */
function readingsIn(chunk: ChunkJson): number {
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
   * chunk's start, or more than TELEMETRY_CHUNK_SPAN_MS after it, starts another chunk.
   */
  const write = db.transaction((b: ColumnBatch) => {
    const open: Array<Chunk | undefined> = new Array(b.devices.length);
    let n = nextChunk.get() as number;
    const store = (device: number, chunk: Chunk): void => {
      const deviceId = b.devices[device]!;
      const columns: ChunkJson[1] = {};
      for (const [kind, values] of chunk.columns) {
        while (values.length < chunk.times.length) values.push(null);
        columns[b.kinds[kind]!] = values;
      }
      insert.run(deviceId, chunk.start, n++, chunk.last, JSON.stringify([chunk.times, columns]));
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
      if (chunk === undefined) open[device] = chunk = { start: ts, last: ts, times: [], columns: new Map() };
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
      }
    }
    for (let d = 0; d < open.length; d++) if (open[d] !== undefined) store(d, open[d]!);
    setNextChunk.run(n);
  });

  /** Chunks wholly before the cutoff are deleted; one that straddles it keeps its later entries. */
  const deleteGone = db.prepare('DELETE FROM telemetry WHERE device_id = ? AND ts < ? AND last < ? RETURNING v').pluck();
  const straddling = db.prepare('SELECT ts, n, last, v FROM telemetry WHERE device_id = ? AND ts >= ? AND ts < ? AND last >= ?');
  const deleteChunk = db.prepare('DELETE FROM telemetry WHERE device_id = ? AND ts = ? AND n = ?');
  const pruneDevice = db.transaction((deviceId: string, cutoff: number): number => {
    let removed = 0;
    for (const v of deleteGone.all(deviceId, cutoff, cutoff) as string[]) removed += readingsIn(JSON.parse(v) as ChunkJson);
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
