import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';
import { TELEMETRY_CHUNK_SPAN_MS, type ColumnBatch } from './columns.ts';
import { chunksOf, readingsIn, trimChunk, type ChunkJson } from './chunks.ts';

/**
 * The embedded telemetry writer, in its own thread with its own connection to
 * telemetry.db. Batches arrive as columns (dictionary-encoded ids, typed
 * arrays) and are written in one transaction each, one row per device (a chunk
 * of its messages in the batch).
 */

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

  /** A batch's chunks (chunks.ts), in one transaction, numbered in write order. */
  const write = db.transaction((b: ColumnBatch) => {
    let n = nextChunk.get() as number;
    for (const chunk of chunksOf(b)) {
      insert.run(chunk.deviceId, chunk.start, n++, chunk.last, chunk.v);
      if (!known.has(chunk.deviceId)) {
        known.add(chunk.deviceId);
        addDevice.run(chunk.deviceId);
      }
    }
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
      const trimmed = trimChunk(row, cutoff);
      removed += trimmed.removed;
      deleteChunk.run(deviceId, row.ts, row.n);
      insert.run(deviceId, trimmed.start, row.n, row.last, trimmed.v);
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
