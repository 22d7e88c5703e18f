import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

/**
 * Copies the gateway database's write-ahead log back into the database file,
 * in its own thread with its own connection, so the fsync a checkpoint costs
 * (about 10 ms on a slow disk) never lands inside a commit on the event loop,
 * such as an SOS's. PASSIVE: it never waits for, nor blocks, the writer.
 */
function main(): void {
  const port = parentPort!;
  const { file, intervalMs } = workerData as { file: string; intervalMs: number };
  const db = new Database(file);
  // Never wait for a lock: a checkpoint that cannot run now runs at the next turn.
  db.pragma('busy_timeout = 0');
  db.pragma('synchronous = NORMAL');
  let timer: NodeJS.Timeout | undefined;
  const run = (): void => {
    try {
      const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Array<{ busy: number; log: number; checkpointed: number }>;
      port.postMessage({ type: 'checkpointed', log: result?.log ?? 0, checkpointed: result?.checkpointed ?? 0 });
    } catch (err) {
      // A full disk, a locked file: said, and tried again at the next turn.
      port.postMessage({ type: 'failed', error: (err as Error).message });
    }
    timer = setTimeout(run, intervalMs);
  };
  const { paused } = workerData as { paused: boolean };
  if (!paused) timer = setTimeout(run, intervalMs);
  port.on('message', (m: { type: 'close' | 'pause' | 'resume' }) => {
    if (m.type === 'pause') return clearTimeout(timer);
    if (m.type === 'resume') {
      clearTimeout(timer);
      timer = setTimeout(run, intervalMs);
      return;
    }
    clearTimeout(timer);
    db.close();
    port.postMessage({ type: 'closed' });
    port.close();
  });
}

if (parentPort) main();
