import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * The embedded telemetry writer, in its own thread with its own connection to
 * telemetry.db. Batches arrive as columns (dictionary-encoded ids, typed
 * arrays) and are written in one transaction each.
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
  const db = new Database((workerData as { file: string }).file);
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma('cache_size = -65536');
  db.pragma('busy_timeout = 5000');

  const insert = db.prepare('INSERT OR REPLACE INTO telemetry (device_id, kind, ts, value) VALUES (?, ?, ?, ?)');
  const addSeries = db.prepare('INSERT OR IGNORE INTO series (device_id, kind) VALUES (?, ?)');
  const known = new Set(db.prepare("SELECT device_id || char(0) || kind FROM series").pluck().all() as string[]);

  const write = db.transaction((b: ColumnBatch) => {
    const pairs = new Set<number>();
    for (let i = 0; i < b.ts.length; i++) {
      insert.run(b.devices[b.device[i]!], b.kinds[b.kind[i]!], b.ts[i], b.value[i]);
      pairs.add(b.device[i]! * 65_536 + b.kind[i]!);
    }
    // The series list (for retention) is kept once per batch, not per row.
    for (const pair of pairs) {
      const deviceId = b.devices[Math.floor(pair / 65_536)]!;
      const kind = b.kinds[pair % 65_536]!;
      const key = deviceId + '\u0000' + kind;
      if (!known.has(key)) {
        known.add(key);
        addSeries.run(deviceId, kind);
      }
    }
  });

  const prune = (cutoff: number): number => {
    const del = db.prepare('DELETE FROM telemetry WHERE device_id = ? AND kind = ? AND ts < ?');
    const series = db.prepare('SELECT device_id AS deviceId, kind FROM series').all() as Array<{ deviceId: string; kind: string }>;
    let total = 0;
    // One short transaction per series: the range sits at the start of the series in the clustered key.
    for (const s of series) total += del.run(s.deviceId, s.kind, cutoff).changes;
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
