import type { Worker } from 'node:worker_threads';
import type { Logger } from '../core/logger.ts';
import { startWorker } from '../core/worker.ts';
import type { Db } from './database.ts';

/** How often the write-ahead log is copied back into the database file. */
export const CHECKPOINT_INTERVAL_MS = 500;

/** The write-ahead log's size at which, once copied back, it is cut to nothing (checkpoint-worker.ts). */
export const WAL_TRUNCATE_BYTES = 64 * 1024 * 1024;

/**
 * Moves WAL checkpoints off the event loop: the gateway's connection stops
 * checkpointing by itself and a worker thread (checkpoint-worker.ts) does it
 * every half second. If the worker stops, the connection checkpoints by itself
 * again, so the log can never grow without bound.
 */
export class Checkpointer {
  readonly #db: Db;
  readonly #worker: Worker;
  readonly #log: Logger;
  #closing = false;
  #exited = false;
  /** Checkpoints done, and the last one's WAL size and pages copied (for tests and diagnosis). */
  runs = 0;
  last: { log: number; checkpointed: number } | undefined;
  /** Times the log was cut back to nothing, and how long the last cut held writers back. */
  truncations = 0;
  lastTruncateMs: number | undefined;

  #paused: boolean;

  /** `paused`: start with the connection checkpointing by itself (the disk cannot be written now); resume() takes over. */
  constructor(db: Db, file: string, log: Logger, opts: { intervalMs?: number; paused?: boolean; truncateAtBytes?: number } = {}) {
    this.#db = db;
    this.#log = log;
    this.#paused = opts.paused ?? false;
    if (!this.#paused) db.pragma('wal_autocheckpoint = 0');
    this.#worker = startWorker(new URL('./checkpoint-worker.ts', import.meta.url), {
      file,
      intervalMs: opts.intervalMs ?? CHECKPOINT_INTERVAL_MS,
      truncateAtBytes: opts.truncateAtBytes ?? WAL_TRUNCATE_BYTES,
      paused: this.#paused,
    });
    this.#worker.unref();
    this.#worker.on('message', (m: { type: string; log?: number; checkpointed?: number; truncateMs?: number; error?: string }) => {
      if (m.type === 'checkpointed') {
        this.runs++;
        this.last = { log: m.log ?? 0, checkpointed: m.checkpointed ?? 0 };
        if (m.truncateMs !== undefined) {
          this.truncations++;
          this.lastTruncateMs = m.truncateMs;
        }
      } else if (m.type === 'failed') this.#log.warn({ error: m.error }, 'WAL checkpoint failed; tried again shortly');
    });
    this.#worker.on('exit', (code) => {
      this.#exited = true;
      if (this.#closing) return;
      this.#log.error({ code }, 'the checkpoint thread stopped; the database connection checkpoints by itself again');
      this.#restoreAutocheckpoint();
    });
    this.#worker.on('error', (err) => this.#log.error({ err }, 'checkpoint thread failed'));
  }

  /**
   * While the data directory cannot be written: the thread stops and the
   * connection checkpoints by itself again, as it would without this class,
   * so a full disk looks the same to the rest of the gateway.
   */
  pause(): void {
    if (this.#paused || this.#closing || this.#exited) return;
    this.#paused = true;
    this.#worker.postMessage({ type: 'pause' });
    this.#restoreAutocheckpoint();
  }

  /** Writable again: the thread takes checkpoints back. */
  resume(): void {
    if (!this.#paused || this.#closing || this.#exited) return;
    this.#paused = false;
    this.#db.pragma('wal_autocheckpoint = 0');
    this.#worker.postMessage({ type: 'resume' });
  }

  #restoreAutocheckpoint(): void {
    try {
      if (this.#db.open) this.#db.pragma('wal_autocheckpoint = 1000');
    } catch (err) {
      this.#log.error({ err }, 'could not turn automatic checkpoints back on');
    }
  }

  /** Stops the thread; the connection's own close then checkpoints what is left. */
  async close(): Promise<void> {
    if (this.#closing) return;
    this.#closing = true;
    if (this.#exited) return this.#restoreAutocheckpoint();
    const closed = new Promise<void>((resolve) => {
      this.#worker.once('exit', () => resolve());
      this.#worker.on('message', (m: { type: string }) => m.type === 'closed' && resolve());
    });
    this.#worker.postMessage({ type: 'close' });
    await closed;
    this.#restoreAutocheckpoint();
  }
}
