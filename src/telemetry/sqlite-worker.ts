import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * The embedded telemetry writer, in its own thread with its own connection to
 * telemetry.db. Batches arrive as columns (dictionary-encoded ids, typed
 * arrays) and are written in one transaction each, one row per device message.
 */
export interface ColumnBatch {
  devices: string[];
  kinds: string[];
  device: Uint32Array;
  kind: Uint16Array;
  ts: Float64Array;
  value: Float64Array;
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

  const upsert = db.prepare('INSERT INTO telemetry (device_id, ts, v) VALUES (?, ?, ?) ON CONFLICT (device_id, ts) DO UPDATE SET v = json_patch(v, excluded.v)');
  const addDevice = db.prepare('INSERT OR IGNORE INTO telemetry_devices (device_id) VALUES (?)');
  const known = new Set(db.prepare('SELECT device_id FROM telemetry_devices').pluck().all() as string[]);

  /** Readings of one message are consecutive in a batch: each run of one device and time is one row. */
  const write = db.transaction((b: ColumnBatch) => {
    const n = b.ts.length;
    let i = 0;
    while (i < n) {
      const device = b.device[i]!;
      const ts = b.ts[i]!;
      // Kinds are quantity names (identifiers) and values finite numbers: the JSON is built directly.
      let json = `{"${b.kinds[b.kind[i]!]}":${b.value[i]}`;
      let j = i + 1;
      while (j < n && b.device[j] === device && b.ts[j] === ts) {
        json += `,"${b.kinds[b.kind[j]!]}":${b.value[j]}`;
        j++;
      }
      const deviceId = b.devices[device]!;
      upsert.run(deviceId, ts, json + '}');
      if (!known.has(deviceId)) {
        known.add(deviceId);
        addDevice.run(deviceId);
      }
      i = j;
    }
  });

  const prune = (cutoff: number): number => {
    const readings = db.prepare('SELECT coalesce(sum((SELECT count(*) FROM json_each(v))), 0) FROM telemetry WHERE device_id = ? AND ts < ?').pluck();
    const del = db.prepare('DELETE FROM telemetry WHERE device_id = ? AND ts < ?');
    let total = 0;
    // One short statement per device: the range sits at the start of the device's rows in the clustered key.
    for (const deviceId of db.prepare('SELECT device_id FROM telemetry_devices').pluck().all() as string[]) {
      const n = readings.get(deviceId, cutoff) as number;
      if (n > 0) {
        del.run(deviceId, cutoff);
        total += n;
      }
    }
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
