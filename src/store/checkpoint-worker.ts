import Database from 'better-sqlite3';
import { parentPort, workerData } from 'node:worker_threads';

type Checkpoint = { busy: number; log: number; checkpointed: number };

/** How soon a cut of the log that found a write under way is tried again, and how many times in a row (each try copies what was written since). */
const TRUNCATE_RETRY_MS = 5;
const TRUNCATE_RETRIES = 20;

/**
 * Copies the gateway database's write-ahead log back into the database file,
 * in its own thread with its own connection, so the fsync a checkpoint costs
 * (about 10 ms on a slow disk) never lands inside a commit on the event loop,
 * such as an SOS's. PASSIVE: it never waits for, nor blocks, the writer.
 *
 * A log copied back is started again from its beginning only by a write that
 * begins while every frame of it is copied; with a write every few
 * milliseconds that moment rarely comes, and the log grew without end (1.2 GB
 * after 3,000 SOS presses, every read slower for it). So once it is over
 * `truncateAtBytes`, a PASSIVE checkpoint that has copied it is followed by a
 * TRUNCATE one: the few frames written since, then the file cut to nothing.
 * That one holds the writer back for its copy and fsync (measured in
 * `truncateMs`); it is taken only in a gap between writes, tried again 5 ms
 * later if a write was under way (up to 20 times, then at the usual pace).
 */
function main(): void {
  const port = parentPort!;
  const { file, intervalMs, truncateAtBytes } = workerData as { file: string; intervalMs: number; truncateAtBytes: number };
  const db = new Database(file);
  // Never wait for a lock: a checkpoint that cannot run now runs at the next turn.
  db.pragma('busy_timeout = 0');
  db.pragma('synchronous = NORMAL');
  const pageSize = db.pragma('page_size', { simple: true }) as number;
  let timer: NodeJS.Timeout | undefined;
  /** Cuts in a row that found a write under way. */
  let refused = 0;
  const run = (): void => {
    let busy = false;
    try {
      const [result] = db.pragma('wal_checkpoint(PASSIVE)') as Checkpoint[];
      const log = result?.log ?? 0;
      let truncateMs: number | undefined;
      if (result?.busy === 0 && log * pageSize >= truncateAtBytes) {
        const t0 = performance.now();
        const [truncated] = db.pragma('wal_checkpoint(TRUNCATE)') as Checkpoint[];
        if (truncated?.busy === 0) truncateMs = performance.now() - t0;
        else busy = true;
      }
      port.postMessage({ type: 'checkpointed', log, checkpointed: result?.checkpointed ?? 0, truncateMs });
    } catch (err) {
      // A full disk, a locked file: said, and tried again at the next turn.
      port.postMessage({ type: 'failed', error: (err as Error).message });
    }
    // A write was under way: tried again soon, in the next gap between writes (a long read holding
    // the log: at the usual pace after a few tries).
    refused = busy ? refused + 1 : 0;
    timer = setTimeout(run, busy && refused <= TRUNCATE_RETRIES ? Math.min(intervalMs, TRUNCATE_RETRY_MS) : intervalMs);
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
